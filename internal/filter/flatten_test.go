package filter

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

func pairs(keys, values []string) []string {
	out := make([]string, len(keys))
	for i := range keys {
		out[i] = keys[i] + "=" + values[i]
	}
	sort.Strings(out)
	return out
}

func TestFlatten(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{``, ``},
		{`null`, ``},
		{`"text"`, ``},
		{`[1,2]`, ``},
		{`not json`, ``},
		{`{}`, ``},
		{`{"q":"hi","n":1.50,"ok":true,"none":null}`, `n=1.50 none=null ok=true q=hi`},
		{`{"a":{"b":{"c":"deep"}},"tags":["x","y"],"msgs":[{"role":"user"}]}`, `a.b.c=deep msgs.role=user tags=x tags=y`},
	}
	for _, c := range cases {
		got := strings.Join(pairs(Flatten(json.RawMessage(c.in))), " ")
		if got != c.want {
			t.Errorf("Flatten(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFlattenBounds(t *testing.T) {
	big := map[string]string{"long": strings.Repeat("x", MaxValueLength+10)}
	for i := 0; i < MaxPairs+5; i++ {
		big["k"+strings.Repeat("0", 1)+string(rune('a'+i%26))+strings.Repeat("z", i/26)] = "v"
	}
	raw, _ := json.Marshal(big)
	keys, values := Flatten(raw)
	if len(keys) != MaxPairs || len(values) != MaxPairs {
		t.Fatalf("pairs = %d, want the cap %d", len(keys), MaxPairs)
	}
	for _, v := range values {
		if len(v) > MaxValueLength {
			t.Fatalf("value of %d bytes kept; cap is %d", len(v), MaxValueLength)
		}
	}
}

func TestMetadata(t *testing.T) {
	got := strings.Join(pairs(Metadata(json.RawMessage(`{"metadata":{"env":"prod","user":{"tier":"pro"}},"runtime":{"x":1}}`))), " ")
	if got != "env=prod user.tier=pro" {
		t.Fatalf("Metadata = %q", got)
	}
	if k, v := Metadata(nil); len(k) != 0 || len(v) != 0 {
		t.Fatal("nil extra gave pairs")
	}
}
