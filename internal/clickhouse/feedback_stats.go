package clickhouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// latestFeedbackSQL is the newest version of each feedback row on a set of
// runs (as feedbackForRunsSQL), with its value classified: a value that is a
// JSON string is a category, unescaped by visitParamExtractString (18.16 has
// no JSON* functions) after wrapping it in an object.
const latestFeedbackSQL = `SELECT run_id, key, score, comment, created_at,
        ifNull(value, '') LIKE '"%' AS is_category,
        visitParamExtractString(concat('{"v":', ifNull(value, ''), '}'), 'v') AS category
    FROM feedback
    WHERE ` + feedbackByRuns + `
    ORDER BY run_id, id, modified_at DESC, inserted_at DESC
    LIMIT 1 BY run_id, id`

// Categories are counted by grouping twice: first by category within each
// group, then by group. 18.16's sumMap takes no String keys, so the counts
// cannot come from one level. Score statistics span the categories, so the
// first level keeps them as aggregate states and the second merges them;
// avg and stddevPop states lose Nullable on 18.16 (NaN for no scores), hence
// the explicit NULL when nothing was scored. Comments are sorted by the
// feedback's created_at (then text), so the order does not depend on how the
// server happened to read the parts.
const (
	statsPartialColumns = `is_category, category,
        count() AS n_rows,
        count(score) AS n_scored,
        avgState(score) AS avg_state,
        stddevPopState(score) AS stdev_state,
        min(score) AS min_score,
        max(score) AS max_score,
        groupArrayIf((created_at, assumeNotNull(comment)), notEmpty(ifNull(comment, ''))) AS dated_comments`
	statsColumns = `sum(n_rows) AS n,
    if(sum(n_scored) = 0, NULL, avgMerge(avg_state)) AS score_avg,
    if(sum(n_scored) = 0, NULL, stddevPopMerge(stdev_state)) AS score_stdev,
    min(min_score) AS score_min,
    max(max_score) AS score_max,
    groupArrayIf(category, is_category) AS value_names,
    groupArrayIf(n_rows, is_category) AS value_counts,
    arrayMap(c -> c.2, arraySort(groupArrayArray(dated_comments))) AS comments`
)

// feedbackStatsByRunSQL is feedback_stats per run and key over the current
// feedback of a set of runs. Runs without feedback have no rows.
const feedbackStatsByRunSQL = `SELECT run_id, key, ` + statsColumns + `
FROM
(
    SELECT run_id, key, ` + statsPartialColumns + `
    FROM (` + latestFeedbackSQL + `)
    GROUP BY run_id, key, is_category, category
)
GROUP BY run_id, key
ORDER BY run_id, key`

// feedbackStatsBatchSQL is feedback_stats per key over the current feedback
// of a set of runs taken together: the payload's top-level feedback_stats.
const feedbackStatsBatchSQL = `SELECT key, ` + statsColumns + `
FROM
(
    SELECT key, ` + statsPartialColumns + `
    FROM (` + latestFeedbackSQL + `)
    GROUP BY key, is_category, category
)
GROUP BY key
ORDER BY key`

// runsWithFeedbackSQL says which of a set of runs have any feedback, from
// feedback_keys alone.
const runsWithFeedbackSQL = `SELECT DISTINCT run_id FROM feedback_keys WHERE run_id IN ?`

// runsWithFeedback is the read FeedbackStats' callers share (readers).
func (s *Store) runsWithFeedback(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]struct{}, error) {
	with, err := s.queryIDs(ctx, "feedback stats", runsWithFeedbackSQL, uuidSet(ids))
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]struct{}, len(with))
	for _, id := range with {
		out[id] = struct{}{}
	}
	return out, nil
}

// FeedbackStats computes feedback_stats over the current version of the
// feedback on runIDs: perRun for each run that has feedback (runs without any
// are absent), batch for all of them together (nil when there is none).
//
// It first asks which runs have feedback at all, a key read far cheaper for
// ClickHouse than the stats queries it then spares: none when no run has
// feedback (most payloads), the batch query when one run has (the batch is
// that run: the same feedback rows, the same aggregates).
func (s *Store) FeedbackStats(ctx context.Context, runIDs []uuid.UUID) (perRun map[uuid.UUID]runs.FeedbackStats, batch runs.FeedbackStats, err error) {
	perRun = map[uuid.UUID]runs.FeedbackStats{}
	if len(runIDs) == 0 {
		return perRun, nil, nil
	}
	found, err := s.r.withFeedback.Read(ctx, runIDs)
	if err != nil || len(found) == 0 {
		return perRun, nil, err
	}
	with := make([]uuid.UUID, 0, len(found))
	for id := range found {
		with = append(with, id)
	}
	err = s.queryStats(ctx, feedbackStatsByRunSQL, with, true, func(run uuid.UUID, key string, ks runs.KeyStats) {
		if perRun[run] == nil {
			perRun[run] = runs.FeedbackStats{}
		}
		perRun[run][key] = ks
	})
	if err != nil {
		return nil, nil, err
	}
	if len(with) == 1 {
		return perRun, perRun[with[0]], nil
	}
	err = s.queryStats(ctx, feedbackStatsBatchSQL, with, false, func(_ uuid.UUID, key string, ks runs.KeyStats) {
		if batch == nil {
			batch = runs.FeedbackStats{}
		}
		batch[key] = ks
	})
	if err != nil {
		return nil, nil, err
	}
	return perRun, batch, nil
}

// queryStats reads the rows of feedbackStatsByRunSQL (byRun) or
// feedbackStatsBatchSQL, which differ only in the leading run_id.
func (s *Store) queryStats(ctx context.Context, query string, runIDs []uuid.UUID, byRun bool, add func(uuid.UUID, string, runs.KeyStats)) error {
	return s.scan(ctx, "feedback stats", query, []any{uuidSet(runIDs)}, func(rows driver.Rows) error {
		var (
			run    uuid.UUID
			key    string
			ks     runs.KeyStats
			names  []string
			counts []uint64
		)
		dst := []any{&key, &ks.N, &ks.Avg, &ks.Stdev, &ks.Min, &ks.Max, &names, &counts, &ks.Comments}
		if byRun {
			dst = append([]any{&run}, dst...)
		}
		if err := rows.Scan(dst...); err != nil {
			return err
		}
		if len(names) != len(counts) {
			return fmt.Errorf("key %q: %d categories with %d counts", key, len(names), len(counts))
		}
		ks.Values = make(map[string]uint64, len(names))
		for i, name := range names {
			ks.Values[name] = counts[i]
		}
		add(run, key, ks)
		return nil
	})
}
