package runs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
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
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return time.Time{}, errors.New("want an ISO 8601 timestamp string or epoch milliseconds")
	}
	var t time.Time
	if raw[0] != '"' {
		var err error
		if t, err = parseEpochMillis(string(raw)); err != nil {
			return time.Time{}, err
		}
	} else {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errors.New("want an ISO 8601 timestamp string")
		}
		parsed := false
		for _, layout := range inputLayouts {
			if v, err := time.Parse(layout, s); err == nil {
				t, parsed = v, true
				break
			}
		}
		if !parsed {
			return time.Time{}, fmt.Errorf("%q is not an ISO 8601 timestamp", s)
		}
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("%s is out of range (years 1970-9999)", raw)
	}
	return t, nil
}

// parseEpochMillis reads a JSON number of milliseconds exactly: the digits
// after the point are microseconds and below, never rounded through a float.
func parseEpochMillis(num string) (time.Time, error) {
	bad := errors.New("want an ISO 8601 timestamp string or epoch milliseconds")
	whole, frac, _ := strings.Cut(num, ".")
	if strings.ContainsAny(num, "eE") || strings.HasPrefix(whole, "-") {
		// Exponent forms are rare; a float is exact enough for them. Negative
		// values are before 1970 and refused by the range check.
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
			return time.Time{}, fmt.Errorf("%s is out of range (years 1970-9999)", num)
		}
		return time.UnixMicro(int64(f * 1000)).UTC(), nil
	}
	ms, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || ms > 1e15 {
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return time.Time{}, bad
		}
		return time.Time{}, fmt.Errorf("%s is out of range (years 1970-9999)", num)
	}
	us := int64(0)
	if frac != "" {
		digits := (frac + "000")[:3]
		v, err := strconv.Atoi(digits)
		if err != nil {
			return time.Time{}, bad
		}
		us = int64(v)
	}
	return time.UnixMicro(ms*1000 + us).UTC(), nil
}

// Micros and FromMicros convert to and from the stored form (UInt64 microseconds
// since the epoch): ClickHouse 18.16 has no DateTime64.
func Micros(t time.Time) uint64 { return uint64(t.UnixMicro()) }

func FromMicros(us uint64) time.Time { return time.UnixMicro(int64(us)).UTC() }
