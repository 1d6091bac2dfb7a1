package filter

import (
	"testing"
)

func TestTimeMicros(t *testing.T) {
	cases := []struct {
		in   string
		want int64
	}{
		{"1970-01-01T00:00:00Z", 0},
		{"2024-04-05T01:28:54.085646", 1712280534085646},
		{"2024-04-05T01:28:54.085646Z", 1712280534085646},
		{"2024-04-05T03:28:54.085646+02:00", 1712280534085646},
		{"2024-04-05 01:28:54.085646", 1712280534085646},
		{"2024-04-05T01:28:54.0856469Z", 1712280534085646}, // below µs is dropped
		{"2024-04-05T01:28", 1712280480000000},
		{"2024-04-05", 1712275200000000},
		{"1969-12-31T23:59:59Z", -1000000},
	}
	for _, tc := range cases {
		if _, err := parseTime(tc.in); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := timeMicros(tc.in); got != tc.want {
			t.Errorf("%s: got %d, want %d", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "now", "2024-13-01", "2024-04-05T25:00:00Z", "1712280534"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestLatencyMicros(t *testing.T) {
	cases := []struct {
		v    Value
		want any
	}{
		{Value{Kind: String, Str: "5s"}, int64(5000000)},
		{Value{Kind: String, Str: "1.5s"}, int64(1500000)},
		{Value{Kind: String, Str: "200ms"}, int64(200000)},
		{Value{Kind: String, Str: "1m30s"}, int64(90000000)},
		{Value{Kind: Int, Int: 2}, int64(2000000)},
		{Value{Kind: Float, Float: 0.25}, int64(250000)},
		{Value{Kind: Int, Int: 1 << 62}, float64(1<<62) * 1e6},
		{Value{Kind: Float, Float: 1e300}, 1e306},
	}
	for _, tc := range cases {
		got, err := latencyMicros(tc.v)
		if err != nil || got != tc.want {
			t.Errorf("%v: got %#v, %v; want %#v", tc.v, got, err, tc.want)
		}
	}
	for _, bad := range []Value{{Kind: String, Str: "5"}, {Kind: String, Str: "fast"}, {Kind: Bool}, {Kind: Null}} {
		if _, err := latencyMicros(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// Every field names its comparators, and every comparator it names passes check.
func TestFieldTable(t *testing.T) {
	for name, f := range fields {
		if len(fieldOps(name)) == 0 {
			t.Errorf("%s takes no comparators", name)
		}
		for _, op := range fieldOps(name) {
			if !comparators[op] {
				t.Errorf("%s: unknown comparator %s", name, op)
			}
		}
		if f.col == "" {
			t.Errorf("%s has no SQL", name)
		}
	}
	if !allows("end_time", "exists") || allows("start_time", "exists") {
		t.Error("exists applies to end_time only among times")
	}
}
