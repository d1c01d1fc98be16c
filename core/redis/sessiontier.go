package redis

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trovato/trovato/core"
)

// DefaultSessionTrust is how long a SessionTier serves a session from its
// own copy before reading Redis again.
const DefaultSessionTrust = 5 * time.Second

// SessionTier keeps the sessions a node reads in process, in front of a
// SessionStore, so a signed-in request costs no Redis round trip. Every
// store announces its changes on the sessions channel (SessionStore), and
// the tier drops what they name; losing the subscription flushes the tier
// and it keeps nothing until it is back, so a missed message cannot keep a
// deleted session alive. As defence in depth a copy is trusted for at most
// the trust interval, then read again. Idle and absolute timeouts are
// checked on the copy; the idle "touch" (core.SessionTouchInterval) is
// written behind to Redis, off the request.
type SessionTier struct {
	next   *SessionStore
	max    int
	trust  time.Duration
	cancel context.CancelFunc
	done   chan struct{}
	touchq chan touchReq

	mu     sync.Mutex
	items  map[string]*tierEntry // by core.SessionKey
	byUser map[core.ID]map[string]struct{}
	on     bool   // subscribed
	gen    uint64 // bumped by every eviction: a read that raced one is not kept

	reads atomic.Uint64 // sessions read from Redis
}

type tierEntry struct {
	sess    core.Session
	raw     []byte // the stored form, for the touch's compare-and-set
	fetched time.Time
}

type touchReq struct {
	hash      string
	raw, next []byte
	ttl       time.Duration
}

var _ core.SessionStore = (*SessionTier)(nil)

// SessionTierOptions tune NewSessionTier.
type SessionTierOptions struct {
	// Max is how many sessions are kept (default 10,000); past it an
	// arbitrary one is dropped.
	Max int
	// Trust is how long a copy is served before Redis is read again
	// (default DefaultSessionTrust).
	Trust time.Duration
	// Log, when set, is told about a lost subscription and failed touches.
	Log *slog.Logger
}

// NewSessionTier returns a tier over next, subscribed to next's sessions
// channel until Close.
func NewSessionTier(ctx context.Context, next *SessionStore, o SessionTierOptions) *SessionTier {
	if o.Max <= 0 {
		o.Max = 10000
	}
	if o.Trust <= 0 {
		o.Trust = DefaultSessionTrust
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &SessionTier{next: next, max: o.Max, trust: o.Trust, cancel: cancel, done: make(chan struct{}),
		touchq: make(chan touchReq, 1024), items: map[string]*tierEntry{}, byUser: map[core.ID]map[string]struct{}{}}
	f := &Follower{Client: next.c, Channel: next.channel(), Subscribed: t.flush, Message: t.apply, Log: o.Log}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); f.Follow(ctx) }()
	go func() { defer wg.Done(); t.writeBehind(ctx, o.Log) }()
	go func() { wg.Wait(); close(t.done) }()
	return t
}

// Close stops the subscription and the touches and waits for them.
func (t *SessionTier) Close() {
	t.cancel()
	<-t.done
}

// Subscribed reports whether the tier keeps copies (its subscription is
// up).
func (t *SessionTier) Subscribed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.on
}

// Reads is how many sessions the tier has read from Redis.
func (t *SessionTier) Reads() uint64 { return t.reads.Load() }

// flush drops every copy; the tier keeps new ones while on.
func (t *SessionTier) flush(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.on = on
	t.clearLocked()
}

// clearLocked drops every copy (t.mu held).
func (t *SessionTier) clearLocked() {
	t.gen++
	clear(t.items)
	clear(t.byUser)
}

// apply drops what a message on the sessions channel names; a message it
// cannot read flushes the tier.
func (t *SessionTier) apply(payload string) {
	var ev sessionEvent
	if err := json.Unmarshal([]byte(payload), &ev); err != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.clearLocked()
		return
	}
	t.evict(ev.User, ev.Keys...)
}

// evict drops the sessions keyed hashes and every session of user (when
// not NilID).
func (t *SessionTier) evict(user core.ID, hashes ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	for _, h := range hashes {
		t.drop(h)
	}
	if user != core.NilID {
		for h := range t.byUser[user] {
			t.drop(h)
		}
	}
}

func (t *SessionTier) drop(hash string) {
	e, ok := t.items[hash]
	if !ok {
		return
	}
	delete(t.items, hash)
	if u := e.sess.UserID; u != core.NilID {
		delete(t.byUser[u], hash)
		if len(t.byUser[u]) == 0 {
			delete(t.byUser, u)
		}
	}
}

// GetSession implements core.SessionStore: the process's copy while it is
// trusted and the subscription is up, else Redis (whose answer is then
// kept).
func (t *SessionTier) GetSession(ctx context.Context, id string) (*core.Session, error) {
	if !core.ValidSessionID(id) {
		return nil, notFound()
	}
	hash := core.SessionKey(id)
	now := t.next.now()
	t.mu.Lock()
	if e, ok := t.items[hash]; ok && t.on && now.Sub(e.fetched) < t.trust && !e.sess.Expired(now, t.next.timeouts) {
		t.touchLocked(e, hash, now)
		s := e.sess
		t.mu.Unlock()
		s.CSRFSecret = slices.Clone(s.CSRFSecret)
		return &s, nil
	}
	gen, on := t.gen, t.on
	t.mu.Unlock()
	// A copy past its trust or timed out is read again: Redis decides
	// (another node may have touched it meanwhile).
	t.reads.Add(1)
	s, raw, err := t.next.read(ctx, id)
	if err != nil {
		return nil, err
	}
	e := &tierEntry{sess: *s, raw: raw, fetched: now}
	t.mu.Lock()
	t.touchLocked(e, hash, now)
	if on && t.on && t.gen == gen {
		if _, ok := t.items[hash]; !ok && len(t.items) >= t.max {
			for h := range t.items { // drop an arbitrary entry
				t.drop(h)
				break
			}
		}
		t.drop(hash)
		t.items[hash] = e
		if u := e.sess.UserID; u != core.NilID {
			if t.byUser[u] == nil {
				t.byUser[u] = map[string]struct{}{}
			}
			t.byUser[u][hash] = struct{}{}
		}
	}
	out := e.sess
	t.mu.Unlock()
	out.CSRFSecret = slices.Clone(out.CSRFSecret)
	return &out, nil
}

// touchLocked refreshes the copy's LastSeen when it is older than
// core.SessionTouchInterval and queues the write to Redis; when the queue
// is full the touch waits for a later request.
func (t *SessionTier) touchLocked(e *tierEntry, hash string, now time.Time) {
	if now.Sub(e.sess.LastSeen) < core.SessionTouchInterval {
		return
	}
	next, ttl, err := t.next.touched(&e.sess, now)
	if err != nil {
		return
	}
	select {
	case t.touchq <- touchReq{hash: hash, raw: e.raw, next: next, ttl: ttl}:
		e.sess.LastSeen, e.raw = now, next
	default:
	}
}

// writeBehind writes queued touches until ctx ends.
func (t *SessionTier) writeBehind(ctx context.Context, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-t.touchq:
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := t.next.touch(wctx, r.hash, r.raw, r.next, r.ttl)
			cancel()
			if err != nil && ctx.Err() == nil && log != nil {
				log.Warn("session touch failed; a later request retries", "err", err)
			}
		}
	}
}

// SaveSession implements core.SessionStore.
func (t *SessionTier) SaveSession(ctx context.Context, s *core.Session) error {
	existing := s.ID != ""
	err := t.next.SaveSession(ctx, s)
	if existing && core.ValidSessionID(s.ID) {
		t.evict(core.NilID, core.SessionKey(s.ID))
	}
	return err
}

// DeleteSession implements core.SessionStore.
func (t *SessionTier) DeleteSession(ctx context.Context, id string) error {
	err := t.next.DeleteSession(ctx, id)
	if core.ValidSessionID(id) {
		t.evict(core.NilID, core.SessionKey(id))
	}
	return err
}

// RotateSession implements core.SessionStore.
func (t *SessionTier) RotateSession(ctx context.Context, s *core.Session) error {
	old := s.ID
	err := t.next.RotateSession(ctx, s)
	if core.ValidSessionID(old) {
		t.evict(core.NilID, core.SessionKey(old))
	}
	return err
}

// DeleteUserSessions implements core.SessionStore.
func (t *SessionTier) DeleteUserSessions(ctx context.Context, user core.ID) (int, error) {
	n, err := t.next.DeleteUserSessions(ctx, user)
	t.evict(user)
	return n, err
}
