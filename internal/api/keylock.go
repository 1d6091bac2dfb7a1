package api

import (
	"bytes"
	"slices"
	"sync"

	"github.com/google/uuid"
)

// keyLocks serialises the read-merge-insert of each run id within this
// process: two requests about one run (a create and its patch sent in
// parallel batches) each see the other's version instead of both merging
// with the same older one, which would let the stale merge win.
type keyLocks struct {
	mu sync.Mutex
	m  map[uuid.UUID]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func newKeyLocks() *keyLocks { return &keyLocks{m: map[uuid.UUID]*keyLock{}} }

// lock takes every id's lock, in id order so that two requests sharing
// several ids cannot deadlock, and returns the function that releases them.
func (k *keyLocks) lock(ids []uuid.UUID) (unlock func()) {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	held := make([]*keyLock, 0, len(ids))
	for _, id := range ids {
		k.mu.Lock()
		l := k.m[id]
		if l == nil {
			l = &keyLock{}
			k.m[id] = l
		}
		l.refs++
		k.mu.Unlock()
		l.mu.Lock()
		held = append(held, l)
	}
	return func() {
		for i := len(held) - 1; i >= 0; i-- {
			l := held[i]
			l.mu.Unlock()
			k.mu.Lock()
			l.refs--
			if l.refs == 0 {
				delete(k.m, ids[i])
			}
			k.mu.Unlock()
		}
	}
}
