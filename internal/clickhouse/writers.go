package clickhouse

import "github.com/runhook/runhook/internal/groupcommit"

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
