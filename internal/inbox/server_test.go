package inbox_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/inbox"
)

func TestServerServesAndStops(t *testing.T) {
	h := inbox.New(inbox.Options{Delay: time.Hour})
	arrived := make(chan struct{}, 1)
	s, err := inbox.Listen("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			arrived <- struct{}{}
		}
		h.ServeHTTP(w, r)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || strings.HasSuffix(s.URL(), ":0") {
		t.Fatalf("URL %q", s.URL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()

	if page, _ := get(t, s.URL()+"/"); !strings.Contains(page, "runhook inbox") {
		t.Error("page not served")
	}

	// A delayed answer in flight must not hold the shutdown for the delay.
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL()+"/hook", "application/json", strings.NewReader(`{"rule_id":"r","runs":[]}`))
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		answered <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("delivery never arrived")
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	// Stopping drops the connection rather than answering 200, so the
	// sender counts the delivery as not made.
	if err := <-answered; err == nil || strings.HasPrefix(err.Error(), "answered") {
		t.Errorf("delivery in flight at shutdown: %v, want a dropped connection", err)
	}
	ds := h.Deliveries()
	if len(ds) != 1 || !strings.Contains(ds[0].Note, "inbox stopped") {
		t.Errorf("deliveries %+v", ds)
	}
	if _, err := http.Get(s.URL() + "/"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestListenBusyAddress(t *testing.T) {
	s, err := inbox.Listen("127.0.0.1:0", inbox.New(inbox.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	if _, err := inbox.Listen(s.Addr().String(), inbox.New(inbox.Options{})); err == nil {
		t.Error("second listener on a busy address")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
