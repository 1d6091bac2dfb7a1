package runs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// FieldError says which field of a JSON object is wrong and why.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// The typed getters of Object below read one member each and return a
// *FieldError naming it.

func fieldErr(name string, format string, args ...any) error {
	return &FieldError{Field: name, Err: fmt.Errorf(format, args...)}
}

// absent says whether name is missing from the object, with the error when
// it was required.
func (o Object) absent(name string, required bool) (bool, error) {
	if o.Present(name) {
		return false, nil
	}
	if required {
		return true, fieldErr(name, "required")
	}
	return true, nil
}

// jsonString reads name as a JSON string; notString is the error's text
// when it is not one.
func (o Object) jsonString(name, notString string) (string, error) {
	var s string
	if err := json.Unmarshal(o[name], &s); err != nil {
		return "", fieldErr(name, "%s", notString)
	}
	return s, nil
}

func (o Object) uuid(name string, required bool) (*uuid.UUID, error) {
	if absent, err := o.absent(name, required); absent {
		return nil, err
	}
	s, err := o.jsonString(name, "want a UUID string")
	if err != nil {
		return nil, err
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nil, fieldErr(name, "%q is not a UUID", s)
	}
	return &id, nil
}

func (o Object) str(name string, required bool) (*string, error) {
	if absent, err := o.absent(name, required); absent {
		return nil, err
	}
	s, err := o.jsonString(name, "want a string")
	if err != nil {
		return nil, err
	}
	if required && s == "" {
		return nil, fieldErr(name, "must not be empty")
	}
	return &s, nil
}

func (o Object) time(name string, required bool) (*time.Time, error) {
	if absent, err := o.absent(name, required); absent {
		return nil, err
	}
	t, err := ParseTime(o[name])
	if err != nil {
		return nil, &FieldError{Field: name, Err: err}
	}
	return &t, nil
}

func (o Object) bool(name string) (*bool, error) {
	if !o.Present(name) {
		return nil, nil
	}
	var b bool
	if err := json.Unmarshal(o[name], &b); err != nil {
		return nil, fieldErr(name, "want true or false")
	}
	return &b, nil
}

// count reads a non-negative whole number (token counts), exactly.
func (o Object) count(name string) (uint64, error) {
	if !o.Present(name) {
		return 0, nil
	}
	raw := string(bytes.TrimSpace(o[name]))
	if n, err := strconv.ParseUint(raw, 10, 64); err == nil {
		return n, nil
	}
	// 12.0 and 1e3 are whole numbers too, within float precision.
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f >= 1<<53 {
		return 0, fieldErr(name, "want a non-negative whole number")
	}
	return uint64(f), nil
}

// number reads a number, also written as a decimal string (LangSmith sends costs as strings).
func (o Object) number(name string) (*float64, error) {
	if !o.Present(name) {
		return nil, nil
	}
	raw := bytes.TrimSpace(o[name])
	var f float64
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fieldErr(name, "%q is not a number", s)
		}
		f = v
	} else if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fieldErr(name, "want a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fieldErr(name, "want a finite number")
	}
	return &f, nil
}

// rawJSON keeps a JSON value as sent, checking its kind: '{' object, '[' array, 0 any.
func (o Object) rawJSON(name string, kind byte) (json.RawMessage, error) {
	if !o.Present(name) {
		return nil, nil
	}
	raw := bytes.TrimSpace(o[name])
	if kind != 0 && raw[0] != kind {
		want := map[byte]string{'{': "an object", '[': "an array"}[kind]
		return nil, fieldErr(name, "want %s or null", want)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fieldErr(name, "invalid JSON: %v", err)
	}
	return buf.Bytes(), nil
}

func (o Object) uuids(name string) ([]uuid.UUID, error) {
	if !o.Present(name) {
		return nil, nil
	}
	var ss []string
	if err := json.Unmarshal(o[name], &ss); err != nil {
		return nil, fieldErr(name, "want an array of UUID strings")
	}
	out := make([]uuid.UUID, 0, len(ss))
	for i, s := range ss {
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, fieldErr(name, "element %d: %q is not a UUID", i, s)
		}
		out = append(out, id)
	}
	return out, nil
}

func (o Object) strings(name string) ([]string, error) {
	if !o.Present(name) {
		return nil, nil
	}
	var vs []*string
	if err := json.Unmarshal(o[name], &vs); err != nil {
		return nil, fieldErr(name, "want an array of strings")
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		if v == nil {
			return nil, fieldErr(name, "element %d is null, want a string", i)
		}
		out[i] = *v
	}
	return out, nil
}
