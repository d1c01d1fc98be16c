// Package memory implements the kernel's session, rate-limit and cache
// contracts in process memory: for the desktop, one-shot commands and a
// single server node without Redis. The contract tests in
// memory/conformance run against it and against core/redis.
package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/trovato/trovato/core"
)

// SessionStore keeps sessions in a map.
type SessionStore struct {
	mu       sync.Mutex
	sessions map[string][]byte // SessionKey(id) -> JSON
	timeouts core.SessionTimeouts
	now      func() time.Time
	ops      int
}

var _ core.SessionStore = (*SessionStore)(nil)

// NewSessionStore returns an empty store; zero timeouts mean
// core.DefaultSessionTimeouts.
func NewSessionStore(t core.SessionTimeouts) *SessionStore {
	if t.Idle == 0 {
		t.Idle = core.DefaultSessionTimeouts.Idle
	}
	if t.Absolute == 0 {
		t.Absolute = core.DefaultSessionTimeouts.Absolute
	}
	return &SessionStore{sessions: map[string][]byte{}, timeouts: t, now: time.Now}
}

// GetSession implements core.SessionStore.
func (m *SessionStore) GetSession(_ context.Context, id string) (*core.Session, error) {
	if !core.ValidSessionID(id) {
		return nil, core.Errorf(core.ENotFound, "no such session")
	}
	key := core.SessionKey(id)
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	raw, ok := m.sessions[key]
	if !ok {
		return nil, core.Errorf(core.ENotFound, "no such session")
	}
	s := &core.Session{}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	s.ID = id
	if s.Expired(now, m.timeouts) {
		delete(m.sessions, key)
		return nil, core.Errorf(core.ENotFound, "no such session")
	}
	if now.Sub(s.LastSeen) >= core.SessionTouchInterval {
		s.LastSeen = now
		if err := m.put(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SaveSession implements core.SessionStore.
func (m *SessionStore) SaveSession(_ context.Context, s *core.Session) error {
	now := m.now()
	if s.ID == "" {
		core.PrepareNewSession(s, now)
	} else if !core.ValidSessionID(s.ID) {
		return core.Errorf(core.EInvalid, "malformed session id")
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	if s.LastSeen.IsZero() {
		s.LastSeen = now
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	return m.put(s)
}

func (m *SessionStore) put(s *core.Session) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	m.sessions[core.SessionKey(s.ID)] = raw
	return nil
}

// sweep drops expired sessions every 1000 writes.
func (m *SessionStore) sweep(now time.Time) {
	m.ops++
	if m.ops%1000 != 0 {
		return
	}
	for k, raw := range m.sessions {
		var s core.Session
		if json.Unmarshal(raw, &s) != nil || s.Expired(now, m.timeouts) {
			delete(m.sessions, k)
		}
	}
}

// DeleteSession implements core.SessionStore.
func (m *SessionStore) DeleteSession(_ context.Context, id string) error {
	if !core.ValidSessionID(id) {
		return nil
	}
	m.mu.Lock()
	delete(m.sessions, core.SessionKey(id))
	m.mu.Unlock()
	return nil
}

// RotateSession implements core.SessionStore.
func (m *SessionStore) RotateSession(_ context.Context, s *core.Session) error {
	if !core.ValidSessionID(s.ID) {
		return core.Errorf(core.ENotFound, "no such session")
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	old := core.SessionKey(s.ID)
	if _, ok := m.sessions[old]; !ok {
		return core.Errorf(core.ENotFound, "no such session")
	}
	delete(m.sessions, old)
	s.ID = core.NewSessionID()
	s.CSRFSecret = core.NewCSRFSecret()
	s.LastSeen = now
	return m.put(s)
}

// DeleteUserSessions implements core.SessionStore.
func (m *SessionStore) DeleteUserSessions(_ context.Context, user core.ID) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, raw := range m.sessions {
		var s core.Session
		if json.Unmarshal(raw, &s) == nil && s.UserID == user {
			delete(m.sessions, k)
			n++
		}
	}
	return n, nil
}

// RateLimiter keeps a sliding log of event times per key.
type RateLimiter struct {
	mu   sync.Mutex
	logs map[string]*eventLog
	now  func() time.Time
	ops  int
}

type eventLog struct {
	times  []time.Time
	window time.Duration
}

var _ core.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns an empty limiter.
func NewRateLimiter() *RateLimiter {
	return &RateLimiter{logs: map[string]*eventLog{}, now: time.Now}
}

// Allow implements core.RateLimiter.
func (l *RateLimiter) Allow(_ context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if err := core.CheckRateLimit(key, limit, window); err != nil {
		return false, 0, err
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	ev := l.logs[key]
	if ev == nil {
		ev = &eventLog{}
		l.logs[key] = ev
	}
	ev.window = window
	start := now.Add(-window)
	i := sort.Search(len(ev.times), func(i int) bool { return ev.times[i].After(start) })
	ev.times = ev.times[i:]
	if len(ev.times) >= limit {
		retry := ev.times[len(ev.times)-limit].Sub(start)
		if retry <= 0 {
			retry = time.Millisecond
		}
		return false, retry, nil
	}
	ev.times = append(ev.times, now)
	return true, 0, nil
}

// sweep drops idle keys every 10000 calls.
func (l *RateLimiter) sweep(now time.Time) {
	l.ops++
	if l.ops%10000 != 0 {
		return
	}
	for k, ev := range l.logs {
		if len(ev.times) == 0 || now.Sub(ev.times[len(ev.times)-1]) > ev.window {
			delete(l.logs, k)
		}
	}
}

// Cache is a map with expiry, bounded by a number of entries.
type Cache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
	max     int
	now     func() time.Time
}

type cacheEntry struct {
	value   []byte
	expires time.Time // zero: never
}

var _ core.Cache = (*Cache)(nil)

// NewCache returns a cache holding at most maxEntries (0 means 10000);
// when full, expired entries go first, then arbitrary ones.
func NewCache(maxEntries int) *Cache {
	if maxEntries <= 0 {
		maxEntries = 10000
	}
	return &Cache{entries: map[string]cacheEntry{}, max: maxEntries, now: time.Now}
}

// GetCache implements core.Cache.
func (c *Cache) GetCache(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil, false, nil
	}
	if !e.expires.IsZero() && !c.now().Before(e.expires) {
		delete(c.entries, key)
		return nil, false, nil
	}
	return append([]byte(nil), e.value...), true, nil
}

// SetCache implements core.Cache.
func (c *Cache) SetCache(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return core.Errorf(core.EInvalid, "cache ttl must not be negative")
	}
	now := c.now()
	e := cacheEntry{value: append([]byte(nil), value...)}
	if ttl > 0 {
		e.expires = now.Add(ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.entries[key]; !exists && len(c.entries) >= c.max {
		for k, old := range c.entries {
			if !old.expires.IsZero() && !now.Before(old.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, k)
		}
	}
	c.entries[key] = e
	return nil
}

// DeleteCache implements core.Cache.
func (c *Cache) DeleteCache(_ context.Context, key string) error {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
	return nil
}
