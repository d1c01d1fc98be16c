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
// already gone.
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

func (r *SessionStore) key(id string) string { return r.prefix + "sess:" + core.SessionKey(id) }

func (r *SessionStore) userKey(user core.ID) string { return r.prefix + "usess:" + user.String() }

func notFound() error { return core.Errorf(core.ENotFound, "no such session") }

// GetSession implements core.SessionStore.
func (r *SessionStore) GetSession(ctx context.Context, id string) (*core.Session, error) {
	if !core.ValidSessionID(id) {
		return nil, notFound()
	}
	raw, err := r.c.Get(ctx, r.key(id)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, notFound()
	} else if err != nil {
		return nil, unavailable("read session", err)
	}
	s := &core.Session{}
	if err := json.Unmarshal(raw, s); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	s.ID = id
	now := r.now()
	if s.Expired(now, r.timeouts) {
		_ = r.c.Del(ctx, r.key(id)).Err()
		return nil, notFound()
	}
	if now.Sub(s.LastSeen) >= core.SessionTouchInterval {
		s.LastSeen = now
		if err := r.put(ctx, s, true); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SaveSession implements core.SessionStore.
func (r *SessionStore) SaveSession(ctx context.Context, s *core.Session) error {
	now := r.now()
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
	return r.put(ctx, s, false)
}

// put writes s with its remaining lifetime; onlyExisting does not
// resurrect a session deleted meanwhile.
func (r *SessionStore) put(ctx context.Context, s *core.Session, onlyExisting bool) error {
	ttl := s.TTL(r.now(), r.timeouts)
	if ttl <= 0 {
		return r.DeleteSession(ctx, s.ID)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode session: %w", err)
	}
	if onlyExisting {
		err = r.c.SetArgs(ctx, r.key(s.ID), raw, goredis.SetArgs{Mode: "XX", TTL: ttl}).Err()
		if errors.Is(err, goredis.Nil) {
			return nil
		}
	} else {
		pipe := r.c.TxPipeline()
		pipe.Set(ctx, r.key(s.ID), raw, ttl)
		r.indexUser(ctx, pipe, s)
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
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

// deleteUserScript deletes every session in a user's set, and the set.
var deleteUserScript = goredis.NewScript(`
local m = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, k in ipairs(m) do n = n + redis.call('DEL', ARGV[1] .. k) end
redis.call('DEL', KEYS[1])
return n
`)

// DeleteUserSessions implements core.SessionStore, atomically.
func (r *SessionStore) DeleteUserSessions(ctx context.Context, user core.ID) (int, error) {
	n, err := deleteUserScript.Run(ctx, r.c, []string{r.userKey(user)}, r.prefix+"sess:").Int()
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
	if err := r.c.Del(ctx, r.key(id)).Err(); err != nil {
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
		_ = r.c.Del(ctx, old).Err()
		return notFound()
	}
	pipe := r.c.TxPipeline()
	pipe.Set(ctx, r.key(next.ID), raw, ttl)
	pipe.Del(ctx, old)
	if s.UserID != core.NilID {
		pipe.SRem(ctx, r.userKey(s.UserID), core.SessionKey(s.ID))
	}
	r.indexUser(ctx, pipe, &next)
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
