package ruleservice_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/ruleservice"
	"github.com/runhook/runhook/internal/testenv"
)

// Without Temporal the operations on schedules say so, and a rule that is
// not there is a NotFoundError whether asked by id or name.
func TestWithoutTemporalAndNotFound(t *testing.T) {
	ctx := context.Background()
	s := &ruleservice.Service{Store: testenv.ClickHouse(t)}
	if _, err := s.List(ctx); !errors.Is(err, ruleservice.ErrNoTemporal) {
		t.Errorf("List: %v", err)
	}
	if _, err := s.Plan(ctx, nil, false); !errors.Is(err, ruleservice.ErrNoSecrets) {
		t.Errorf("Plan without secrets: %v", err)
	}
	var nf *ruleservice.NotFoundError
	id := uuid.New()
	if _, err := s.Find(ctx, id.String()); !errors.As(err, &nf) || err.Error() != "no rule with id "+id.String() {
		t.Errorf("Find by id: %v", err)
	}
	if _, err := s.Find(ctx, "nope"); !errors.As(err, &nf) || err.Error() != "no rule named \"nope\" (see `starter rules list`)" {
		t.Errorf("Find by name: %v", err)
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 500, time.UTC)
	for in, want := range map[string]string{
		"-2h":                  "2026-12-05T10:00:00Z",
		"2026-11-20T10:00:00Z": "2026-11-20T10:00:00Z",
		"2026-11-20":           "2026-11-20T00:00:00Z",
	} {
		if got, err := ruleservice.ParseWhen(in, now); err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	if _, err := ruleservice.ParseWhen("soon", now); err == nil {
		t.Error("soon parsed")
	}
}
