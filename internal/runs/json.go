package runs

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON encodes v as LangSmith's Python server writes JSON: without
// escaping <, > and & (Go's default turns app_path's "&" into "\u0026").
// Every MarshalJSON in the payload path uses it, since json.Marshal would
// escape again around a marshaler's output.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
