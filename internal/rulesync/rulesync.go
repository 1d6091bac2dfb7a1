// Package rulesync makes the stored rules and their Temporal Schedules match a
// rules file: it plans (create, update, unchanged, delete) and applies.
package rulesync

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/secrets"
)

// Action is what applying does to one rule.
type Action string

const (
	Create    Action = "create"
	Update    Action = "update"
	Unchanged Action = "unchanged"
	Delete    Action = "delete"
)

// Change is one line of a plan, as the CLI prints it and the rules API
// returns it.
type Change struct {
	Action Action    `json:"action"`
	RuleID uuid.UUID `json:"rule_id"`
	Name   string    `json:"name"`
	Why    string    `json:"why,omitempty"`
	rule   *rules.Rule
	stored clickhouse.StoredRule
	sched  schedules.State
}

// Count is how many changes of a plan take each action.
func Count(plan []Change) map[Action]int {
	counts := map[Action]int{}
	for _, c := range plan {
		counts[c.Action]++
	}
	return counts
}

// Syncer holds what applying needs.
type Syncer struct {
	Store     *clickhouse.Store
	Schedules schedules.Manager
	Box       *secrets.Box
	Policy    delivery.URLPolicy
	// FingerprintKey keys the rules' fingerprints; see FingerprintKey.
	FingerprintKey []byte
	Now            func() time.Time
}

// FingerprintKey derives the key rule fingerprints are made with from the
// secrets key, so a fingerprint says nothing about a rule's secrets to anyone
// who can read the rules table.
func FingerprintKey(secretsKey []byte) []byte {
	m := hmac.New(sha256.New, secretsKey)
	m.Write([]byte("runhook rule fingerprint v1"))
	return m.Sum(nil)
}

func (s Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Plan compares the file's rules with what is stored and scheduled. With
// prune, stored rules missing from the file are deleted.
func (s Syncer) Plan(ctx context.Context, desired []rules.Rule, prune bool) ([]Change, error) {
	var plan []Change
	inFile := map[uuid.UUID]bool{}
	for i := range desired {
		r := &desired[i]
		inFile[r.ID] = true
		stored, ok, err := s.Store.Rule(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		sched, err := s.Schedules.Get(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		c := Change{RuleID: r.ID, Name: r.Name, rule: r, stored: stored, sched: sched}
		switch {
		case !ok:
			c.Action, c.Why = Create, "new rule"
		case stored.Fingerprint != r.Fingerprint(s.FingerprintKey):
			c.Action, c.Why = Update, "rule changed"
		case !sched.Exists:
			c.Action, c.Why = Update, "schedule missing"
		case sched.Interval != r.Interval || sched.Offset != schedules.Offset(r.ID, r.Interval) || sched.TaskQueue != s.Schedules.TaskQueue:
			c.Action, c.Why = Update, "schedule differs from the rule"
		default:
			c.Action = Unchanged
		}
		plan = append(plan, c)
	}
	if prune {
		all, err := s.Store.Rules(ctx)
		if err != nil {
			return nil, err
		}
		for _, st := range all {
			if !inFile[st.ID] {
				plan = append(plan, Change{Action: Delete, RuleID: st.ID, Name: st.Name, Why: "not in the file (--prune)", stored: st})
			}
		}
	}
	return plan, nil
}

// Apply carries out a plan. Rules are stored before their schedules, so a
// failure halfway shows up as "schedule missing" on the next apply, which
// finishes the job.
func (s Syncer) Apply(ctx context.Context, plan []Change) error {
	for _, c := range plan {
		var err error
		switch c.Action {
		case Create, Update:
			err = s.put(ctx, c)
		case Delete:
			err = s.delete(ctx, c.RuleID, c.Name)
		}
		if err != nil {
			return fmt.Errorf("rule %q: %w", c.Name, err)
		}
	}
	return nil
}

func (s Syncer) put(ctx context.Context, c Change) error {
	r, now := c.rule, s.now()
	hooks, err := s.Store.Webhooks(ctx, r.ID)
	if err != nil {
		return err
	}
	var rows []clickhouse.Webhook
	for i, w := range r.Webhooks {
		row, err := delivery.Seal(s.Box, s.Policy, r.ID, uint16(i), delivery.Target{URL: w.URL, Headers: w.Headers, SigningSecrets: w.SigningSecrets, Format: w.Format, Retry: w.Retry}, now)
		if err != nil {
			return fmt.Errorf("webhooks[%d]: %w", i, err)
		}
		rows = append(rows, row)
	}
	for _, old := range hooks {
		if int(old.Index) >= len(r.Webhooks) {
			rows = append(rows, clickhouse.Webhook{RuleID: r.ID, Index: old.Index, URLRedacted: old.URLRedacted, UpdatedAt: now, Deleted: true})
		}
	}
	if err := s.Store.PutWebhooks(ctx, rows); err != nil {
		return err
	}
	spec, err := json.Marshal(r.Spec())
	if err != nil {
		return err
	}
	created := c.stored.CreatedAt
	if c.Action == Create || created.IsZero() {
		created = now
	}
	if err := s.Store.PutRule(ctx, clickhouse.StoredRule{ID: r.ID, Name: r.Name, Spec: string(spec),
		Fingerprint: r.Fingerprint(s.FingerprintKey), CreatedAt: created, UpdatedAt: now}); err != nil {
		return err
	}
	d := schedules.Desired{RuleID: r.ID, Name: r.Name, Interval: r.Interval, Enabled: r.Enabled}
	if !c.sched.Exists {
		return s.Schedules.Create(ctx, d)
	}
	wasEnabled := true
	if prev, err := rules.ParseSpec([]byte(c.stored.Spec)); err == nil {
		wasEnabled = prev.Enabled
	}
	if err := s.Schedules.Update(ctx, d, wasEnabled != r.Enabled); err != nil {
		return err
	}
	// An update writes back the schedule's state as Temporal last described
	// it, which can predate a pause still being applied. The pause record in
	// ClickHouse is the truth: pause again if the rule is paused there, or
	// disabled in the file.
	pause, ok, err := s.Store.LatestPause(ctx, r.ID)
	if err != nil {
		return err
	}
	switch {
	case ok && pause.Paused:
		return s.Schedules.Pause(ctx, r.ID, pause.Reason)
	case !r.Enabled:
		return s.Schedules.Pause(ctx, r.ID, "disabled in the rules file (enabled: false)")
	}
	return nil
}

func (s Syncer) delete(ctx context.Context, id uuid.UUID, name string) error {
	if err := s.Schedules.Delete(ctx, id); err != nil {
		return err
	}
	now := s.now()
	hooks, err := s.Store.Webhooks(ctx, id)
	if err != nil {
		return err
	}
	var rows []clickhouse.Webhook
	for _, w := range hooks {
		rows = append(rows, clickhouse.Webhook{RuleID: id, Index: w.Index, URLRedacted: w.URLRedacted, UpdatedAt: now, Deleted: true})
	}
	if err := s.Store.PutWebhooks(ctx, rows); err != nil {
		return err
	}
	stored, _, err := s.Store.Rule(ctx, id)
	if err != nil {
		return err
	}
	created := stored.CreatedAt
	if created.IsZero() {
		created = now
	}
	return s.Store.PutRule(ctx, clickhouse.StoredRule{ID: id, Name: name, Spec: stored.Spec, Fingerprint: stored.Fingerprint,
		CreatedAt: created, UpdatedAt: now, Deleted: true})
}

// Delete removes one rule: its schedule, webhooks and stored rule.
func (s Syncer) Delete(ctx context.Context, id uuid.UUID, name string) error {
	return s.delete(ctx, id, name)
}
