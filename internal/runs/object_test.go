package runs_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

func TestObjectMembers(t *testing.T) {
	o, err := runs.ParseObject([]byte(` {"a": "x", "b": null, "c": 1, "html": "<&>"} `))
	if err != nil {
		t.Fatal(err)
	}
	if !o.Present("a") || o.Present("b") || o.Present("missing") {
		t.Errorf("Present: a %v, b (null) %v, missing %v", o.Present("a"), o.Present("b"), o.Present("missing"))
	}
	if s, ok, isStr := o.Text("a"); s != "x" || !ok || !isStr {
		t.Errorf("Text(a) = %q %v %v", s, ok, isStr)
	}
	if _, ok, _ := o.Text("b"); ok {
		t.Error("Text(b) found a null")
	}
	if _, ok, isStr := o.Text("c"); !ok || isStr {
		t.Errorf("Text(c) = %v %v, want there but not a string", ok, isStr)
	}
	id := uuid.MustParse("0190a1b2-0000-7000-8000-0000000000a1")
	o.SetUUID("id", id)
	want := `{"a":"x","b":null,"c":1,"html":"<&>","id":"` + id.String() + `"}`
	if got := string(o.Encode()); got != want {
		t.Errorf("Encode = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "[1]", `{"a":`} {
		if _, err := runs.ParseObject([]byte(bad)); err == nil {
			t.Errorf("ParseObject(%q) succeeded", bad)
		}
	}
}
