package clickhouse

import (
	"context"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/filter"
	"github.com/runhook/runhook/internal/runs"
)

const runColumns = `id, trace_id, session_id, tenant_id, parent_run_id, reference_example_id,
    name, run_type, status, is_root, dotted_order,
    start_time, end_time, modified_at, first_token_time, last_queued_at,
    parent_run_ids, child_run_ids, direct_child_run_ids,
    total_tokens, prompt_tokens, completion_tokens, total_cost, prompt_cost, completion_cost,
    app_path, in_dataset, tags, error, inputs, outputs, inputs_s3_urls, outputs_s3_urls,
    extra, events, feedback_stats, serialized, share_token`

// pairColumns are derived at ingest (filter.Flatten) for the filter language.
const pairColumns = `metadata_keys, metadata_values, input_keys, input_values, output_keys, output_values`

// sizeColumns are runs.Size, derived at ingest for delivery plans.
const sizeColumns = `size_base, size_inputs, size_inputs_inline, size_outputs, size_outputs_inline`

// insertRunsSQL names its columns: 18.16 needs the list for batches, and
// inserted_at is left to the server.
const insertRunsSQL = `INSERT INTO runs (` + runColumns + `, ` + pairColumns + `, ` + sizeColumns + `)`

// runsByIDs restricts a read of runs to a set of ids (the placeholder) on
// the days run_keys holds for them: runs are sorted by (day, id), and
// without the days an id would be looked for in every day's parts.
const runsByIDs = `(toDate(inserted_at), id) IN (SELECT day, id FROM run_keys WHERE id IN ?)`

// runByID is runsByIDs for one id.
const runByID = `(toDate(inserted_at), id) IN (SELECT day, id FROM run_keys WHERE id = ?)`

// latestRunsSQL reads the newest version of each of a set of runs, by the sort key.
const latestRunsSQL = `SELECT ` + runColumns + `, inserted_at
FROM runs
WHERE ` + runsByIDs + `
ORDER BY id, modified_at DESC, inserted_at DESC
LIMIT 1 BY id`

// runSizesSQL reads the stored size of the newest version of each of a set
// of runs, by the sort key, without their documents.
const runSizesSQL = `SELECT id, ` + sizeColumns + `
FROM runs
WHERE ` + runsByIDs + `
ORDER BY id, modified_at DESC, inserted_at DESC
LIMIT 1 BY id`

// storedRunIDsSQL finds which of some ids are stored from run_keys alone:
// two small columns in granules of 256, instead of the runs themselves.
const storedRunIDsSQL = `SELECT DISTINCT id FROM run_keys WHERE id IN ?`

// completedArrivalsSQL is the rule window: ids of runs of one project written
// in a completed state with server time in (after, upTo]. A range of
// run_arrivals' sort key (session_id, inserted_at, id).
const completedArrivalsSQL = `SELECT DISTINCT id
FROM run_arrivals
WHERE session_id = ? AND inserted_at > toDateTime(?) AND inserted_at <= toDateTime(?) AND completed = 1
ORDER BY id`

// countRunsSQL counts distinct runs (not versions).
const countRunsSQL = `SELECT uniqExact(id) FROM runs`

// InsertRuns writes runs in batches of the configured size. Each row is a new
// version; reads return the newest per id.
func (s *Store) InsertRuns(ctx context.Context, rs []runs.Run) error {
	err := s.insertRows(ctx, insertRunsSQL, len(rs), func(i int) ([]any, error) {
		r := rs[i]
		tags, parents := r.Lists()
		mk, mv := filter.Metadata(r.Extra)
		ik, iv := filter.Flatten(r.Inputs)
		ok, ov := filter.Flatten(r.Outputs)
		size, err := runs.SizeOf(r)
		if err != nil {
			return nil, err
		}
		return []any{
			r.ID, r.TraceID, r.SessionID, r.TenantID, r.ParentRunID, r.ReferenceExampleID,
			r.Name, r.RunType, r.Status, boolByte(r.IsRoot), r.DottedOrder,
			runs.Micros(r.StartTime), microsPtr(r.EndTime), runs.Micros(r.ModifiedAt),
			microsPtr(r.FirstTokenTime), microsPtr(r.LastQueuedAt),
			parents, rawPtr(r.ChildRunIDs), rawPtr(r.DirectChildRunIDs),
			r.TotalTokens, r.PromptTokens, r.CompletionTokens, r.TotalCost, r.PromptCost, r.CompletionCost,
			r.AppPath, boolByte(r.InDataset), tags, r.Error,
			rawPtr(r.Inputs), rawPtr(r.Outputs), rawPtr(r.InputsS3URLs), rawPtr(r.OutputsS3URLs),
			rawPtr(r.Extra), rawPtr(r.Events), rawPtr(r.FeedbackStats), rawPtr(r.Serialized), r.ShareToken,
			mk, mv, ik, iv, ok, ov,
			size.Base, size.Inputs, size.InputsInline, size.Outputs, size.OutputsInline,
		}, nil
	})
	if err != nil {
		return fmt.Errorf("insert runs: %w", err)
	}
	return nil
}

// pointRead marks a read of a few rows by id. Each id touches a compressed
// block of every column, at least 64 KiB each, and decompressing those is
// most of such a read's cost (measured in bench/RESULTS.md). The runs read
// are the recent ones, read again by each webhook and batch of their window,
// so the server's cache of decompressed blocks serves most of them.
func pointRead(ctx context.Context) context.Context {
	return ch.Context(ctx, ch.WithSettings(ch.Settings{"use_uncompressed_cache": 1}))
}

// LatestRuns reads the newest version of each run in ids, in the order of
// ids; unknown ids are absent from the result. Concurrent calls share one
// read (readers).
func (s *Store) LatestRuns(ctx context.Context, ids []uuid.UUID) ([]runs.Run, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	got, err := s.r.runs.Read(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]runs.Run, 0, len(got))
	for _, id := range ids {
		if r, ok := got[id]; ok {
			out = append(out, r)
			delete(got, id) // an id listed twice is returned once
		}
	}
	return out, nil
}

// latestRuns is the read LatestRuns' callers share.
func (s *Store) latestRuns(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]runs.Run, error) {
	out := make(map[uuid.UUID]runs.Run, len(ids))
	err := s.scan(pointRead(ctx), "read runs", latestRunsSQL, []any{uuidSet(ids)}, func(rows driver.Rows) error {
		var (
			r                                           runs.Run
			isRoot, inDataset                           uint8
			start, modified                             uint64
			end, firstToken, lastQueued                 *uint64
			childIDs, directChildIDs                    *string
			inputs, outputs, inS3, outS3, extra, events *string
			feedbackStats, serialized                   *string
		)
		if err := rows.Scan(
			&r.ID, &r.TraceID, &r.SessionID, &r.TenantID, &r.ParentRunID, &r.ReferenceExampleID,
			&r.Name, &r.RunType, &r.Status, &isRoot, &r.DottedOrder,
			&start, &end, &modified, &firstToken, &lastQueued,
			&r.ParentRunIDs, &childIDs, &directChildIDs,
			&r.TotalTokens, &r.PromptTokens, &r.CompletionTokens, &r.TotalCost, &r.PromptCost, &r.CompletionCost,
			&r.AppPath, &inDataset, &r.Tags, &r.Error, &inputs, &outputs, &inS3, &outS3,
			&extra, &events, &feedbackStats, &serialized, &r.ShareToken, &r.InsertedAt,
		); err != nil {
			return err
		}
		r.IsRoot, r.InDataset = isRoot == 1, inDataset == 1
		r.StartTime, r.EndTime, r.ModifiedAt = runs.FromMicros(start), timePtr(end), runs.FromMicros(modified)
		r.FirstTokenTime, r.LastQueuedAt = timePtr(firstToken), timePtr(lastQueued)
		r.ChildRunIDs, r.DirectChildRunIDs = rawFrom(childIDs), rawFrom(directChildIDs)
		r.Inputs, r.Outputs, r.InputsS3URLs, r.OutputsS3URLs = rawFrom(inputs), rawFrom(outputs), rawFrom(inS3), rawFrom(outS3)
		r.Extra, r.Events, r.FeedbackStats, r.Serialized = rawFrom(extra), rawFrom(events), rawFrom(feedbackStats), rawFrom(serialized)
		r.InsertedAt = r.InsertedAt.UTC()
		out[r.ID] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RunSizes reads the stored size of the newest version of each run in ids;
// unknown ids are absent, and versions written before sizes were have a zero
// size (runs.Size.Known).
func (s *Store) RunSizes(ctx context.Context, ids []uuid.UUID) ([]runs.Size, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return scanAll(pointRead(ctx), s, "read run sizes", runSizesSQL, []any{uuidSet(ids)}, func(rows driver.Rows, z *runs.Size) error {
		return rows.Scan(&z.ID, &z.Base, &z.Inputs, &z.InputsInline, &z.Outputs, &z.OutputsInline)
	})
}

// StoredRunIDs returns those of ids that have a stored version, in no order.
func (s *Store) StoredRunIDs(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.queryIDs(ctx, "find stored runs", storedRunIDsSQL, uuidSet(ids))
}

// CompletedArrivals returns the ids of runs of project session that were
// written in a completed state with server insertion time in (after, upTo].
// Server time has whole-second resolution.
func (s *Store) CompletedArrivals(ctx context.Context, session uuid.UUID, after, upTo time.Time) ([]uuid.UUID, error) {
	return s.queryIDs(ctx, "read run window", completedArrivalsSQL, session, uint32(after.Unix()), uint32(upTo.Unix()))
}

// CountRuns counts distinct runs stored.
func (s *Store) CountRuns(ctx context.Context) (uint64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, countRunsSQL).Scan(&n); err != nil {
		return 0, fmt.Errorf("count runs: %w", err)
	}
	return n, nil
}
