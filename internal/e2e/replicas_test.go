package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/api/replicatest"
)

// startServers runs n bin/server processes on this harness's database and
// task queue, each on its own loopback port, and returns their base URLs and
// API key.
func (h *harness) startServers(n int) ([]string, string) {
	h.t.Helper()
	bin := buildBinary(h.t, "server")
	key := "rhk_" + uuid.NewString()
	var urls []string
	for i := range n {
		url := fmt.Sprintf("http://127.0.0.1:%d", freePort(h.t))
		h.startProcess(bin, fmt.Sprintf("server-%d", i),
			"RUNHOOK_API_ADDR="+url[len("http://"):], "RUNHOOK_API_KEY_HASHES="+api.HashKey(key), "RUNHOOK_API_PUBLIC_URL="+url)
		waitFor(h.t, 30*time.Second, "server "+url+" to answer /info", func() bool {
			res, err := http.Get(url + "/info")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
		urls = append(urls, url)
	}
	return urls, key
}

// Two bin/server processes take the creates and patches of the same runs at
// once, each batch sent to either: no member sent is lost, with no lock
// between them (the run_writes log). A run created with a webhook on one and
// ended on the other, or on both at once, is POSTed once.
func TestTwoServerReplicas(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	urls, key := h.startServers(2)
	ctx := context.Background()

	sent := replicatest.Writes(200, "replicas", 7)
	if err := replicatest.Send(ctx, urls, key, sent, 10, 8); err != nil {
		t.Fatal(err)
	}
	replicatest.Check(t, h.store, sent)

	// Run-completion webhooks: created on server 0; ended on server 1, or on
	// both at once.
	recv := newBodyReceiver(t)
	start := time.Now().UTC()
	var hooked []uuid.UUID
	var posts []map[string]any
	hookedTwice := 0
	for i := range 12 {
		id := uuid.New()
		hooked = append(hooked, id)
		posts = append(posts, map[string]any{"id": id, "name": fmt.Sprint("hooked-", i), "run_type": "chain",
			"session_name": "replicas", "start_time": start.Format(time.RFC3339Nano),
			"webhook": recv.srv.URL + "/done"})
	}
	if status, resp := apiCall(t, http.MethodPost, urls[0]+"/runs/batch", key, map[string]any{"post": posts}); status >= 300 {
		t.Fatalf("create hooked runs: %d %v", status, resp)
	}
	done := make(chan error, 2*len(hooked))
	for i, id := range hooked {
		end := map[string]any{"end_time": start.Add(time.Second).Format(time.RFC3339Nano), "outputs": map[string]any{"i": i}}
		targets := urls[1:]
		if i%2 == 0 {
			targets = urls
		}
		for _, url := range targets {
			go func() {
				status, resp := apiCall(t, http.MethodPatch, url+"/runs/"+id.String(), key, end)
				if status >= 300 {
					done <- fmt.Errorf("end %s on %s: %d %v", id, url, status, resp)
					return
				}
				done <- nil
			}()
		}
		if i%2 == 0 {
			hookedTwice++
		}
	}
	for range len(hooked) + hookedTwice {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 60*time.Second, "a POST for each hooked run", func() bool { return len(recv.requests()) >= len(hooked) })
	time.Sleep(3 * time.Second) // a second POST would come by now
	got := map[uuid.UUID]int{}
	for _, req := range recv.requests() {
		var run struct {
			ID      uuid.UUID      `json:"id"`
			EndTime *string        `json:"end_time"`
			Outputs map[string]any `json:"outputs"`
		}
		if err := json.Unmarshal(req.Body, &run); err != nil {
			t.Fatalf("webhook body: %v: %s", err, req.Body)
		}
		if run.EndTime == nil || run.Outputs == nil {
			t.Errorf("run %s was posted without its end: %s", run.ID, req.Body)
		}
		got[run.ID]++
	}
	for _, id := range hooked {
		if got[id] != 1 {
			t.Errorf("run %s posted %d times, want once", id, got[id])
		}
	}
	if len(got) != len(hooked) {
		t.Errorf("%d runs posted, want %d", len(got), len(hooked))
	}
}
