package core

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Paths of the links the account service mails and prints; the server
// routes them. The token follows the prefix.
const (
	LoginLinkPath     = "/user/login-link/"
	PasswordResetPath = "/user/reset/"
)

// Lifetimes of single-use account tokens.
const (
	LoginLinkTTL     = 15 * time.Minute
	PasswordResetTTL = time.Hour
)

// Audit actions the account service records. Other services add their own
// (publish, rollback, role changes) with the same lower.dotted names.
const (
	AuditLogin            = "login"
	AuditLoginFailed      = "login.failed"
	AuditLockout          = "login.lockout"
	AuditLoginLinkCreate  = "login_link.create"
	AuditLoginLinkUse     = "login_link.use"
	AuditPasswordChange   = "password.change"
	AuditPasswordRehash   = "password.rehash"
	AuditResetRequest     = "password.reset_request"
	AuditReset            = "password.reset"
	AuditLogoutEverywhere = "logout.everywhere"
	AuditTokenCreate      = "token.create"
	AuditTokenUse         = "token.use"
	AuditTokenRevoke      = "token.revoke"
)

// LockoutPolicy says how many failed sign-ins within Window lock a key
// (an account name, or a client address) for LockFor. A successful
// sign-in clears the account's failures, not the address's.
type LockoutPolicy struct {
	MaxFailures int
	Window      time.Duration
	LockFor     time.Duration
}

// DefaultAccountLockout locks an account name for 15 minutes after 5
// failures in 15 minutes.
var DefaultAccountLockout = LockoutPolicy{MaxFailures: 5, Window: 15 * time.Minute, LockFor: 15 * time.Minute}

// DefaultAddressLockout locks a client address (an IPv4 address or an
// IPv6 /64) for 15 minutes after 20 failures in 15 minutes: higher than
// an account's, since many people may share one address.
var DefaultAddressLockout = LockoutPolicy{MaxFailures: 20, Window: 15 * time.Minute, LockFor: 15 * time.Minute}

// APIToken is a personal access token: a secret shown once, stored as a
// SHA-256 hash, acting as its owner with at most Permissions, only in
// StageID when set, until ExpiresAt or RevokedAt.
type APIToken struct {
	ID          ID         `json:"id"`
	UserID      ID         `json:"user_id"`
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions"`
	StageID     *ID        `json:"stage_id,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Scope returns the limits a request authenticated by t acts under.
func (t *APIToken) Scope() *TokenScope {
	return &TokenScope{TokenID: t.ID, Permissions: slices.Clone(t.Permissions), StageID: t.StageID}
}

// TokenScope narrows what a user may do to what one API token allows: the
// authorizer grants a permission only when the user holds it AND the scope
// lists it, and (when StageID is set) allows editing and publishing only in
// that stage.
type TokenScope struct {
	TokenID     ID
	Permissions []string
	StageID     *ID
}

// Allows reports whether the scope lists perm.
func (s *TokenScope) Allows(perm string) bool {
	return s == nil || slices.Contains(s.Permissions, perm)
}

// AllowsStage reports whether the scope permits op in stage: every
// operation in its own stage, views of live (which every stage overlays),
// nothing else.
func (s *TokenScope) AllowsStage(stage ID, op string) bool {
	if s == nil || s.StageID == nil || *s.StageID == stage {
		return true
	}
	return stage == LiveStageID && op == OpView
}

type tokenScopeKey struct{}

// NewContextWithTokenScope returns a context whose requests act under s
// (set by the API's bearer-token middleware next to NewContextWithUser).
func NewContextWithTokenScope(ctx context.Context, s *TokenScope) context.Context {
	return context.WithValue(ctx, tokenScopeKey{}, s)
}

// TokenScopeFromContext returns the scope of a token-authenticated request,
// or nil when the request did not come with a token.
func TokenScopeFromContext(ctx context.Context) *TokenScope {
	s, _ := ctx.Value(tokenScopeKey{}).(*TokenScope)
	return s
}

type clientAddrKey struct{}

// NewContextWithClientAddr returns a context carrying the address of the
// client a request came from (for the audit log and login defences).
func NewContextWithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFromContext returns the client's address, or "" (the CLI).
func ClientAddrFromContext(ctx context.Context) string {
	s, _ := ctx.Value(clientAddrKey{}).(string)
	return s
}

// AuditEntry is one row of the audit log: who (ActorID, or nil for an
// anonymous actor; ActorName as it was then), what (Action on Object, with
// Detail), when and from where.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	ActorID    *ID             `json:"actor_id,omitempty"`
	ActorName  string          `json:"actor"`
	Action     string          `json:"action"`
	Object     string          `json:"object"`
	Detail     json.RawMessage `json:"detail,omitempty"`
	ClientAddr string          `json:"client_addr,omitempty"`
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	Action string // exact, or a prefix ending in "." ("login.")
	Actor  string // user name
	Object string
	Before int64 // entries with a smaller id (paging); 0 for the newest
	Limit  int   // default 50, at most 1000
}

// MailMessage is one plain-text mail.
type MailMessage struct {
	To      string
	Subject string
	Body    string
}

// Mailer delivers mail: an SMTP relay in production, a folder of .eml
// files in development (core/mailer).
type Mailer interface {
	// SendMail returns EINVALID for a message with a bad address or a
	// header containing CR or LF.
	SendMail(ctx context.Context, m *MailMessage) error
}

// AccountService signs people and programs in and keeps the security state
// around it (passwords, lockouts, one-time links, reset tokens, API tokens,
// session epochs) in the database, and writes the audit log.
type AccountService interface {
	// Authenticate checks a name and password signing in from clientAddr.
	// Unknown names and wrong passwords get the same EUNAUTHORIZED error
	// and cost the same time; EINVALID for a malformed name, password or
	// address (nothing is counted); ERATELIMIT while the name or the
	// address is locked out. Success clears the name's failures,
	// invalidates its reset tokens and rehashes an outdated hash.
	Authenticate(ctx context.Context, name, password, clientAddr string) (*User, error)
	// SetPassword sets a user's password (users.administer) and bumps
	// their session epoch. EINVALID when the password breaks the rules.
	SetPassword(ctx context.Context, userID ID, password string) error
	// ChangePassword changes the acting user's own password after checking
	// the current one (EUNAUTHORIZED when wrong; "" for a user who has no
	// password yet) and bumps the session epoch.
	ChangePassword(ctx context.Context, current, next string) error
	// SessionEpoch returns the user's session epoch; sessions made under
	// an older epoch are over. ENOTFOUND for an unknown user.
	SessionEpoch(ctx context.Context, userID ID) (int64, error)
	// LogoutEverywhere bumps the user's session epoch (the user themself
	// or users.administer) and returns the new one.
	LogoutEverywhere(ctx context.Context, userID ID) (int64, error)

	// CreateLoginLink makes a one-time login link for the named user
	// (users.administer), valid LoginLinkTTL, and returns its URL.
	CreateLoginLink(ctx context.Context, name string) (url string, expires time.Time, err error)
	// ConsumeLoginLink signs in with a login link's token, once.
	// EUNAUTHORIZED for an unknown, used or expired token or a blocked
	// user; EINVALID for a malformed one.
	ConsumeLoginLink(ctx context.Context, token string) (*User, error)

	// RequestReset mails a password reset link to the account with the
	// name or email address, at most one per few minutes. The result is
	// the same whether the account exists or not; EINVALID only for
	// malformed input.
	RequestReset(ctx context.Context, nameOrEmail, clientAddr string) error
	// ResetPassword sets a new password with a reset token, once, and
	// bumps the session epoch. EINVALID for a bad password (the token
	// stays usable) or a malformed token; EUNAUTHORIZED for an unknown,
	// used or expired one.
	ResetPassword(ctx context.Context, token, password string) error

	// CreateToken makes an API token for the acting user, limited to
	// permissions (each one the user holds), optionally to one stage,
	// expiring at expires. The plaintext is returned once.
	CreateToken(ctx context.Context, name string, permissions []string, stage *ID, expires time.Time) (string, *APIToken, error)
	// FindTokens lists a user's tokens (their own, or users.administer).
	FindTokens(ctx context.Context, userID ID) ([]*APIToken, error)
	// RevokeToken revokes a token (its owner or users.administer).
	RevokeToken(ctx context.Context, id ID) error
	// VerifyToken returns the owner and the token for a plaintext token.
	// EUNAUTHORIZED for a forged, expired or revoked token or a blocked
	// owner.
	VerifyToken(ctx context.Context, plaintext string) (*User, *APIToken, error)

	// Audit records an action by the acting user from the context's
	// client address.
	Audit(ctx context.Context, action, object string, detail any) error
	// FindAuditEntries reads the audit log (audit.view).
	FindAuditEntries(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}
