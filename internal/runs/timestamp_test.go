package runs_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/runs"
)

func TestParseTime(t *testing.T) {
	cases := []struct {
		name string
		raw  string // JSON text
		want string // FormatRunTime of the result; "" = error expected
	}{
		{"naive (LangSmith's form) is UTC", `"2024-04-05T01:28:54.085649"`, "2024-04-05T01:28:54.085649"},
		{"Z", `"2024-04-05T01:28:54.085649Z"`, "2024-04-05T01:28:54.085649"},
		{"+00:00", `"2024-04-05T01:28:54.085649+00:00"`, "2024-04-05T01:28:54.085649"},
		{"+02:00 converted to UTC", `"2024-04-05T03:28:54.085649+02:00"`, "2024-04-05T01:28:54.085649"},
		{"-05:30 across midnight", `"2024-04-04T20:28:54.085649-05:30"`, "2024-04-05T01:58:54.085649"},
		{"3 fraction digits", `"2024-04-05T01:28:54.085"`, "2024-04-05T01:28:54.085000"},
		{"1 fraction digit", `"2024-04-05T01:28:54.1"`, "2024-04-05T01:28:54.100000"},
		{"no fraction", `"2024-04-05T01:28:54"`, "2024-04-05T01:28:54.000000"},
		{"no fraction, Z", `"2024-04-05T01:28:54Z"`, "2024-04-05T01:28:54.000000"},
		{"7 digits truncated", `"2024-04-05T01:28:54.0856499"`, "2024-04-05T01:28:54.085649"},
		{"9 digits truncated, not rounded", `"2024-04-05T01:28:54.085649999"`, "2024-04-05T01:28:54.085649"},
		{"9 digits with offset", `"2024-04-05T01:28:54.999999999+00:00"`, "2024-04-05T01:28:54.999999"},
		{"space separator", `"2024-04-05 01:28:54.085649"`, "2024-04-05T01:28:54.085649"},
		{"space separator with offset", `"2024-04-05 02:28:54.085649+01:00"`, "2024-04-05T01:28:54.085649"},
		{"surrounding whitespace", " \"2024-04-05T01:28:54.085649\"\n", "2024-04-05T01:28:54.085649"},
		{"epoch start", `"1970-01-01T00:00:00"`, "1970-01-01T00:00:00.000000"},
		{"year 9999", `"9999-12-31T23:59:59.999999"`, "9999-12-31T23:59:59.999999"},
		{"epoch milliseconds (JS SDK)", `1712280534085`, "2024-04-05T01:28:54.085000"},
		{"epoch milliseconds, fractional", `1712280534085.649`, "2024-04-05T01:28:54.085649"},
		{"epoch milliseconds, exponent", `1.712280534085e12`, "2024-04-05T01:28:54.085000"},
		{"epoch milliseconds, zero", `0`, "1970-01-01T00:00:00.000000"},
		{"garbage", `"garbage"`, ""},
		{"empty string", `""`, ""},
		{"date only", `"2024-04-05"`, ""},
		{"month 13", `"2024-13-05T01:28:54"`, ""},
		{"hour 25", `"2024-04-05T25:28:54"`, ""},
		{"offset without colon", `"2024-04-05T01:28:54.085649+0000"`, ""},
		{"year before 1970", `"1969-12-31T23:59:59.999999"`, ""},
		{"year 1", `"0001-01-01T00:00:00Z"`, ""},
		{"year 10000", `"10000-01-01T00:00:00"`, ""},
		{"bool", `true`, ""},
		{"object", `{}`, ""},
		{"array", `[1712280534085]`, ""},
		{"numeric string is not milliseconds", `"1712280534085"`, ""},
		{"empty input", ``, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := runs.ParseTime(json.RawMessage(c.raw))
			if c.want == "" {
				if err == nil {
					t.Fatalf("ParseTime(%s) = %v, want an error", c.raw, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%s): %v", c.raw, err)
			}
			if got.Location() != time.UTC {
				t.Errorf("location %v, want UTC", got.Location())
			}
			if got.Nanosecond()%1000 != 0 {
				t.Errorf("%v has sub-microsecond digits", got)
			}
			if s := runs.FormatRunTime(got); s != c.want {
				t.Errorf("ParseTime(%s) = %s, want %s", c.raw, s, c.want)
			}
		})
	}
}

func TestParseTimeErrorNamesValue(t *testing.T) {
	_, err := runs.ParseTime(json.RawMessage(`"1969-07-20T20:17:40"`))
	if err == nil || !strings.Contains(err.Error(), "1969-07-20T20:17:40") || !strings.Contains(err.Error(), "range") {
		t.Errorf("out-of-range error = %v", err)
	}
	_, err = runs.ParseTime(json.RawMessage(`"later"`))
	if err == nil || !strings.Contains(err.Error(), `"later"`) {
		t.Errorf("garbage error = %v", err)
	}
}

// The range check covers epoch milliseconds and applies after conversion to
// UTC; null is not a time.
func TestParseTimeRange(t *testing.T) {
	for _, raw := range []string{`-1000`, `3e14`, `1e300`, `null`, `"1970-01-01T00:30:00+01:00"`, `"9999-12-31T23:00:00-02:00"`} {
		if got, err := runs.ParseTime(json.RawMessage(raw)); err == nil {
			t.Errorf("ParseTime(%s) = %v, want an error", raw, got)
		}
	}
}

// Fractional epoch milliseconds are read as decimals and truncated to the
// microsecond, as strings with extra digits are, not rounded through a float.
func TestParseTimeEpochMillisPrecision(t *testing.T) {
	got, err := runs.ParseTime(json.RawMessage(`1712280534085.6494`))
	if err != nil || runs.FormatRunTime(got) != "2024-04-05T01:28:54.085649" {
		t.Errorf("ParseTime(1712280534085.6494) = %s, %v; want 2024-04-05T01:28:54.085649", runs.FormatRunTime(got), err)
	}
}

func TestFormatRunTime(t *testing.T) {
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"six digits", time.Date(2024, 4, 5, 1, 28, 54, 85649000, time.UTC), "2024-04-05T01:28:54.085649"},
		{"whole second keeps six zeros", time.Date(2024, 4, 5, 1, 28, 54, 0, time.UTC), "2024-04-05T01:28:54.000000"},
		{"trailing zeros kept", time.Date(2024, 4, 5, 1, 28, 54, 100000000, time.UTC), "2024-04-05T01:28:54.100000"},
		{"one microsecond", time.Date(2024, 4, 5, 1, 28, 54, 1000, time.UTC), "2024-04-05T01:28:54.000001"},
		{"nanoseconds truncated", time.Date(2024, 4, 5, 1, 28, 54, 999999999, time.UTC), "2024-04-05T01:28:54.999999"},
		{"converted to UTC, no offset written", time.Date(2024, 4, 5, 3, 28, 54, 85649000, time.FixedZone("", 7200)), "2024-04-05T01:28:54.085649"},
		{"epoch", time.Unix(0, 0), "1970-01-01T00:00:00.000000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := runs.FormatRunTime(c.in); got != c.want {
				t.Errorf("FormatRunTime = %q, want %q", got, c.want)
			}
		})
	}
}

func TestFormatWindowTime(t *testing.T) {
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"payload example", time.Date(2024, 4, 5, 1, 28, 54, 734491000, time.UTC), "2024-04-05T01:28:54.734491+00:00"},
		{"whole second", time.Date(2024, 4, 5, 1, 28, 56, 0, time.UTC), "2024-04-05T01:28:56.000000+00:00"},
		{"nanoseconds truncated", time.Date(2024, 4, 5, 1, 28, 56, 492563999, time.UTC), "2024-04-05T01:28:56.492563+00:00"},
		{"offset converted to UTC", time.Date(2024, 4, 5, 3, 28, 54, 734491000, time.FixedZone("CEST", 7200)), "2024-04-05T01:28:54.734491+00:00"},
		{"local zone converted", time.Date(2024, 4, 5, 1, 28, 54, 734491000, time.UTC).In(time.FixedZone("", -4*3600)), "2024-04-05T01:28:54.734491+00:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := runs.FormatWindowTime(c.in)
			if got != c.want {
				t.Errorf("FormatWindowTime = %q, want %q", got, c.want)
			}
			if strings.Contains(got, "Z") {
				t.Errorf("%q has a Z", got)
			}
		})
	}
}

// The seed payload's timestamps survive ParseTime and formatting unchanged:
// the window bounds with FormatWindowTime, the run's with FormatRunTime.
func TestSeedPayloadTimesRoundTrip(t *testing.T) {
	var payload struct {
		StartTime string                       `json:"start_time"`
		EndTime   string                       `json:"end_time"`
		Runs      []map[string]json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal(readFile(t, "testdata/seed_payload.json"), &payload); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{payload.StartTime, payload.EndTime} {
		tm, err := runs.ParseTime(mustJSON(t, s))
		if err != nil {
			t.Fatalf("window bound %q: %v", s, err)
		}
		if got := runs.FormatWindowTime(tm); got != s {
			t.Errorf("window bound %q came back as %q", s, got)
		}
	}
	if payload.StartTime == "" || payload.EndTime == "" {
		t.Fatal("payload window bounds missing")
	}
	run := payload.Runs[0]
	for _, field := range []string{"start_time", "end_time", "modified_at"} {
		var s string
		if err := json.Unmarshal(run[field], &s); err != nil {
			t.Fatalf("%s: %v", field, err)
		}
		tm, err := runs.ParseTime(run[field])
		if err != nil {
			t.Fatalf("%s %q: %v", field, s, err)
		}
		if got := runs.FormatRunTime(tm); got != s {
			t.Errorf("%s %q came back as %q", field, s, got)
		}
	}
}

func TestMicros(t *testing.T) {
	cases := []struct {
		in time.Time
		us uint64
	}{
		{time.Unix(0, 0), 0},
		{time.Date(2024, 4, 5, 1, 28, 54, 85649000, time.UTC), 1712280534085649},
		{time.Date(2024, 4, 5, 3, 28, 54, 85649000, time.FixedZone("", 7200)), 1712280534085649},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), 253402300799999999},
	}
	for _, c := range cases {
		if got := runs.Micros(c.in); got != c.us {
			t.Errorf("Micros(%v) = %d, want %d", c.in, got, c.us)
		}
		back := runs.FromMicros(c.us)
		if !back.Equal(c.in) || back.Location() != time.UTC {
			t.Errorf("FromMicros(%d) = %v, want %v in UTC", c.us, back, c.in)
		}
	}
}
