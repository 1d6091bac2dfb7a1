package filter

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Bounds on what one document contributes to the pair columns, so a huge
// input cannot blow up a row; search() still sees the whole document.
const (
	MaxPairs       = 1000
	MaxValueLength = 4096
)

// Flatten turns a JSON object into the key/value pairs that input_key,
// input_value (and the output_ and metadata_ fields) test: nested objects
// give dotted keys ("a.b"), each element of an array gives a pair under the
// array's key, strings are their text and other scalars their JSON text.
// Anything that is not an object gives no pairs.
func Flatten(raw json.RawMessage) (keys, values []string) {
	keys, values = []string{}, []string{}
	if len(raw) == 0 {
		return keys, values
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return keys, values
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return keys, values
	}
	f := flattener{keys: keys, values: values}
	f.object("", obj)
	return f.keys, f.values
}

// Metadata flattens extra.metadata, where LangSmith keeps a run's metadata.
func Metadata(extra json.RawMessage) (keys, values []string) {
	var e struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if len(extra) == 0 || json.Unmarshal(extra, &e) != nil {
		return []string{}, []string{}
	}
	return Flatten(e.Metadata)
}

type flattener struct {
	keys, values []string
}

func (f *flattener) object(prefix string, obj map[string]any) {
	for k, v := range obj {
		if prefix != "" {
			k = prefix + "." + k
		}
		f.value(k, v)
	}
}

func (f *flattener) value(key string, v any) {
	if len(f.keys) >= MaxPairs {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		f.object(key, v)
	case []any:
		for _, e := range v {
			f.value(key, e)
		}
	case string:
		f.add(key, v)
	case json.Number:
		f.add(key, v.String())
	case bool:
		f.add(key, strconv.FormatBool(v))
	case nil:
		f.add(key, "null")
	}
}

func (f *flattener) add(key, value string) {
	if len(value) > MaxValueLength {
		value = value[:MaxValueLength]
	}
	f.keys = append(f.keys, key)
	f.values = append(f.values, value)
}
