package postgres_test

import (
	"context"
	"testing"
	"time"
)

// TestFeedWaitSettled: a change committed while an older transaction is
// open is held back by the feed; WaitSettled waits for that transaction
// to end, so the next read has the change, and gives up after its bound
// when the transaction stays open.
func TestFeedWaitSettled(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ctx := context.Background()
	pool, feed := s.Pool(), s.Feed()
	cur, err := feed.FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	older, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer older.Rollback(ctx)
	if _, err := older.Exec(ctx, `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO change_feed (kind, entity_id, op) VALUES ('test', 'settle', 'create')`); err != nil {
		t.Fatal(err)
	}
	has := func() bool {
		t.Helper()
		ch, _, err := feed.ReadChanges(ctx, cur, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ch {
			if c.EntityID == "settle" {
				return true
			}
		}
		return false
	}
	if has() {
		t.Fatal("the feed handed out a change while an older transaction was open")
	}

	// Bounded: the older transaction stays open.
	start := time.Now()
	if err := feed.WaitSettled(ctx, 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("WaitSettled returned after %v with an older transaction open", d)
	}

	// Settled: the older transaction ends while WaitSettled waits.
	go func() {
		time.Sleep(100 * time.Millisecond)
		older.Commit(ctx)
	}()
	if err := feed.WaitSettled(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if !has() {
		t.Fatal("after WaitSettled the change is still not in the feed")
	}
}
