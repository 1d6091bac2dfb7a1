package rulesync_test

import (
	"context"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/rulesync"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/testenv"
)

func syncer(t *testing.T) rulesync.Syncer {
	t.Helper()
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	s := rulesync.Syncer{Store: store, Schedules: schedules.Manager{Client: c, TaskQueue: queue}, Box: box,
		FingerprintKey: rulesync.FingerprintKey(key)}
	t.Cleanup(func() {
		all, _ := store.Rules(context.Background())
		for _, r := range all {
			_ = s.Schedules.Delete(context.Background(), r.ID)
		}
	})
	return s
}

func rule(name string) rules.Rule {
	return rules.Rule{ID: rules.DeriveID(name + uuid.NewString()), Name: name, Project: uuid.New(), SamplingRate: 1,
		Interval: time.Hour, Enabled: true, Webhooks: []rules.Webhook{
			{URL: "https://a.example/hook?secret=one"}, {URL: "https://b.example/hook", Headers: map[string]string{"X-K": "v"}},
		}}
}

func plan(t *testing.T, s rulesync.Syncer, rs []rules.Rule, prune bool) map[uuid.UUID]rulesync.Action {
	t.Helper()
	p, err := s.Plan(context.Background(), rs, prune)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uuid.UUID]rulesync.Action{}
	for _, c := range p {
		out[c.RuleID] = c.Action
	}
	if err := s.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPlanAndApply(t *testing.T) {
	s := syncer(t)
	ctx := context.Background()
	a, b := rule("a"), rule("b")
	b.Enabled = false
	if got := plan(t, s, []rules.Rule{a, b}, false); got[a.ID] != rulesync.Create || got[b.ID] != rulesync.Create {
		t.Fatalf("first apply: %v", got)
	}
	if st, _ := s.Schedules.Get(ctx, b.ID); !st.Exists || !st.Paused {
		t.Fatalf("disabled rule's schedule: %+v", st)
	}
	if got := plan(t, s, []rules.Rule{a, b}, false); got[a.ID] != rulesync.Unchanged || got[b.ID] != rulesync.Unchanged {
		t.Fatalf("second apply of the same rules: %v", got)
	}

	// A changed secret is a change, though nothing in the stored spec shows it.
	a.Webhooks[0].URL = "https://a.example/hook?secret=two"
	if got := plan(t, s, []rules.Rule{a, b}, false); got[a.ID] != rulesync.Update || got[b.ID] != rulesync.Unchanged {
		t.Fatalf("after a secret change: %v", got)
	}

	// An operator's pause survives an update that does not touch enabled.
	// (as `starter rules pause` does: recorded, then the schedule paused)
	if err := s.Store.RecordPause(ctx, clickhouse.Pause{RuleID: a.ID, At: time.Now(), Reason: "operator", Paused: true}); err != nil {
		t.Fatal(err)
	}
	if err := s.Schedules.Pause(ctx, a.ID, "operator"); err != nil {
		t.Fatal(err)
	}
	a.Webhooks = a.Webhooks[:1]
	if got := plan(t, s, []rules.Rule{a, b}, false); got[a.ID] != rulesync.Update {
		t.Fatalf("after dropping a webhook: %v", got)
	}
	if st, _ := s.Schedules.Get(ctx, a.ID); !st.Paused {
		t.Fatal("update lost the operator's pause")
	}
	hooks, err := s.Store.Webhooks(ctx, a.ID)
	if err != nil || len(hooks) != 1 || hooks[0].URLRedacted != "https://a.example/hook?secret=***" {
		t.Fatalf("webhooks after dropping one: %+v, %v", hooks, err)
	}

	// A schedule lost on the Temporal side is recreated.
	if err := s.Schedules.Delete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if got := plan(t, s, []rules.Rule{a, b}, false); got[b.ID] != rulesync.Update {
		t.Fatalf("missing schedule: %v", got)
	}
	if st, _ := s.Schedules.Get(ctx, b.ID); !st.Exists || !st.Paused {
		t.Fatalf("recreated schedule of a disabled rule: %+v", st)
	}

	// Prune deletes what the file lacks: rule, webhooks and schedule.
	if got := plan(t, s, []rules.Rule{a}, true); got[b.ID] != rulesync.Delete {
		t.Fatalf("prune: %v", got)
	}
	if _, ok, _ := s.Store.Rule(ctx, b.ID); ok {
		t.Fatal("pruned rule still stored")
	}
	if hooks, _ := s.Store.Webhooks(ctx, b.ID); len(hooks) != 0 {
		t.Fatalf("pruned rule's webhooks remain: %+v", hooks)
	}
	if st, _ := s.Schedules.Get(ctx, b.ID); st.Exists {
		t.Fatal("pruned rule's schedule remains")
	}
}

func TestApplyRefusesAURLThePolicyForbids(t *testing.T) {
	s := syncer(t)
	s.Policy = delivery.URLPolicy{RequireHTTPS: true}
	r := rule("http")
	r.Webhooks = []rules.Webhook{{URL: "http://a.example/hook?secret=xyz"}}
	p, err := s.Plan(context.Background(), []rules.Rule{r}, false)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Apply(context.Background(), p)
	if err == nil {
		t.Fatal("applied a URL the policy forbids")
	}
	if want := "xyz"; strings.Contains(err.Error(), want) {
		t.Fatalf("error shows the URL's secret: %v", err)
	}
}
