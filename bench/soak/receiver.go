package main

import (
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/bench/internal/rig"
	"github.com/runhook/runhook/internal/signing"
)

// Behaviour is how a receiver answers one POST.
type behaviour int

const (
	answerOK behaviour = iota
	answer5xx
	answerSlow
	answerReset
	answerHang
)

// receiver is a loopback webhook endpoint that answers in a weighted mix of
// behaviours and records, per run, the webhook-ids it was sent and when the
// run first arrived in a POST it accepted.
type receiver struct {
	srv    *httptest.Server
	slow   time.Duration
	mu     sync.Mutex
	rng    *rand.Rand
	mix    []behaviour // one entry per weight unit
	ids    map[uuid.UUID]map[string]bool
	first  map[uuid.UUID]time.Time
	counts map[behaviour]int
	accept int // POSTs answered 2xx
	stop   chan struct{}
}

// newReceiver answers by weights (answerOK, answer5xx, ...); slow is how
// long a slow answer waits, longer than the delivery timeout.
func newReceiver(weights map[behaviour]int, slow time.Duration, seed uint64) *receiver {
	r := &receiver{slow: slow, rng: rand.New(rand.NewPCG(seed, seed+1)), ids: map[uuid.UUID]map[string]bool{},
		first: map[uuid.UUID]time.Time{}, counts: map[behaviour]int{}, stop: make(chan struct{})}
	for b := answerOK; b <= answerHang; b++ {
		for i := 0; i < weights[b]; i++ {
			r.mix = append(r.mix, b)
		}
	}
	if len(r.mix) == 0 {
		r.mix = []behaviour{answerOK}
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	ids, err := rig.PayloadRuns(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	msg := req.Header.Get(signing.HeaderID)
	r.mu.Lock()
	b := r.mix[r.rng.IntN(len(r.mix))]
	r.counts[b]++
	for _, id := range ids {
		if r.ids[id] == nil {
			r.ids[id] = map[string]bool{}
		}
		r.ids[id][msg] = true
	}
	if b == answerOK {
		r.accept++
		for _, id := range ids {
			if _, ok := r.first[id]; !ok {
				r.first[id] = at
			}
		}
	}
	r.mu.Unlock()
	switch b {
	case answerOK:
		w.WriteHeader(http.StatusNoContent)
	case answer5xx:
		w.WriteHeader(http.StatusServiceUnavailable)
	case answerSlow:
		select {
		case <-time.After(r.slow):
		case <-r.stop:
		}
		w.WriteHeader(http.StatusNoContent)
	case answerReset:
		// A reset: close the connection with SO_LINGER 0, no answer.
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			conn.Close()
		}
	case answerHang:
		select {
		case <-req.Context().Done():
		case <-r.stop:
		}
	}
}

// URL is where webhooks should post.
func (r *receiver) URL() string { return r.srv.URL + "/hook" }

// Close stops the hanging and slow answers, then the server.
func (r *receiver) Close() {
	close(r.stop)
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// duplicates is the number of runs sent under more than one webhook-id:
// runs delivered twice.
func (r *receiver) duplicates() (n int, example uuid.UUID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, msgs := range r.ids {
		if len(msgs) > 1 {
			n, example = n+1, id
		}
	}
	return n, example
}

func (r *receiver) arrivals() map[uuid.UUID]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uuid.UUID]time.Time, len(r.first))
	for k, v := range r.first {
		out[k] = v
	}
	return out
}

func (r *receiver) answered() map[behaviour]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[behaviour]int{}
	for k, v := range r.counts {
		out[k] = v
	}
	return out
}
