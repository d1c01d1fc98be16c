package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/trovato/trovato/core"
)

// Feed reads the change feed.
type Feed struct{ s *Store }

var _ core.ChangeFeed = (*Feed)(nil)

// Feed returns the change feed reader.
func (s *Store) Feed() *Feed { return &Feed{s} }

// ReadChanges implements core.ChangeFeed. The cursor is a transaction id:
// rows of transactions below pg_snapshot_xmin of the reading statement's
// snapshot are final (committed or rolled back), so reading [cur, xmin)
// and moving the cursor to xmin never skips a row.
func (f *Feed) ReadChanges(ctx context.Context, cur core.FeedCursor, limit int) ([]core.Change, core.FeedCursor, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, err := f.s.pool.Query(ctx, `
		WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
		SELECT c.seq, c.xid::text::bigint, c.kind, c.entity_id, c.stage_id, c.revision_id, c.release_id, c.op, c.at, snap.xmin::text::bigint
		FROM snap LEFT JOIN change_feed c ON c.xid >= $1::text::xid8 AND c.xid < snap.xmin
		ORDER BY c.xid, c.seq
		LIMIT $2`, fmt.Sprint(uint64(cur)), limit+1)
	if err != nil {
		return nil, cur, fmt.Errorf("read change feed: %w", TranslateError(err))
	}
	defer rows.Close()
	var (
		out  []core.Change
		xmin int64
	)
	for rows.Next() {
		var (
			seq, xid            pgtype.Int8
			kind, entity, op    pgtype.Text
			stage, rev, release *core.ID
			at                  pgtype.Timestamptz
		)
		if err := rows.Scan(&seq, &xid, &kind, &entity, &stage, &rev, &release, &op, &at, &xmin); err != nil {
			return nil, cur, fmt.Errorf("read change feed: %w", err)
		}
		if !seq.Valid {
			continue // no rows: the LEFT JOIN still yields xmin
		}
		out = append(out, core.Change{Seq: seq.Int64, XID: uint64(xid.Int64), Kind: kind.String, EntityID: entity.String,
			StageID: stage, RevisionID: rev, ReleaseID: release, Op: op.String, At: at.Time})
	}
	if err := rows.Err(); err != nil {
		return nil, cur, fmt.Errorf("read change feed: %w", err)
	}
	next := core.FeedCursor(xmin)
	if len(out) > limit {
		// More rows than asked for: resume at the first unread transaction.
		// Rows of that transaction already returned are returned again, so
		// cut them off to return whole transactions only.
		last := out[limit].XID
		out = out[:limit]
		for len(out) > 0 && out[len(out)-1].XID == last {
			out = out[:len(out)-1]
		}
		if len(out) == 0 {
			return nil, cur, fmt.Errorf("read change feed: one transaction has more than %d changes; read with a larger limit", limit)
		}
		next = core.FeedCursor(last)
	}
	if next < cur {
		next = cur
	}
	return out, next, nil
}

// WaitSettled waits, at most max, until every transaction of the cluster
// that had started when it was called has ended, so a following
// ReadChanges returns every change committed before the call (a client
// that wrote and then reads the feed sees its write). Transaction ids are
// cluster-wide: a long transaction anywhere holds the feed back, so the
// wait is bounded and its end is no error: the feed then lags until that
// transaction ends, as it always may.
func (f *Feed) WaitSettled(ctx context.Context, max time.Duration) error {
	var horizon int64
	if err := f.s.pool.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&horizon); err != nil {
		return fmt.Errorf("feed horizon: %w", TranslateError(err))
	}
	deadline := time.Now().Add(max)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		head, err := f.FeedHead(ctx)
		if err != nil {
			return err
		}
		if int64(head) >= horizon || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// FeedHead implements core.ChangeFeed.
func (f *Feed) FeedHead(ctx context.Context) (core.FeedCursor, error) {
	var xmin int64
	err := f.s.pool.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&xmin)
	if err != nil {
		return 0, fmt.Errorf("feed head: %w", TranslateError(err))
	}
	return core.FeedCursor(xmin), nil
}
