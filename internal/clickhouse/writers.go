package clickhouse

import (
	"context"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/groupcommit"
	"github.com/runhook/runhook/internal/runs"
)

// writers are the tables written by many concurrent activities and
// requests, each a handful of rows: on 18.16 every INSERT makes a part, so
// each table shares its INSERTs among concurrent callers (group commit).
type writers struct {
	attempts    *groupcommit.Writer[Attempt]
	outcomes    *groupcommit.Writer[Outcome]
	claims      *groupcommit.Writer[claim]
	events      *groupcommit.Writer[Event]
	pauses      *groupcommit.Writer[Pause]
	runWebhooks *groupcommit.Writer[RunWebhook]
}

func (s *Store) newWriters(o groupcommit.Options) writers {
	return writers{
		attempts:    groupcommit.New(s.insertAttempts, o),
		outcomes:    groupcommit.New(s.insertOutcomes, o),
		claims:      groupcommit.New(s.insertClaims, o),
		events:      groupcommit.New(s.insertEvents, o),
		pauses:      groupcommit.New(s.insertPauses, o),
		runWebhooks: groupcommit.New(s.insertRunWebhooks, o),
	}
}

// readers are the key reads that many concurrent activities make, each of a
// few keys, while a delivery fans out: a read pays for every part and granule
// its keys touch, and fresh runs sit in many small parts, so one read of the
// union of their keys costs about what one of them alone did. Callers that
// arrive while a read is in flight share the next one; an idle reader reads
// at once.
type readers struct {
	runs         *groupcommit.Reader[uuid.UUID, runs.Run]
	withFeedback *groupcommit.Reader[uuid.UUID, struct{}]
	runWebhooks  *groupcommit.Reader[uuid.UUID, RunWebhook]
}

// maxReadKeys bounds the ids of one shared read; a larger call is read whole.
const maxReadKeys = 2000

func (s *Store) newReaders() readers {
	o := groupcommit.Options{MaxRows: maxReadKeys}
	return readers{
		runs:         groupcommit.NewReader(s.latestRuns, o),
		withFeedback: groupcommit.NewReader(s.runsWithFeedback, o),
		runWebhooks:  groupcommit.NewReader(s.runWebhooksByRun, o),
	}
}

func (s *Store) runsWithFeedback(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]struct{}, error) {
	with, err := s.queryIDs(ctx, "feedback stats", RunsWithFeedbackSQL, uuidSet(ids))
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]struct{}, len(with))
	for _, id := range with {
		out[id] = struct{}{}
	}
	return out, nil
}
