// Package delivery sends one webhook POST and says what became of it, in the
// terms of LangSmith's delivery rules, and seals webhooks for storage and
// opens them: a rule's, and the URL a run was created with. It never logs or
// returns a webhook URL's query values, user info or custom header values.
package delivery

import (
	"net/url"
	"sort"
	"strings"
)

// RedactURL hides everything in a webhook URL that may be a secret: every
// query value (LangSmith's ?secret=..., LangGraph's ?token=...), user info and
// the fragment. https://h/p?secret=abc becomes https://h/p?secret=***.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, url.QueryEscape(k)+"=***")
		}
		if err != nil || len(parts) == 0 {
			parts = []string{"***"}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}

// scrub replaces every occurrence of the raw URL (and its escaped query) in
// msg with the redacted form: net/http puts the request URL into its errors.
func scrub(msg, rawURL string) string {
	if rawURL == "" {
		return msg
	}
	red := RedactURL(rawURL)
	msg = strings.ReplaceAll(msg, rawURL, red)
	if u, err := url.Parse(rawURL); err == nil {
		for _, vs := range u.Query() {
			for _, v := range vs {
				if len(v) >= 4 {
					msg = strings.ReplaceAll(msg, v, "***")
				}
			}
		}
		if u.User != nil {
			if p, ok := u.User.Password(); ok && p != "" {
				msg = strings.ReplaceAll(msg, p, "***")
			}
		}
	}
	return msg
}
