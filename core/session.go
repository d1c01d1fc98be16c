package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Session is one visitor's server-side state, found by an opaque random id
// that only the visitor's cookie carries. Stores keep it in Redis (or in
// process memory); losing it only signs the visitor out.
type Session struct {
	// ID is 43 characters of base64url (256 random bits). Stores index
	// sessions by a hash of it, so a leaked store does not leak cookies.
	ID string `json:"-"`
	// UserID is the signed-in user, or NilID.
	UserID ID `json:"user_id"`
	// CSRFSecret is 32 random bytes; forms carry a masked token made from
	// it (NewCSRFToken), so a token is bound to this session.
	CSRFSecret []byte `json:"csrf_secret"`
	// PreviewStageID, when not NilID, is the stage the visitor browses the
	// site in (a stage preview). Only users who may view the stage see it.
	PreviewStageID ID `json:"preview_stage_id"`
	// Epoch is the user's session epoch when the session signed in
	// (AccountService.SessionEpoch); once the user's epoch has moved on
	// ("log out everywhere", a new password) the session is over. 0 only
	// for an anonymous session: a signed-in session without its user's
	// epoch is never valid.
	Epoch     int64     `json:"epoch,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	LastSeen  time.Time `json:"last_seen"`
}

// SessionTimeouts bound a session's life: it ends after Idle without a
// request, and after Absolute in any case.
type SessionTimeouts struct {
	Idle     time.Duration
	Absolute time.Duration
}

// DefaultSessionTimeouts are 2 hours idle and 7 days absolute.
var DefaultSessionTimeouts = SessionTimeouts{Idle: 2 * time.Hour, Absolute: 7 * 24 * time.Hour}

// SessionTouchInterval is how stale LastSeen may get before a read writes
// it again (so that reads of a busy session do not write every time).
const SessionTouchInterval = time.Minute

// SessionStore keeps sessions. Implementations: core/redis (shared by
// every node) and core/memory (one process).
type SessionStore interface {
	// GetSession returns the session with the id. ENOTFOUND when there is
	// none, it timed out (idle or absolute), or id is malformed. It
	// refreshes LastSeen (and the idle deadline) when it is older than
	// SessionTouchInterval.
	GetSession(ctx context.Context, id string) (*Session, error)
	// SaveSession stores s. A session without an id is new: it gets a
	// fresh id, a CSRF secret when it has none, and CreatedAt.
	SaveSession(ctx context.Context, s *Session) error
	// DeleteSession removes the session; deleting a missing one is not an
	// error.
	DeleteSession(ctx context.Context, id string) error
	// RotateSession moves s to a new id and a new CSRF secret (on sign-in
	// and every privilege change) and deletes the old id; ENOTFOUND if s
	// no longer exists.
	RotateSession(ctx context.Context, s *Session) error
	// DeleteUserSessions ends every session of the user ("log out
	// everywhere", a blocked user, a changed password) and returns how
	// many there were.
	DeleteUserSessions(ctx context.Context, user ID) (int, error)
}

// RateLimiter counts events per key in a sliding window shared by every
// node that uses the same backend.
type RateLimiter interface {
	// Allow records one event for key and reports whether it is within
	// limit events per window. When it is not, the event is not recorded
	// and retryAfter says when the oldest counted event leaves the window.
	// EINVALID for a limit < 1 or a window < 1 ms.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// Cache keeps bytes that may be lost: a miss is never an error.
type Cache interface {
	// GetCache returns the value and true, or nil and false on a miss.
	GetCache(ctx context.Context, key string) ([]byte, bool, error)
	// SetCache stores value for ttl (0 means no expiry).
	SetCache(ctx context.Context, key string, value []byte, ttl time.Duration) error
	DeleteCache(ctx context.Context, key string) error
}

// sessionIDBytes is the entropy of a session id.
const sessionIDBytes = 32

// NewSessionID returns a new random session id (base64url, 43 characters).
func NewSessionID() string {
	var b [sessionIDBytes]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidSessionID reports whether id has the shape NewSessionID makes.
func ValidSessionID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(sessionIDBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// SessionKey is the hex SHA-256 of a session id: what stores index by.
func SessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// NewCSRFSecret returns 32 random bytes.
func NewCSRFSecret() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// PrepareNewSession fills what a new session gets: id, CSRF secret,
// CreatedAt and LastSeen.
func PrepareNewSession(s *Session, now time.Time) {
	s.ID = NewSessionID()
	if len(s.CSRFSecret) != 32 {
		s.CSRFSecret = NewCSRFSecret()
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now
	}
	s.LastSeen = now
}

// Expired reports whether s has timed out at now.
func (s *Session) Expired(now time.Time, t SessionTimeouts) bool {
	return now.Sub(s.LastSeen) >= t.Idle || now.Sub(s.CreatedAt) >= t.Absolute
}

// TTL is how long a store should keep s from now: until the earlier of
// the idle and the absolute deadline.
func (s *Session) TTL(now time.Time, t SessionTimeouts) time.Duration {
	ttl := t.Idle - now.Sub(s.LastSeen)
	if abs := t.Absolute - now.Sub(s.CreatedAt); abs < ttl {
		ttl = abs
	}
	return ttl
}

// NewCSRFToken returns a token for forms of this session: the secret
// masked with a fresh random pad (base64url of pad || pad XOR secret), so
// the token differs on every page and compression cannot reveal it.
func (s *Session) NewCSRFToken() string {
	pad := NewCSRFSecret()
	out := make([]byte, 64)
	copy(out, pad)
	for i := range 32 {
		out[32+i] = pad[i] ^ s.CSRFSecret[i]
	}
	return base64.RawURLEncoding.EncodeToString(out)
}

// CheckCSRFToken reports whether token was made by NewCSRFToken from this
// session's secret.
func (s *Session) CheckCSRFToken(token string) bool {
	if len(s.CSRFSecret) != 32 || len(token) != base64.RawURLEncoding.EncodedLen(64) {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 64 {
		return false
	}
	secret := make([]byte, 32)
	for i := range 32 {
		secret[i] = raw[i] ^ raw[32+i]
	}
	return subtle.ConstantTimeCompare(secret, s.CSRFSecret) == 1
}

// CheckRateLimit validates the arguments of RateLimiter.Allow.
func CheckRateLimit(key string, limit int, window time.Duration) error {
	switch {
	case key == "" || len(key) > 512:
		return Errorf(EInvalid, "rate limit key must be 1 to 512 bytes")
	case limit < 1:
		return Errorf(EInvalid, "rate limit must be at least 1, not %d", limit)
	case window < time.Millisecond:
		return Errorf(EInvalid, "rate limit window must be at least 1ms, not %s", window)
	}
	return nil
}
