package clickhouse

import (
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/groupcommit"
	"github.com/runhook/runhook/internal/runs"
)

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
	runWrites    *groupcommit.Reader[uuid.UUID, []runs.Write]
}

// maxReadKeys bounds the ids of one shared read; a larger call is read whole.
const maxReadKeys = 2000

func (s *Store) newReaders() readers {
	o := groupcommit.Options{MaxRows: maxReadKeys}
	return readers{
		runs:         groupcommit.NewReader(s.latestRuns, o),
		withFeedback: groupcommit.NewReader(s.runsWithFeedback, o),
		runWebhooks:  groupcommit.NewReader(s.runWebhooksByRun, o),
		runWrites:    groupcommit.NewReader(s.runWrites, o),
	}
}
