package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"

	"github.com/google/uuid"
)

// object is one JSON object of a request (a run create or patch, a feedback),
// kept as raw members so that patches merge field by field and every value
// reaches runs.DecodeRun exactly as sent.
type object map[string]json.RawMessage

// parseObject reads a JSON object; label names it in the error.
func parseObject(label string, data []byte) (object, *apiError) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, badRequest(label, "not a JSON object")
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, badRequest(label, "invalid JSON: %v", err)
	}
	if o == nil {
		o = object{}
	}
	return o, nil
}

var (
	jsonNull = []byte("null")
)

// present is true when the member is there and not null.
func (o object) present(name string) bool {
	v, ok := o[name]
	return ok && !bytes.Equal(bytes.TrimSpace(v), jsonNull)
}

// empty is null, [] or {}: what a stored version holds for "nothing".
func empty(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, jsonNull) {
		return true
	}
	if len(raw) < 2 || (raw[0] != '[' && raw[0] != '{') {
		return false
	}
	return len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}

// str reads a string member; ok is false when it is absent or null.
func (o object) str(name string) (s string, ok bool, isString bool) {
	if !o.present(name) {
		return "", false, true
	}
	if err := json.Unmarshal(o[name], &s); err != nil {
		return "", true, false
	}
	return s, true, true
}

func (o object) setString(name, s string) {
	o[name] = json.RawMessage(strconv.Quote(s))
}

func (o object) setUUID(name string, id uuid.UUID) { o.setString(name, id.String()) }

// overlay copies src's members over o's, except null ones (a patch that
// sends "outputs": null does not erase the outputs) and those in skip.
func (o object) overlay(src object, skipEmpty bool, skip ...string) {
	for k, v := range src {
		if slices.Contains(skip, k) {
			continue
		}
		if skipEmpty && empty(v) || bytes.Equal(bytes.TrimSpace(v), jsonNull) {
			continue
		}
		o[k] = v
	}
}

// encode writes the object back with its members as they came: json.Marshal
// would escape <, > and & inside the raw values.
func (o object) encode() []byte {
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(k) // a string always encodes
		b.Write(name)
		b.WriteByte(':')
		b.Write(o[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// lookup follows a path of object members into raw; nil when any step is
// missing or not an object.
func lookup(raw json.RawMessage, path ...string) json.RawMessage {
	for _, k := range path {
		if len(raw) == 0 {
			return nil
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil
		}
		raw = m[k]
	}
	return raw
}
