package runs

import (
	"bytes"
	"cmp"
	"crypto/sha1"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
)

// WriteKind says what a logged write is.
type WriteKind uint8

const (
	// Create is a run as a client created it (POST /runs, a batch's post).
	Create WriteKind = iota
	// Patch is an update of a run (PATCH /runs/{id}, a batch's patch).
	Patch
	// Base is a version stored without a log of its writes (loaded from
	// JSON Lines, written before the log existed, or whose create has left
	// the log under retention): the log's writes are merged over it.
	Base
)

// Write is one run write as the log (ClickHouse's run_writes) keeps it. A
// run's stored version is the fold of all its logged writes, so that API
// servers that take writes of one run at once need no lock between them:
// each logs its writes, reads the whole log of the run back and stores the
// fold, and of all versions the fold of the most writes wins (FoldVersion).
type Write struct {
	RunID uuid.UUID
	// ReceivedAt is the receiving server's clock; Request and Seq (the
	// write's place in its request) order writes received in the same
	// microsecond.
	ReceivedAt time.Time
	Request    uuid.UUID
	Seq        uint32
	Kind       WriteKind
	Body       Object
	// Label names the write in errors ("post[3]"); it is not logged, so
	// writes read back from the log have none.
	Label string
}

// key orders a run's writes: the order they were received in.
func (w Write) key() writeKey { return writeKey{w.ReceivedAt.UnixMicro(), w.Request, w.Seq} }

type writeKey struct {
	at      int64
	request uuid.UUID
	seq     uint32
}

func (a writeKey) compare(b writeKey) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	if c := bytes.Compare(a.request[:], b.request[:]); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// BaseWrite is the write that carries a version stored without a log. Its
// key comes from the version alone, so that two servers that log the same
// base log the same write.
func BaseWrite(stored Run) (Write, error) {
	o, err := stored.object()
	if err != nil {
		return Write{}, err
	}
	at := stored.ModifiedAt.Truncate(time.Microsecond)
	name := append(stored.ID[:], []byte(at.Format(time.RFC3339Nano))...)
	return Write{
		RunID:      stored.ID,
		ReceivedAt: at,
		Request:    uuid.NewHash(sha1.New(), baseSpace, name, 5),
		Kind:       Base,
		Body:       o,
	}, nil
}

var baseSpace = uuid.MustParse("5b8f1c2e-7a61-4c0e-9a57-3c1d8f0b6e42")

// HasOrigin is true when the writes hold a create or a base: with neither,
// the run's stored version, if any, was written without a log and must be
// logged as a base before the writes are folded.
func HasOrigin(writes []Write) bool {
	return slices.ContainsFunc(writes, func(w Write) bool { return w.Kind != Patch })
}

// FoldError is a fold that cannot be stored: Err (a *MergeError) blamed on
// Write, or on no write when the fold lacks a create (Unstored).
type FoldError struct {
	Write *Write
	Err   *MergeError
}

func (e *FoldError) Error() string { return e.Err.Error() }
func (e *FoldError) Unwrap() error { return e.Err }

// Fold is the version of one run that its logged writes make, whatever order
// they are given in and however often each is given: writes with the same key
// are one write. It is Merge with the writes in the order received: the
// latest base as the stored version; creates so that the first received
// wins (a later create is a retry or a late arrival, as Merge has it), the
// last within one request; then every patch, the last received winning.
//
// modified_at is FoldVersion, not the clock, so that every server that folds
// the same writes stores the same version.
func Fold(writes []Write) (Run, error) {
	ws := slices.Clone(writes)
	slices.SortFunc(ws, func(a, b Write) int { return a.key().compare(b.key()) })
	ws = slices.CompactFunc(ws, func(a, b Write) bool { return a.key() == b.key() })
	if len(ws) == 0 {
		return Run{}, errors.New("runs.Fold: no writes")
	}
	var (
		creates, patches []*Write
		base             *Write
	)
	for i := range ws {
		switch w := &ws[i]; w.Kind {
		case Create:
			creates = append(creates, w)
		case Patch:
			patches = append(patches, w)
		case Base:
			base = w // the last received
		}
	}
	// Merge lets the last create win: requests latest first, each in its order.
	slices.SortStableFunc(creates, func(a, b *Write) int {
		ka, kb := a.key(), b.key()
		if ka.at != kb.at || ka.request != kb.request {
			return kb.compare(ka)
		}
		return cmp.Compare(ka.seq, kb.seq)
	})
	var stored *Run
	if base != nil {
		r, err := DecodeRun(base.Body.Encode(), base.ReceivedAt)
		if err != nil {
			return Run{}, &StoredError{What: "decode the logged base of run " + base.RunID.String(), Err: err}
		}
		stored = &r
	}
	version := FoldVersion(ws)
	r, err := Merge(bodies(creates), stored, bodies(patches), version)
	var me *MergeError
	if errors.As(err, &me) {
		fe := &FoldError{Err: me}
		switch {
		case me.Unstored:
		case me.Patch:
			fe.Write = patches[me.Index]
		case len(creates) > 0:
			fe.Write = creates[me.Index]
		}
		return Run{}, fe
	}
	if err != nil {
		return Run{}, err
	}
	r.ModifiedAt = version
	return r, nil
}

// FoldVersion is the modified_at of the fold of writes (distinct, at least
// one): the last receipt plus a microsecond for each write but one. Servers
// read a run's log after logging their own writes, so of any two folds
// stored one read every write the other did: it folds more writes than the
// other and has the greater version, and the table keeps it.
func FoldVersion(distinct []Write) time.Time {
	var last time.Time
	for _, w := range distinct {
		if w.ReceivedAt.After(last) {
			last = w.ReceivedAt
		}
	}
	return last.UTC().Truncate(time.Microsecond).Add(time.Duration(len(distinct)-1) * time.Microsecond)
}

func bodies(ws []*Write) []Object {
	out := make([]Object, len(ws))
	for i, w := range ws {
		out[i] = w.Body
	}
	return out
}

// SameWrites is true when a and b hold the same writes, by key.
func SameWrites(a, b []Write) bool {
	keys := func(ws []Write) []writeKey {
		out := make([]writeKey, len(ws))
		for i, w := range ws {
			out[i] = w.key()
		}
		slices.SortFunc(out, writeKey.compare)
		return slices.Compact(out)
	}
	return slices.Equal(keys(a), keys(b))
}
