package rules

import (
	"slices"
	"strings"
	"testing"
)

const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	secretC = "whsec_ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
)

func hookWithSecrets(secrets string) string {
	return ruleFile("    webhooks:\n      - url: https://example.com/\n        signing_secret: " + secrets + "\n")
}

// One secret, or two while the receiver rotates its own.
func TestSigningSecrets(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"one", hookWithSecrets(secretA), []string{secretA}},
		{"a list of one", hookWithSecrets("[" + secretA + "]"), []string{secretA}},
		{"two", hookWithSecrets("\n          - " + secretA + "\n          - " + secretB), []string{secretA, secretB}},
		{"none", ruleFile(""), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rs, err := Parse([]byte(c.src), nil, testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			if got := rs[0].Webhooks[0].SigningSecrets; !slices.Equal(got, c.want) {
				t.Errorf("signing secrets = %q, want %q", got, c.want)
			}
		})
	}
}

func TestSigningSecretsRefused(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"a third", hookWithSecrets("[" + secretA + ", " + secretB + ", " + secretC + "]"),
			`rule "r1": webhooks[0].signing_secret: lists 3 signing secrets, at most 2 (the one in use and the next) (line 6)`},
		{"empty list", hookWithSecrets("[]"),
			`rule "r1": webhooks[0].signing_secret: is an empty list: give a whsec_ secret, or leave it out to send unsigned (line 6)`},
		{"bad second", hookWithSecrets("\n          - " + secretA + "\n          - sk_live_abcdef"),
			`rule "r1": webhooks[0].signing_secret[1]: signing secret must start with whsec_ (line 8)`},
		{"null item", hookWithSecrets("[" + secretA + ", null]"),
			`rule "r1": webhooks[0].signing_secret[1]: is empty (line 6)`},
		{"nested list", hookWithSecrets("[[" + secretA + "]]"),
			`rule "r1": webhooks[0].signing_secret[0]: must be a single value, not a list (line 6)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := parseErr(t, c.src, testPolicy)
			if got != c.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, c.want)
			}
			for _, secret := range []string{secretA, secretB, secretC, "sk_live", "MfKQ9r8", "AAECAwQF"} {
				if strings.Contains(got, secret) {
					t.Errorf("error shows %q: %s", secret, got)
				}
			}
		})
	}
}

// A rule with one secret keeps its fingerprint whichever way it is written,
// so `rules apply` does not rewrite it; a second secret changes it.
func TestSigningSecretsFingerprint(t *testing.T) {
	parse := func(src string) Rule {
		rs, err := Parse([]byte(src), nil, testPolicy)
		if err != nil {
			t.Fatal(err)
		}
		return rs[0]
	}
	key := []byte("fingerprint-key")
	one, listed := parse(hookWithSecrets(secretA)).Fingerprint(key), parse(hookWithSecrets("["+secretA+"]")).Fingerprint(key)
	two := parse(hookWithSecrets("[" + secretA + ", " + secretB + "]")).Fingerprint(key)
	if one != listed || one == two {
		t.Errorf("fingerprints: one %s, one listed %s, two %s", one, listed, two)
	}
}
