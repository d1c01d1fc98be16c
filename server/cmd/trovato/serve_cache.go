package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/server"
)

// RedisIDKey holds a random id a Redis is known by: the first node to
// start on it sets it (SETNX); nodes compare it through the node registry.
const RedisIDKey = "trovato:redis-id"

// redisClient is the Redis client serve hands to caching (nil: none).
type redisClient = goredis.UniversalClient

// heartbeat is how often a node refreshes its registry row.
const heartbeat = 10 * time.Second

// redisID returns the id of the Redis behind c, making one if it has none.
func redisID(ctx context.Context, c goredis.UniversalClient) (string, error) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	if err := c.SetNX(ctx, RedisIDKey, hex.EncodeToString(b), 0).Err(); err != nil {
		return "", fmt.Errorf("redis id: %w", err)
	}
	id, err := c.Get(ctx, RedisIDKey).Result()
	if err != nil {
		return "", fmt.Errorf("redis id: %w", err)
	}
	return id, nil
}

// caching sets up the page cache of a serve node and what keeps it
// honest: the writing node bumps the tags of its own commits at once, the
// invalidator tails the change feed for everyone else's (every interval),
// and the node registers itself so a node on another Redis refuses to
// start. Page dependencies are recorded in PostgreSQL (core.PageDeps).
// c is nil without Redis. stop unregisters and stops.
func caching(ctx context.Context, k *kernel.Kernel, c goredis.UniversalClient, prefix, addr string, interval time.Duration,
	opts *server.Options, log *slog.Logger) (stop func(), err error) {
	rid := ""
	var tc core.TagCache
	var local *redis.LocalTier
	if c != nil {
		if rid, err = redisID(ctx, c); err != nil {
			return nil, err
		}
		local = redis.NewLocalTier(ctx, redis.NewTagCache(c, prefix), 10000)
		tc = local
	} else {
		tc = memory.NewTagCache(10000)
	}
	host, _ := os.Hostname()
	node := &postgres.Node{Hostname: host, PID: os.Getpid(), Addr: addr, RedisID: rid}
	if err := k.Store.RegisterNode(ctx, node); err != nil {
		if local != nil {
			local.Close()
		}
		return nil, fmt.Errorf("refusing to start: %s", core.ErrorMessage(err))
	}
	opts.PageCache = tc
	// Page dependencies go to PostgreSQL in batches, off the request path,
	// where the static export and any node find them after a restart.
	deps := postgres.NewPageDeps(k.Store, log.With("component", "page_deps"))
	opts.PageDeps = deps
	k.Store.OnCommit(func(changes []core.Change) {
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		// Item deltas make the listing tags precise (unreadable: every
		// listing is bumped).
		tags, err := core.TagsForChanges(bctx, changes, k.Store)
		if err != nil {
			log.Warn("cache: item deltas unreadable; every listing invalidated", "err", err)
		}
		if len(tags) == 0 {
			return
		}
		if err := tc.BumpTags(bctx, tags...); err != nil {
			log.Warn("cache: bumping tags after commit failed; the invalidator will", "err", err)
		}
	})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 3)
	inv := &kernel.Invalidator{Feed: k.Store.Feed(), Cache: tc, Interval: interval, Log: log.With("component", "invalidator"),
		Changed: k.SessionUsers.Apply}
	// Signed-in users are cached while their invalidation reaches this
	// node: Redis pub/sub from every node, or (one node, no Redis) its
	// own commits and the feed.
	if c != nil {
		go func() {
			defer func() { done <- struct{}{} }()
			k.SessionUsers.Follow(rctx, c, prefix, log.With("component", "session-users"))
		}()
	} else {
		k.SessionUsers.EnableLocal()
		done <- struct{}{}
	}
	go func() {
		defer func() { done <- struct{}{} }()
		if err := inv.Run(rctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("cache invalidator stopped", "err", err)
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if err := k.Store.NodeSeen(rctx, node.ID); err != nil && rctx.Err() == nil {
					log.Warn("node heartbeat failed", "err", err)
				}
			}
		}
	}()
	log.Info("node registered", "node", node.ID, "redis_id", rid, "invalidate_every", interval)
	return func() {
		cancel()
		<-done
		<-done
		<-done
		uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer ucancel()
		if err := deps.Close(uctx); err != nil {
			log.Warn("recording page dependencies at shutdown failed", "err", err)
		}
		if err := k.Store.UnregisterNode(uctx, node.ID); err != nil {
			log.Warn("unregistering the node failed", "err", err)
		}
		if local != nil {
			local.Close()
		}
	}, nil
}
