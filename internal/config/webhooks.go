package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Webhooks is LangGraph's `webhooks` section of langgraph.json, carried over:
// static headers added to every delivery, and its URL policy keys.
type Webhooks struct {
	// EnvPrefix bounds the variables header templates may read, so a
	// template cannot leak an unrelated one.
	EnvPrefix string `koanf:"env_prefix"`
	// Headers go on every POST, rules' and run webhooks'. Values may hold
	// ${{ env.VAR }} templates, resolved by Load from the environment; the
	// resolved values are secrets. A webhook's own header of the same name
	// wins.
	Headers map[string]string `koanf:"headers" secret:"true"`
	// URL holds LangGraph's names for the delivery.* URL policy.
	URL WebhookURL `koanf:"url"`
}

// WebhookURL is LangGraph's webhooks.url: each key is an alias of the
// delivery.* key of the same name, which Load sets from it.
type WebhookURL struct {
	AllowedDomains  []string `koanf:"allowed_domains"`
	RequireHTTPS    bool     `koanf:"require_https"`
	AllowedPorts    []int    `koanf:"allowed_ports"`
	DisableLoopback bool     `koanf:"disable_loopback"`
	MaxURLLength    int      `koanf:"max_url_length"`
}

// DefaultWebhookEnvPrefix is LangGraph's default env_prefix.
const DefaultWebhookEnvPrefix = "LG_WEBHOOK_"

// headersKey starts the keys of webhooks.headers, whose names are the
// user's, not known in advance.
const headersKey = "webhooks.headers."

// template is ${{ env.VAR }}, spaces inside the braces optional.
var template = regexp.MustCompile(`\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// resolveHeaders replaces the templates in the header values from lookup.
// A variable outside EnvPrefix, a missing one, or a "${{" that is not a
// template is an error naming the header and the variable, never a value.
// Every problem is reported, headers in name order.
func (w *Webhooks) resolveHeaders(lookup func(string) (string, bool)) error {
	names := make([]string, 0, len(w.Headers))
	for name := range w.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []string
	resolved := make(map[string]string, len(w.Headers))
	for _, name := range names {
		key := headersKey + name
		value := template.ReplaceAllStringFunc(w.Headers[name], func(m string) string {
			v := template.FindStringSubmatch(m)[1]
			switch got, ok := lookup(v); {
			case !strings.HasPrefix(v, w.EnvPrefix):
				errs = append(errs, fmt.Sprintf("config %s: ${{ env.%s }} is outside webhooks.env_prefix %q", key, v, w.EnvPrefix))
			case !ok:
				errs = append(errs, fmt.Sprintf("config %s: ${{ env.%s }}: environment variable %s is not set", key, v, v))
			default:
				return got
			}
			return ""
		})
		// Checked on what is left once the templates are out, so a
		// variable's value holding "${{" is not taken for a template.
		if rest := template.ReplaceAllString(w.Headers[name], ""); strings.Contains(rest, "${{") {
			errs = append(errs, fmt.Sprintf("config %s: a \"${{\" that is not a ${{ env.VAR }} template", key))
		}
		resolved[name] = value
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	if len(resolved) > 0 {
		w.Headers = resolved
	}
	return nil
}

// applyURLAliases sets each delivery.* URL key from its webhooks.url alias.
// The flags restrict, so either one set sets them; a list or limit set under
// both names to different values is an error naming both, as there is one
// policy. given holds the keys a file or the environment set.
func (c *Config) applyURLAliases(given map[string]bool) error {
	u, d := c.Webhooks.URL, &c.Delivery
	d.RequireHTTPS = d.RequireHTTPS || u.RequireHTTPS
	d.DisableLoopback = d.DisableLoopback || u.DisableLoopback
	var errs []string
	conflict := func(key string) {
		errs = append(errs, fmt.Sprintf("config webhooks.url.%s: delivery.%s is set to another value; they are one setting, set one of them", key, key))
	}
	if len(u.AllowedDomains) > 0 {
		if given["delivery.allowed_domains"] && !slices.Equal(d.AllowedDomains, u.AllowedDomains) {
			conflict("allowed_domains")
		}
		d.AllowedDomains = u.AllowedDomains
	}
	if len(u.AllowedPorts) > 0 {
		if given["delivery.allowed_ports"] && !slices.Equal(d.AllowedPorts, u.AllowedPorts) {
			conflict("allowed_ports")
		}
		d.AllowedPorts = u.AllowedPorts
	}
	if u.MaxURLLength != 0 {
		if given["delivery.max_url_length"] && d.MaxURLLength != u.MaxURLLength {
			conflict("max_url_length")
		}
		d.MaxURLLength = u.MaxURLLength
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// checkDomain refuses an allowed_domains entry that is not a host name,
// optionally behind "*." (any subdomain) or "." (the domain and its
// subdomains, as a plain name).
func checkDomain(d string) error {
	name := strings.TrimPrefix(strings.TrimPrefix(d, "*."), ".")
	if name == "" || strings.ContainsAny(name, "*/:@ ") {
		return fmt.Errorf("%q is not a domain such as example.com or *.example.com", d)
	}
	return nil
}
