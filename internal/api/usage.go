package api

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/runhook/runhook/internal/runs"
)

// usage finds the token counts an SDK reports for an LLM run when it does not
// set total_tokens and the like itself, where LangSmith's server looks:
// outputs.usage_metadata and extra.metadata.usage_metadata (input_tokens,
// output_tokens, total_tokens: the JS and Python traceable) or
// outputs.llm_output.token_usage (prompt_tokens, completion_tokens,
// total_tokens: LangChain). Counts that are not whole numbers are ignored:
// usage is the application's free-form data, not a reason to refuse the run.
func usage(r runs.Run) (prompt, completion, total uint64, ok bool) {
	for _, src := range []struct {
		raw           json.RawMessage
		in, out, both string
	}{
		{lookup(r.Outputs, "usage_metadata"), "input_tokens", "output_tokens", "total_tokens"},
		{lookup(r.Extra, "metadata", "usage_metadata"), "input_tokens", "output_tokens", "total_tokens"},
		{lookup(r.Outputs, "llm_output", "token_usage"), "prompt_tokens", "completion_tokens", "total_tokens"},
	} {
		if len(src.raw) == 0 {
			continue
		}
		p, okP := count(lookup(src.raw, src.in))
		c, okC := count(lookup(src.raw, src.out))
		t, okT := count(lookup(src.raw, src.both))
		if !okP && !okC && !okT {
			continue
		}
		if !okT {
			t = p + c
		}
		return p, c, t, true
	}
	return 0, 0, 0, false
}

func count(raw json.RawMessage) (uint64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var n json.Number
	if json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	if v, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
		return v, true
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f != math.Trunc(f) || f >= 1<<53 {
		return 0, false
	}
	return uint64(f), true
}

// firstTokenTime is the time of the first "new_token" event of a streamed
// LLM run, as LangSmith derives first_token_time.
func firstTokenTime(events json.RawMessage) *time.Time {
	if len(events) == 0 {
		return nil
	}
	var evs []json.RawMessage
	if json.Unmarshal(events, &evs) != nil {
		return nil
	}
	for _, raw := range evs {
		var ev struct {
			Name string          `json:"name"`
			Time json.RawMessage `json:"time"`
		}
		if json.Unmarshal(raw, &ev) != nil || ev.Name != "new_token" {
			continue
		}
		if t, err := runs.ParseTime(ev.Time); err == nil {
			return &t
		}
		return nil
	}
	return nil
}
