package runs

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// NameProject sets session_id from session_name when only the name is sent:
// the SDKs name the project (LANGSMITH_PROJECT) rather than its id.
func (o Object) NameProject() error {
	if o.Present("session_id") {
		return nil
	}
	name, has, isStr := o.Text("session_name")
	if !has {
		return nil
	}
	if !isStr || name == "" {
		return fieldErr("session_name", "want a non-empty string")
	}
	o.SetUUID("session_id", ProjectID(name))
	return nil
}

// sameMillisecondEnd moves an end_time less than a millisecond before
// start_time up to it. The JS SDK writes start_time with the run's order in
// its trace as the microseconds (a run started third in its millisecond is
// …924003) but end_time in milliseconds (…924000), so a run that ends in the
// millisecond it started would otherwise end before it started.
func sameMillisecondEnd(o Object) {
	if !o.Present("start_time") || !o.Present("end_time") {
		return
	}
	start, err1 := ParseTime(o["start_time"])
	end, err2 := ParseTime(o["end_time"])
	if err1 == nil && err2 == nil && end.Before(start) && start.Sub(end) < time.Millisecond {
		o["end_time"] = o["start_time"]
	}
}

// endStatus is the status of a run that a create said was pending and a patch
// ended without saying how.
func endStatus(r Run) string {
	if r.EndTime == nil || (r.Status != "pending" && r.Status != "running") {
		return r.Status
	}
	if r.Error != nil {
		return "error"
	}
	return "success"
}

// ancestors are the run ids of a dotted_order's segments but the last, root
// first: LangSmith's parent_run_ids, which the SDKs do not send.
func ancestors(dotted string) []uuid.UUID {
	segs := strings.Split(dotted, ".")
	out := []uuid.UUID{}
	for _, seg := range segs[:len(segs)-1] {
		_, idPart, ok := strings.Cut(seg, "Z")
		id, err := uuid.Parse(idPart)
		if !ok || err != nil {
			return []uuid.UUID{}
		}
		out = append(out, id)
	}
	return out
}

// usage finds the token counts an SDK reports for an LLM run when it does not
// set total_tokens and the like itself, where LangSmith's server looks:
// outputs.usage_metadata and extra.metadata.usage_metadata (input_tokens,
// output_tokens, total_tokens: the JS and Python traceable) or
// outputs.llm_output.token_usage (prompt_tokens, completion_tokens,
// total_tokens: LangChain). Counts that are not whole numbers are ignored:
// usage is the application's free-form data, not a reason to refuse the run.
func usage(r Run) (prompt, completion, total uint64, ok bool) {
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
		p, okP := tokenCount(lookup(src.raw, src.in))
		c, okC := tokenCount(lookup(src.raw, src.out))
		t, okT := tokenCount(lookup(src.raw, src.both))
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

func tokenCount(raw json.RawMessage) (uint64, bool) {
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
		if t, err := ParseTime(ev.Time); err == nil {
			return &t
		}
		return nil
	}
	return nil
}
