package runs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// Object is one JSON object of a run or feedback write, kept as raw members
// so that writes merge member by member and every value is decoded exactly
// as it was sent.
type Object map[string]json.RawMessage

// ParseObject reads one JSON object.
func ParseObject(data []byte) (Object, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var o Object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if o == nil {
		o = Object{}
	}
	return o, nil
}

// Present is true when the member is there and not null.
func (o Object) Present(name string) bool {
	v, ok := o[name]
	return ok && !isNull(v)
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), jsonNull) }

// Text reads a string member: ok is false when it is absent or null, isString
// false when it is there but not a string.
func (o Object) Text(name string) (s string, ok bool, isString bool) {
	if !o.Present(name) {
		return "", false, true
	}
	if err := json.Unmarshal(o[name], &s); err != nil {
		return "", true, false
	}
	return s, true, true
}

// SetString sets a string member.
func (o Object) SetString(name, s string) {
	raw, _ := MarshalJSON(s) // a string always encodes
	o[name] = raw
}

// SetUUID sets a UUID member, as its string.
func (o Object) SetUUID(name string, id uuid.UUID) { o.SetString(name, id.String()) }

// Encode writes the object back with its members as they came: json.Marshal
// would escape <, > and & inside the raw values.
func (o Object) Encode() []byte {
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
