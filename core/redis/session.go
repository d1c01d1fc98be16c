package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
)

// SessionStore keeps sessions in Redis, shared by every node, under
// <prefix>sess:<SHA-256 of the id> with the session's remaining lifetime
// as the key's expiry. <prefix>usess:<user id> is the set of a user's
// session keys (for DeleteUserSessions); it may hold keys of sessions
// already gone. Every change to an existing session (save, rotate,
// delete, DeleteUserSessions) is announced on <prefix>sessions in the same
// transaction, for the in-process tiers of every node (SessionTier).
type SessionStore struct {
	c        goredis.UniversalClient
	prefix   string
	timeouts core.SessionTimeouts
	now      func() time.Time
}

var _ core.SessionStore = (*SessionStore)(nil)

// NewSessionStore returns a store on c; prefix separates sites (and
// tests) sharing a Redis. Zero timeouts mean core.DefaultSessionTimeouts.
func NewSessionStore(c goredis.UniversalClient, prefix string, t core.SessionTimeouts) *SessionStore {
	if t.Idle == 0 {
		t.Idle = core.DefaultSessionTimeouts.Idle
	}
	if t.Absolute == 0 {
		t.Absolute = core.DefaultSessionTimeouts.Absolute
	}
	return &SessionStore{c: c, prefix: prefix, timeouts: t, now: time.Now}
}

func (r *SessionStore) key(id string) string { return r.keyOf(core.SessionKey(id)) }

func (r *SessionStore) keyOf(hash string) string { return r.prefix + "sess:" + hash }

func (r *SessionStore) userKey(user core.ID) string { return r.prefix + "usess:" + user.String() }

// channel is where session changes are announced.
func (r *SessionStore) channel() string { return r.prefix + "sessions" }

// sessionEvent is a message on the sessions channel: the changed
// sessions' keys (SHA-256 of their ids, never the ids) and, for
// DeleteUserSessions, the user whose sessions all ended.
type sessionEvent struct {
	Keys []string `json:"k,omitempty"`
	User core.ID  `json:"u,omitzero"`
}

func (r *SessionStore) announce(ctx context.Context, pipe goredis.Pipeliner, ev sessionEvent) {
	b, _ := json.Marshal(ev)
	pipe.Publish(ctx, r.channel(), b)
}

func notFound() error { return core.Errorf(core.ENotFound, "no such session") }

// GetSession implements core.SessionStore.
func (r *SessionStore) GetSession(ctx context.Context, id string) (*core.Session, error) {
	s, raw, err := r.read(ctx, id)
	if err != nil {
		return nil, err
	}
	if now := r.now(); now.Sub(s.LastSeen) >= core.SessionTouchInterval {
		next, ttl, err := r.touched(s, now)
		if err != nil {
			return nil, err
		}
		if err := r.touch(ctx, core.SessionKey(id), raw, next, ttl); err != nil {
			return nil, err
		}
		s.LastSeen = now
	}
	return s, nil
}

// read returns the session with the id and its stored form, without
// touching it. An expired session is deleted.
func (r *SessionStore) read(ctx context.Context, id string) (*core.Session, []byte, error) {
	if !core.ValidSessionID(id) {
		return nil, nil, notFound()
	}
	raw, err := r.c.Get(ctx, r.key(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil, notFound()
	} else if err != nil {
		return nil, nil, unavailable("read session", err)
	}
	s := &core.Session{}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, nil, fmt.Errorf("decode session: %w", err)
	}
	s.ID = id
	if s.Expired(r.now(), r.timeouts) {
		if err := r.DeleteSession(ctx, id); err != nil {
			return nil, nil, err
		}
		return nil, nil, notFound()
	}
	return s, raw, nil
}

// touched is the stored form of s seen at now, and how long to keep it.
func (r *SessionStore) touched(s *core.Session, now time.Time) ([]byte, time.Duration, error) {
	t := *s
	t.LastSeen = now
	raw, err := json.Marshal(&t)
	if err != nil {
		return nil, 0, fmt.Errorf("encode session: %w", err)
	}
	return raw, t.TTL(now, r.timeouts), nil
}

// touchScript replaces a session's stored form with its touched form,
// and its expiry, only if the session is still what the reader read: a
// touch never resurrects a deleted session nor undoes a change made
// meanwhile (by another node: a new preview stage, a rotation).
var touchScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`)

// touch writes next over raw (the session keyed hash as it was read) with
// the expiry ttl. Losing the race to another change is not an error.
func (r *SessionStore) touch(ctx context.Context, hash string, raw, next []byte, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return nil
	}
	if err := touchScript.Run(ctx, r.c, []string{r.keyOf(hash)}, raw, next, ttl.Milliseconds()).Err(); err != nil {
		return unavailable("touch session", err)
	}
	return nil
}

// SaveSession implements core.SessionStore.
func (r *SessionStore) SaveSession(ctx context.Context, s *core.Session) error {
	now := r.now()
	existing := s.ID != ""
	if !existing {
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
	ttl := s.TTL(now, r.timeouts)
	if ttl <= 0 {
		return r.DeleteSession(ctx, s.ID)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	pipe := r.c.TxPipeline()
	pipe.Set(ctx, r.key(s.ID), raw, ttl)
	r.indexUser(ctx, pipe, s)
	if existing {
		r.announce(ctx, pipe, sessionEvent{Keys: []string{core.SessionKey(s.ID)}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable("write session", err)
	}
	return nil
}

// indexUser adds a signed-in session to its user's set, which lives as
// long as a session can.
func (r *SessionStore) indexUser(ctx context.Context, pipe goredis.Pipeliner, s *core.Session) {
	if s.UserID == core.NilID {
		return
	}
	pipe.SAdd(ctx, r.userKey(s.UserID), core.SessionKey(s.ID))
	pipe.PExpire(ctx, r.userKey(s.UserID), r.timeouts.Absolute)
}

// deleteUserScript deletes every session in a user's set, and the set,
// and announces it.
var deleteUserScript = goredis.NewScript(`
local m = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, k in ipairs(m) do n = n + redis.call('DEL', ARGV[1] .. k) end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return n
`)

// DeleteUserSessions implements core.SessionStore, atomically.
func (r *SessionStore) DeleteUserSessions(ctx context.Context, user core.ID) (int, error) {
	ev, _ := json.Marshal(sessionEvent{User: user})
	n, err := deleteUserScript.Run(ctx, r.c, []string{r.userKey(user)}, r.prefix+"sess:", r.channel(), ev).Int()
	if err != nil {
		return 0, unavailable("delete user sessions", err)
	}
	return n, nil
}

// DeleteSession implements core.SessionStore.
func (r *SessionStore) DeleteSession(ctx context.Context, id string) error {
	if !core.ValidSessionID(id) {
		return nil
	}
	pipe := r.c.TxPipeline()
	pipe.Del(ctx, r.key(id))
	r.announce(ctx, pipe, sessionEvent{Keys: []string{core.SessionKey(id)}})
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable("delete session", err)
	}
	return nil
}

// RotateSession implements core.SessionStore.
func (r *SessionStore) RotateSession(ctx context.Context, s *core.Session) error {
	if !core.ValidSessionID(s.ID) {
		return notFound()
	}
	old := r.key(s.ID)
	n, err := r.c.Exists(ctx, old).Result()
	if err != nil {
		return unavailable("rotate session", err)
	}
	if n == 0 {
		return notFound()
	}
	next := *s
	next.ID = core.NewSessionID()
	next.CSRFSecret = core.NewCSRFSecret()
	next.LastSeen = r.now()
	raw, err := json.Marshal(&next)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	ttl := next.TTL(r.now(), r.timeouts)
	if ttl <= 0 {
		if err := r.DeleteSession(ctx, s.ID); err != nil {
			return err
		}
		return notFound()
	}
	pipe := r.c.TxPipeline()
	pipe.Set(ctx, r.key(next.ID), raw, ttl)
	pipe.Del(ctx, old)
	if s.UserID != core.NilID {
		pipe.SRem(ctx, r.userKey(s.UserID), core.SessionKey(s.ID))
	}
	r.indexUser(ctx, pipe, &next)
	r.announce(ctx, pipe, sessionEvent{Keys: []string{core.SessionKey(s.ID)}})
	if _, err := pipe.Exec(ctx); err != nil {
		return unavailable("rotate session", err)
	}
	*s = next
	return nil
}

// unavailable wraps a Redis failure: the log shows the cause, callers see
// EUNAVAILABLE (a cancelled context stays a cancellation).
func unavailable(what string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %v: %w", what, err, core.Errorf(core.EUnavailable, "Redis is unavailable"))
}
