package testenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// HistoryText is a workflow's whole history as searchable text: every event
// as JSON, followed by the decoded bytes of every payload (protojson shows
// payloads base64-encoded, where a plain search for a secret would miss them).
func HistoryText(ctx context.Context, c client.Client, workflowID string) (string, error) {
	var out bytes.Buffer
	iter := c.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return "", err
		}
		b, err := protojson.Marshal(ev)
		if err != nil {
			return "", err
		}
		out.Write(b)
		var tree any
		_ = json.Unmarshal(b, &tree)
		decodePayloads(tree, &out)
	}
	return out.String(), nil
}

func decodePayloads(node any, out *bytes.Buffer) {
	switch v := node.(type) {
	case map[string]any:
		for k, child := range v {
			if s, ok := child.(string); ok && k == "data" {
				if raw, err := base64.StdEncoding.DecodeString(s); err == nil {
					out.Write(raw)
					out.WriteByte('\n')
				}
				continue
			}
			decodePayloads(child, out)
		}
	case []any:
		for _, child := range v {
			decodePayloads(child, out)
		}
	}
}
