package runs

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
)

// MergeError is a merged run that cannot be stored. Err is the decoding
// error (a *FieldError names the field). Patch and Index name the write it is
// blamed on: the last that sent the field, else the first write.
type MergeError struct {
	Patch bool // Index is into the patches, else into the creates
	Index int
	// Unstored is true when only patches came, nothing is stored, and the
	// patches lack a field a run needs (Err names it): the run's create has
	// not arrived yet.
	Unstored bool
	Err      error
}

func (e *MergeError) Error() string { return e.Err.Error() }
func (e *MergeError) Unwrap() error { return e.Err }

// StoredError is a stored version that could not be read back for a merge:
// the fault of the store, not of the writes.
type StoredError struct {
	What string
	Err  error
}

func (e *StoredError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *StoredError) Unwrap() error { return e.Err }

// Merge builds the version of one run to store from its writes and its
// stored version (nil when there is none), as LangSmith's server does.
//
// The run is merged as: its creates, then the stored version, then its
// patches, each over the one before, member by member; a null member never
// erases one. The stored version outranks a create because a create that
// arrives when a version is stored is a retry or a late arrival (the SDKs send
// batches in parallel, so a run's patch can land before its create); a patch
// outranks both, but does not move a run to another project. Then the fields
// the SDKs leave out are derived (see the README's "What is derived from a
// run"). now stamps modified_at; a merged version always sorts after the
// stored one.
//
// A write that cannot be merged is a *MergeError; a stored version that
// cannot be read back is a *StoredError.
func Merge(creates []Object, stored *Run, patches []Object, now time.Time) (Run, error) {
	if len(creates)+len(patches) == 0 {
		return Run{}, errors.New("runs.Merge: no writes")
	}
	creates, err := namedProjects(creates, false)
	if err != nil {
		return Run{}, err
	}
	patches, err = namedProjects(patches, true)
	if err != nil {
		return Run{}, err
	}
	merged := Object{}
	for _, c := range creates {
		merged.overlay(c, false)
	}
	if stored != nil {
		st, err := stored.object()
		if err != nil {
			return Run{}, err
		}
		// status and modified_at are derived again for the merged version;
		// empty stored values leave a late create's values in place.
		merged.overlay(st, true, "status", "modified_at")
	}
	hasBase := len(creates) > 0 || stored != nil
	for _, p := range patches {
		if hasBase {
			merged.overlay(p, false, "session_id", "session_name")
		} else {
			merged.overlay(p, false)
		}
	}
	if !merged.Present("session_id") && len(creates) > 0 {
		merged.SetUUID("session_id", ProjectID(DefaultProject))
	}
	sameMillisecondEnd(merged)

	r, err := decodeRun(merged, now)
	if err != nil {
		return Run{}, blame(err, creates, patches, hasBase)
	}
	r.Status = endStatus(r)
	if !sentAny(tokenFields, creates, patches) {
		if p, c, t, ok := usage(r); ok {
			r.PromptTokens, r.CompletionTokens, r.TotalTokens = p, c, t
		}
	}
	if len(r.ParentRunIDs) == 0 {
		r.ParentRunIDs = ancestors(r.DottedOrder)
	}
	if r.FirstTokenTime == nil {
		r.FirstTokenTime = firstTokenTime(r.Events)
	}
	if stored != nil && !r.ModifiedAt.After(stored.ModifiedAt) {
		// The runs table keeps the version with the greatest modified_at.
		r.ModifiedAt = stored.ModifiedAt.Add(time.Microsecond)
	}
	return r, nil
}

// namedProjects is the writes with the project id set in those that name
// their project but not its id; it copies those, never changes a write.
func namedProjects(writes []Object, patch bool) ([]Object, error) {
	out := make([]Object, len(writes))
	for i, w := range writes {
		out[i] = w
		if w.Present("session_id") || !w.Present("session_name") {
			continue
		}
		out[i] = maps.Clone(w)
		if err := out[i].NameProject(); err != nil {
			return nil, &MergeError{Patch: patch, Index: i, Err: err}
		}
	}
	return out, nil
}

// object is the stored version as the members of a write.
func (r Run) object() (Object, error) {
	data, err := r.MarshalJSON()
	if err != nil {
		return nil, &StoredError{What: "encode stored run", Err: err}
	}
	var o Object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, &StoredError{What: "decode stored run", Err: err}
	}
	return o, nil
}

// blame names the write a merged run's decoding error comes from: the last
// that sent the field.
func blame(err error, creates, patches []Object, hasBase bool) error {
	first := &MergeError{Patch: len(creates) == 0, Err: err}
	var fe *FieldError
	if !errors.As(err, &fe) {
		return first
	}
	for i := len(patches) - 1; i >= 0; i-- {
		if patches[i].Present(fe.Field) {
			return &MergeError{Patch: true, Index: i, Err: err}
		}
	}
	for i := len(creates) - 1; i >= 0; i-- {
		if creates[i].Present(fe.Field) {
			return &MergeError{Index: i, Err: err}
		}
	}
	if hasBase {
		return first
	}
	if e := probePatches(patches); e != nil {
		return e
	}
	return &MergeError{Patch: true, Unstored: true, Err: err}
}

// probePatches checks the fields orphan patches do send, over a stand-in
// for the create they lack, so that a bad value is reported as such rather
// than as a run not stored yet.
func probePatches(patches []Object) *MergeError {
	for i, p := range patches {
		probe := Object{}
		probe.SetUUID("id", uuid.Nil)
		probe.SetUUID("session_id", uuid.Nil)
		probe.SetString("name", "stand-in")
		probe.SetString("run_type", "chain")
		probe.SetString("start_time", "1970-01-01T00:00:00Z")
		probe.overlay(p, false)
		sameMillisecondEnd(probe)
		_, err := decodeRun(probe, time.Time{})
		var fe *FieldError
		if errors.As(err, &fe) && p.Present(fe.Field) {
			return &MergeError{Patch: true, Index: i, Err: err}
		}
	}
	return nil
}

// overlay copies src's members over o's, except null ones (a patch that
// sends "outputs": null does not erase the outputs), empty ones when
// skipEmpty, and those in skip.
func (o Object) overlay(src Object, skipEmpty bool, skip ...string) {
	for k, v := range src {
		if slices.Contains(skip, k) {
			continue
		}
		if skipEmpty && empty(v) || isNull(v) {
			continue
		}
		o[k] = v
	}
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

// tokenFields are set by a client that counts tokens itself.
var tokenFields = []string{"total_tokens", "prompt_tokens", "completion_tokens"}

func sentAny(fields []string, lists ...[]Object) bool {
	for _, l := range lists {
		for _, w := range l {
			for _, f := range fields {
				if w.Present(f) {
					return true
				}
			}
		}
	}
	return false
}
