package activities

import (
	"time"

	"github.com/google/uuid"
)

// Batch names runs of one rule and the window they were matched in, which
// the payload reads them from. The inputs that carry runs to delivery embed
// it; encoding/json flattens an anonymous embedded struct, so their JSON is
// the same as when each declared these four fields itself, and histories
// recorded before it replay.
type Batch struct {
	RuleID      uuid.UUID
	WindowStart time.Time
	WindowEnd   time.Time
	RunIDs      []uuid.UUID
}
