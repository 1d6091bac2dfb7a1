package workflows

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
)

// Workflow and delivery IDs, built here only: a delivery's ID is the
// webhook-id receivers deduplicate on, so it must come out the same on every
// retry, replay and worker restart, and the Temporal UI's search by ID relies
// on these shapes.

// RunWebhookID is the workflow ID of the webhook of a run registered before
// runs shared workflows (RunWebhooks): one per run. Such workflows may still
// be running, and are signalled under it.
func RunWebhookID(runID uuid.UUID) string { return "run-webhook/" + runID.String() }

// RunWebhooksID is the workflow ID of the shared webhook workflow of runs
// registered together: derived from the set of runs, so a client retrying
// its request starts nothing new.
func RunWebhooksID(runIDs []uuid.UUID) string {
	sorted := slices.Clone(runIDs)
	slices.SortFunc(sorted, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	for _, id := range sorted {
		h.Write(id[:])
	}
	return fmt.Sprintf("run-webhooks/%x", h.Sum(nil)[:16])
}

// RunWebhookDeliveryID is the webhook-id of a run's one POST.
func RunWebhookDeliveryID(runID uuid.UUID) string { return RunWebhookID(runID) + "/delivery" }

// BatchDeliveryID is the webhook-id of one batch of a DeliverRuns to one
// webhook of the rule.
func BatchDeliveryID(deliverRunsID string, batch int, webhook uint16) string {
	return fmt.Sprintf("%s/b%d/w%d", deliverRunsID, batch, webhook)
}

// pageID names what a tick hands one page of a window on to: kind is ""
// for the rule's own windows, "backfill-<id>" for a backfill's.
func pageID(rule uuid.UUID, kind string, upTo time.Time, page int) string {
	if kind == "" {
		return fmt.Sprintf("rule-%s/%s/p%d", rule, upTo.UTC().Format(time.RFC3339), page)
	}
	return fmt.Sprintf("rule-%s/%s/%s/p%d", rule, kind, upTo.UTC().Format(time.RFC3339), page)
}

// waitID is the feedback wait of a page.
func waitID(pageID string) string { return pageID + "/wait" }

// readyID is the DeliverRuns of the runs of a feedback wait that became
// ready together (or timed out, with feedback.on_timeout: deliver).
func readyID(waitID string, round, n int) string { return fmt.Sprintf("%s/d%d-%d", waitID, round, n) }

// claimOwner names one page of a tick's window in rule_claims: a retried
// match with the same owner gets the same runs back.
func claimOwner(info *workflow.Info, after time.Time, page int) string {
	return activities.ClaimOwner(ownerPrefix(info), after, page)
}

func ownerPrefix(info *workflow.Info) string {
	return info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID
}
