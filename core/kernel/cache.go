package kernel

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/redis"
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
	// Changed, when set, is told about the changes of each poll once
	// their tags are bumped (SessionUsers.Apply).
	Changed func([]core.Change)
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
		// A feed that reads item deltas makes the listing tags precise;
		// when it cannot, every listing is bumped.
		deltas, _ := inv.Feed.(core.ItemDeltas)
		tags, err := core.TagsForChanges(ctx, changes, deltas)
		if err != nil && inv.Log != nil {
			inv.Log.Warn("cache invalidation: item deltas unreadable; every listing invalidated", "err", err)
		}
		if err := inv.Cache.BumpTags(ctx, tags...); err != nil {
			return cur, total, err
		}
		if inv.Changed != nil && len(changes) > 0 {
			inv.Changed(changes)
		}
		total += len(changes)
		if next == cur || len(changes) < 1000 {
			return next, total, nil
		}
		cur = next
	}
}

// SessionUsers resolves a session's user and session epoch for every
// signed-in request from a per-process cache, so a cached page costs a
// signed-in visitor no database round trip. Entries are evicted at once
// by this process's own commits (OnCommit), by other nodes' commits
// through the tag cache's Redis invalidation channel (Follow), and by
// writers without Redis (the CLI) through the change feed within one poll
// of the Invalidator (Apply). Until Follow is subscribed (or EnableLocal
// is called by a process that is the only node) nothing is cached and
// every lookup reads PostgreSQL.
type SessionUsers struct {
	users interface {
		FindUserByID(ctx context.Context, id core.ID) (*core.User, error)
	}
	epochs interface {
		SessionEpoch(ctx context.Context, id core.ID) (int64, error)
	}
	max int

	mu  sync.Mutex
	m   map[core.ID]sessionUser
	on  bool
	gen uint64 // bumped by every eviction: a read that raced one is not kept
}

type sessionUser struct {
	user  *core.User
	epoch int64
}

// NewSessionUsers returns an empty cache of at most max users over the
// user store and the session epochs.
func NewSessionUsers(users interface {
	FindUserByID(ctx context.Context, id core.ID) (*core.User, error)
}, epochs interface {
	SessionEpoch(ctx context.Context, id core.ID) (int64, error)
}, max int) *SessionUsers {
	if max <= 0 {
		max = 10000
	}
	return &SessionUsers{users: users, epochs: epochs, max: max, m: map[core.ID]sessionUser{}}
}

// Lookup returns (a copy of) the user and its current session epoch.
//
// Errors: ENotFound when the user no longer exists; others from the store.
func (c *SessionUsers) Lookup(ctx context.Context, id core.ID) (*core.User, int64, error) {
	c.mu.Lock()
	e, ok := c.m[id]
	on, gen := c.on, c.gen
	c.mu.Unlock()
	if ok && on {
		u := *e.user
		u.Roles = slices.Clip(u.Roles) // an append by the caller copies
		return &u, e.epoch, nil
	}
	u, err := c.users.FindUserByID(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	epoch, err := c.epochs.SessionEpoch(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	if c.on && c.gen == gen {
		if len(c.m) >= c.max {
			for k := range c.m { // drop an arbitrary entry
				delete(c.m, k)
				break
			}
		}
		keep := *u
		keep.Roles = slices.Clone(u.Roles)
		c.m[id] = sessionUser{user: &keep, epoch: epoch}
	}
	c.mu.Unlock()
	return u, epoch, nil
}

// Resolve checks a session against its user: it returns the user (nil
// for an anonymous session, or a user who is no longer active) and
// whether the session is still valid. A session made under an earlier
// session epoch ("log out everywhere", a new password) or of a deleted
// user is not, and neither is a signed-in session without an epoch:
// every way of signing in records the user's epoch (which starts at 1),
// so an epoch of 0 is a session nobody signed in, and "log out
// everywhere" could not end it.
func (c *SessionUsers) Resolve(ctx context.Context, sess *core.Session) (*core.User, bool, error) {
	if sess.UserID == core.NilID {
		return nil, true, nil
	}
	u, epoch, err := c.Lookup(ctx, sess.UserID)
	switch {
	case core.ErrorCode(err) == core.ENotFound:
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case sess.Epoch != epoch:
		return nil, false, nil
	case u.Status != core.UserActive:
		return nil, true, nil
	}
	return u, true, nil
}

// Apply evicts what committed changes touch: a user change its user, a
// role change every user (role names and grants are part of each entry).
func (c *SessionUsers) Apply(changes []core.Change) {
	for _, ch := range changes {
		switch ch.Kind {
		case core.KindUser:
			if id, err := core.ParseID(ch.EntityID); err == nil {
				c.evict(&id)
			} else {
				c.evict(nil)
			}
		case core.KindRole:
			c.evict(nil)
		}
	}
}

// evictTags evicts what bumped cache tags name (core.TagsForChange).
func (c *SessionUsers) evictTags(tags []string) {
	for _, tag := range tags {
		kind, id, _ := strings.Cut(tag, ":")
		switch {
		case kind == core.KindRole:
			c.evict(nil)
		case kind == core.KindUser && id != "*":
			if uid, err := core.ParseID(id); err == nil {
				c.evict(&uid)
			} else {
				c.evict(nil)
			}
		}
	}
}

// evict drops one user (nil: everyone).
func (c *SessionUsers) evict(id *core.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if id == nil {
		clear(c.m)
		return
	}
	delete(c.m, *id)
}

// setOn turns caching on or off; turning it either way empties the cache.
func (c *SessionUsers) setOn(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = on
	c.gen++
	clear(c.m)
}

// Caching reports whether lookups are served from the cache (Follow is
// subscribed, or EnableLocal was called).
func (c *SessionUsers) Caching() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on
}

// EnableLocal turns caching on for a process that is the only node (no
// Redis): its own commits evict through OnCommit, the CLI's through the
// change feed (wire Invalidator.Changed to Apply).
func (c *SessionUsers) EnableLocal() { c.setOn(true) }

// InvalidationChannel is the Redis channel core/redis's TagCache announces
// bumped tags on, under a key prefix.
func InvalidationChannel(prefix string) string { return prefix + "invalidate" }

// Follow caches while subscribed to the tag cache's invalidation channel
// on Redis (every node's commits bump their tags there, the Invalidator
// bumps the CLI's), evicting the users the bumped tags name. Losing the
// subscription turns caching off until it is back (redis.Follower notices
// a reconnect that go-redis would hide). It returns when ctx ends.
func (c *SessionUsers) Follow(ctx context.Context, client goredis.UniversalClient, prefix string, log *slog.Logger) {
	f := &redis.Follower{Client: client, Channel: InvalidationChannel(prefix), Subscribed: c.setOn, Log: log,
		Message: func(payload string) {
			var tags []string
			if json.Unmarshal([]byte(payload), &tags) == nil {
				c.evictTags(tags)
			} else {
				c.evict(nil)
			}
		}}
	f.Follow(ctx)
}
