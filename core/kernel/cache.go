package kernel

import (
	"context"
	"log/slog"
	"time"

	"github.com/trovato/trovato/core"
)

// Invalidator keeps a node's caches honest: it tails the change feed and
// bumps the cache tags of every change it has not applied yet, so an edit
// made by any process — another node, the CLI, a desktop push — reaches
// every node within one poll interval. (The writing node also bumps right
// after its own commits; bumping twice is harmless.)
type Invalidator struct {
	Feed     core.ChangeFeed
	Cache    core.TagCache
	Interval time.Duration
	Log      *slog.Logger
	// Applied, when set, is told how many changes each poll applied.
	Applied func(n int)
}

// Run polls until ctx ends. It starts at the feed's head: caches built
// before the node started were built from state the feed had already
// reached.
func (inv *Invalidator) Run(ctx context.Context) error {
	interval := inv.Interval
	if interval <= 0 {
		interval = time.Second
	}
	cur, err := inv.Feed.FeedHead(ctx)
	if err != nil {
		return err
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		next, n, err := inv.Poll(ctx, cur)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			inv.Log.Warn("cache invalidation: feed poll failed", "err", err)
			continue
		}
		cur = next
		if inv.Applied != nil {
			inv.Applied(n)
		}
	}
}

// Poll applies the changes after cur and returns the next cursor and how
// many changes it saw. The cursor only moves once the tags are bumped.
func (inv *Invalidator) Poll(ctx context.Context, cur core.FeedCursor) (core.FeedCursor, int, error) {
	total := 0
	for {
		changes, next, err := inv.Feed.ReadChanges(ctx, cur, 1000)
		if err != nil {
			return cur, total, err
		}
		var tags []string
		seen := map[string]bool{}
		for _, c := range changes {
			for _, tag := range core.TagsForChange(c) {
				if !seen[tag] {
					seen[tag] = true
					tags = append(tags, tag)
				}
			}
		}
		if err := inv.Cache.BumpTags(ctx, tags...); err != nil {
			return cur, total, err
		}
		total += len(changes)
		if next == cur || len(changes) < 1000 {
			return next, total, nil
		}
		cur = next
	}
}
