package runs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// RunTimeLayout is how LangSmith writes a run's timestamps: UTC without an
// offset, always six fraction digits (see the seed payload).
const RunTimeLayout = "2006-01-02T15:04:05.000000"

// WindowTimeLayout is how LangSmith writes a payload's window bounds.
const WindowTimeLayout = "2006-01-02T15:04:05.000000-07:00"

// FormatRunTime renders t as a run timestamp.
func FormatRunTime(t time.Time) string { return t.UTC().Format(RunTimeLayout) }

// FormatWindowTime renders t as a window bound, e.g. 2024-04-05T01:28:54.734491+00:00.
func FormatWindowTime(t time.Time) string {
	return strings.Replace(t.UTC().Format(WindowTimeLayout), "Z", "+00:00", 1)
}

var inputLayouts = []string{
	time.RFC3339Nano,                // 2024-04-05T01:28:54.085649Z, ...+00:00
	"2006-01-02T15:04:05.999999999", // no offset: LangSmith's own form, read as UTC
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// ParseTime reads a timestamp the way LangSmith clients send them: an ISO 8601
// string with or without offset (none means UTC), or a number of milliseconds
// since the epoch (the JS SDK). The result is UTC, truncated to microseconds,
// the precision that is stored.
func ParseTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		var ms float64
		if err := json.Unmarshal(raw, &ms); err != nil || math.IsNaN(ms) || math.IsInf(ms, 0) {
			return time.Time{}, errors.New("want an ISO 8601 timestamp string or epoch milliseconds")
		}
		return time.UnixMicro(int64(math.Round(ms * 1000))).UTC(), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, errors.New("want an ISO 8601 timestamp string")
	}
	for _, layout := range inputLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				return time.Time{}, fmt.Errorf("%q is out of range (1970-9999)", s)
			}
			return t.UTC().Truncate(time.Microsecond), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp", s)
}

// Micros and FromMicros convert to and from the stored form (UInt64 microseconds
// since the epoch): ClickHouse 18.16 has no DateTime64.
func Micros(t time.Time) uint64 { return uint64(t.UnixMicro()) }

func FromMicros(us uint64) time.Time { return time.UnixMicro(int64(us)).UTC() }
