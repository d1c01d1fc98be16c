package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/passwords"
)

// AccountsConfig configures the account service.
type AccountsConfig struct {
	// Hasher hashes passwords; nil means passwords.DefaultParams.
	Hasher *passwords.Hasher
	// AccountLockout and AddressLockout default to
	// core.DefaultAccountLockout and core.DefaultAddressLockout.
	AccountLockout core.LockoutPolicy
	AddressLockout core.LockoutPolicy
	// Mailer delivers password reset mail; without one, reset requests
	// are recorded and logged but nothing is sent.
	Mailer core.Mailer
	// ResetInterval is the least time between two reset mails to one
	// account (default 5 minutes).
	ResetInterval time.Duration
	// TokenUseInterval is how often a token's last use is written (and
	// audited) at most (default 1 minute).
	TokenUseInterval time.Duration
	Logger           *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Accounts implements core.AccountService over the store's database.
type Accounts struct {
	s          *Store
	hasher     *passwords.Hasher
	dummy      string
	acct, addr core.LockoutPolicy
	mailer     core.Mailer
	resetEvery time.Duration
	useEvery   time.Duration
	log        *slog.Logger
	now        func() time.Time
	mail       sync.WaitGroup
}

var _ core.AccountService = (*Accounts)(nil)

// DefaultBaseURL is the site's address in links when the site document
// has no base_url.
const DefaultBaseURL = "http://127.0.0.1:8080"

// NewAccounts returns the account service of s.
func NewAccounts(s *Store, cfg AccountsConfig) (*Accounts, error) {
	ac := &Accounts{s: s, hasher: cfg.Hasher, acct: cfg.AccountLockout, addr: cfg.AddressLockout, mailer: cfg.Mailer,
		resetEvery: cfg.ResetInterval, useEvery: cfg.TokenUseInterval, log: cfg.Logger, now: cfg.Now}
	if ac.hasher == nil {
		h, err := passwords.NewHasher(passwords.DefaultParams, 0)
		if err != nil {
			return nil, err
		}
		ac.hasher = h
	}
	if ac.acct == (core.LockoutPolicy{}) {
		ac.acct = core.DefaultAccountLockout
	}
	if ac.addr == (core.LockoutPolicy{}) {
		ac.addr = core.DefaultAddressLockout
	}
	for _, p := range []core.LockoutPolicy{ac.acct, ac.addr} {
		if p.MaxFailures < 1 || p.Window <= 0 || p.LockFor <= 0 {
			return nil, core.Errorf(core.EInvalid, "lockout policy %+v: failures, window and lock time must be positive", p)
		}
	}
	if ac.resetEvery == 0 {
		ac.resetEvery = 5 * time.Minute
	}
	if ac.useEvery == 0 {
		ac.useEvery = time.Minute
	}
	if ac.log == nil {
		ac.log = s.log
	}
	if ac.now == nil {
		ac.now = time.Now
	}
	ac.dummy = ac.hasher.Dummy()
	return ac, nil
}

// Wait blocks until the reset mails being sent in the background are
// out (call it before the process exits).
func (ac *Accounts) Wait() { ac.mail.Wait() }

// errLogin is the one answer to a failed sign-in, whatever the reason.
func errLogin() error { return core.Errorf(core.EUnauthorized, "unknown user or wrong password") }

// require checks perm for the acting user and the token scope of the
// request, if any.
func (ac *Accounts) require(ctx context.Context, perm string) error {
	u := core.UserFromContext(ctx)
	if err := ac.s.authz.Require(ctx, u, perm); err != nil {
		return err
	}
	if !core.TokenScopeFromContext(ctx).Allows(perm) {
		return core.Errorf(core.EForbidden, "the API token does not allow %q", perm)
	}
	return nil
}

// selfOrAdmin lets the user act on their own account, and holders of
// users.administer on any.
func (ac *Accounts) selfOrAdmin(ctx context.Context, userID core.ID) error {
	u := core.UserFromContext(ctx)
	if u.IsAnonymous() {
		return core.Errorf(core.EUnauthorized, "sign in first")
	}
	if u.ID == userID && u.Status == core.UserActive {
		return nil
	}
	return ac.require(ctx, core.PermAdministerUsers)
}

// addressKey is the lockout key of a client address: the IP (an IPv6
// address by its /64), "" when there is none. EInvalid when addr is
// neither an IP address nor IP:port.
func addressKey(addr string) (string, error) {
	if addr == "" {
		return "", nil
	}
	bad := core.Errorf(core.EInvalid, "the client address is not an IP address")
	if len(addr) > 64 {
		return "", bad
	}
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(addr); err != nil {
		return "", bad
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String(), nil
	}
	return a.String(), nil
}

// userRow is what sign-in needs of a user.
type userRow struct {
	ID     core.ID
	Name   string
	Email  string
	Status string
	Hash   string
}

func (ac *Accounts) findUserRow(ctx context.Context, q querier, where string, arg any) (*userRow, error) {
	var r userRow
	err := q.QueryRow(ctx, `SELECT id, name, email, status, password_hash FROM users WHERE `+where, arg).
		Scan(&r.ID, &r.Name, &r.Email, &r.Status, &r.Hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, core.Errorf(core.ENotFound, "user not found")
	} else if err != nil {
		return nil, fmt.Errorf("find user: %w", TranslateError(err))
	}
	return &r, nil
}

// Authenticate implements core.AccountService.
func (ac *Accounts) Authenticate(ctx context.Context, name, password, clientAddr string) (*core.User, error) {
	if err := validateUserName(name); err != nil {
		return nil, err
	}
	if err := passwords.ValidateInput(password); err != nil {
		return nil, err
	}
	addrKey, err := addressKey(clientAddr)
	if err != nil {
		return nil, err
	}
	acctKey := strings.ToLower(name)
	now := ac.now()
	until, err := ac.lockedUntil(ctx, acctKey, addrKey, now)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		ac.auditAnon(ctx, nil, core.AuditLoginFailed, "user/"+acctKey, map[string]any{"reason": "locked"}, clientAddr)
		return nil, core.Errorf(core.ERateLimit, "too many failed sign-ins: try again in %d minutes", int(until.Sub(now)/time.Minute)+1)
	}
	r, err := ac.findUserRow(ctx, ac.s.pool, `lower(name) = lower($1)`, name)
	if err != nil && core.ErrorCode(err) != core.ENotFound {
		return nil, err
	}
	hash := ac.dummy
	if r != nil && r.Hash != "" {
		hash = r.Hash
	}
	ok, verr := ac.hasher.Verify(ctx, password, hash)
	if verr != nil && core.ErrorCode(verr) != core.EInvalid {
		return nil, verr // the context ended while waiting for a hashing slot
	}
	if verr != nil {
		ac.log.Error("stored password hash is malformed", "user", r.ID)
	}
	if r == nil || r.Hash == "" || !ok {
		var actor *core.ID
		if r != nil {
			actor = &r.ID
		}
		if err := ac.fail(ctx, acctKey, addrKey, clientAddr, actor, now); err != nil {
			return nil, err
		}
		return nil, errLogin()
	}
	if r.Status != core.UserActive {
		ac.auditAnon(ctx, &r.ID, core.AuditLoginFailed, "user/"+r.Name, map[string]any{"reason": "blocked"}, clientAddr)
		return nil, errLogin()
	}
	var rehash string
	if ac.hasher.NeedsRehash(r.Hash) {
		if rehash, err = ac.hasher.Hash(ctx, password); err != nil {
			return nil, err
		}
	}
	err = ac.s.inTx(ctx, func(tx *txn) error {
		if err := ac.signedIn(ctx, tx, r.ID, acctKey, now); err != nil {
			return err
		}
		if rehash != "" {
			if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3`, r.ID, rehash, r.Hash); err != nil {
				return fmt.Errorf("rehash password: %w", TranslateError(err))
			}
			if err := ac.auditTx(ctx, tx, &r.ID, r.Name, core.AuditPasswordRehash, "user/"+r.Name, map[string]any{"params": ac.hasher.Params()}, clientAddr); err != nil {
				return err
			}
		}
		return ac.auditTx(ctx, tx, &r.ID, r.Name, core.AuditLogin, "user/"+r.Name, map[string]any{"method": "password"}, clientAddr)
	})
	if err != nil {
		return nil, err
	}
	return ac.s.Users().FindUserByID(ctx, r.ID)
}

// signedIn clears the account's failures and lock and invalidates its
// outstanding reset tokens.
func (ac *Accounts) signedIn(ctx context.Context, tx *txn, userID core.ID, acctKey string, now time.Time) error {
	if _, err := tx.Exec(ctx, `DELETE FROM login_failure WHERE scope = 'account' AND key = $1`, acctKey); err != nil {
		return fmt.Errorf("clear failed logins: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `DELETE FROM login_lock WHERE scope = 'account' AND key = $1`, acctKey); err != nil {
		return fmt.Errorf("clear lock: %w", TranslateError(err))
	}
	if _, err := tx.Exec(ctx, `UPDATE account_token SET used_at = $2 WHERE user_id = $1 AND purpose = 'reset' AND used_at IS NULL`, userID, now); err != nil {
		return fmt.Errorf("invalidate reset tokens: %w", TranslateError(err))
	}
	return nil
}

// lockedUntil returns the later end of the account's and the address's
// lock, or zero when neither is locked.
func (ac *Accounts) lockedUntil(ctx context.Context, acctKey, addrKey string, now time.Time) (time.Time, error) {
	var until *time.Time
	err := ac.s.pool.QueryRow(ctx, `SELECT max(locked_until) FROM login_lock
		WHERE ((scope = 'account' AND key = $1) OR (scope = 'address' AND key = $2)) AND locked_until > $3`,
		acctKey, addrKey, now).Scan(&until)
	if err != nil {
		return time.Time{}, fmt.Errorf("check login lock: %w", TranslateError(err))
	}
	if until == nil {
		return time.Time{}, nil
	}
	return *until, nil
}

// fail records a failed sign-in for the account name and the address and
// locks whichever reached its policy's limit.
func (ac *Accounts) fail(ctx context.Context, acctKey, addrKey, clientAddr string, actor *core.ID, now time.Time) error {
	return ac.s.inTx(ctx, func(tx *txn) error {
		detail := map[string]any{"name": acctKey}
		for _, k := range []struct {
			scope, key string
			p          core.LockoutPolicy
		}{{"account", acctKey, ac.acct}, {"address", addrKey, ac.addr}} {
			if k.key == "" {
				continue
			}
			var n int
			err := tx.QueryRow(ctx, `WITH ins AS (INSERT INTO login_failure (scope, key, at) VALUES ($1, $2, $3)),
				old AS (DELETE FROM login_failure WHERE scope = $1 AND key = $2 AND at <= $4)
				SELECT count(*) + 1 FROM login_failure WHERE scope = $1 AND key = $2 AND at > $4`,
				k.scope, k.key, now, now.Add(-k.p.Window)).Scan(&n)
			if err != nil {
				return fmt.Errorf("count failed logins: %w", TranslateError(err))
			}
			detail[k.scope+"_failures"] = n
			if n < k.p.MaxFailures {
				continue
			}
			until := now.Add(k.p.LockFor)
			if _, err := tx.Exec(ctx, `INSERT INTO login_lock (scope, key, locked_until) VALUES ($1, $2, $3)
				ON CONFLICT (scope, key) DO UPDATE SET locked_until = greatest(login_lock.locked_until, EXCLUDED.locked_until)`,
				k.scope, k.key, until); err != nil {
				return fmt.Errorf("lock %s: %w", k.scope, TranslateError(err))
			}
			// The count starts again when the lock ends.
			if _, err := tx.Exec(ctx, `DELETE FROM login_failure WHERE scope = $1 AND key = $2`, k.scope, k.key); err != nil {
				return fmt.Errorf("reset failed logins: %w", TranslateError(err))
			}
			if err := ac.auditTx(ctx, tx, actor, "", core.AuditLockout, k.scope+"/"+k.key,
				map[string]any{"failures": n, "window": k.p.Window.String(), "locked_until": until}, clientAddr); err != nil {
				return err
			}
		}
		// Failures of other keys that left their window (names tried once
		// and never again) go too, and so do ended locks.
		if _, err := tx.Exec(ctx, `DELETE FROM login_failure WHERE at <= $1`, now.Add(-max(ac.acct.Window, ac.addr.Window))); err != nil {
			return fmt.Errorf("expire failed logins: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_lock WHERE locked_until <= $1`, now); err != nil {
			return fmt.Errorf("expire locks: %w", TranslateError(err))
		}
		return ac.auditTx(ctx, tx, actor, "", core.AuditLoginFailed, "user/"+acctKey, detail, clientAddr)
	})
}

// SetPassword implements core.AccountService. Requires users.administer:
// people change their own password with ChangePassword, which asks for the
// current one, so a stolen session cannot take over the account.
func (ac *Accounts) SetPassword(ctx context.Context, userID core.ID, password string) error {
	if err := ac.require(ctx, core.PermAdministerUsers); err != nil {
		return err
	}
	r, err := ac.findUserRow(ctx, ac.s.pool, `id = $1`, userID)
	if err != nil {
		return err
	}
	return ac.setPassword(ctx, r, password, core.AuditPasswordChange, nil)
}

// setPassword checks and stores a new password for r, bumps the session
// epoch, invalidates r's login links and reset tokens and clears its
// lockout. consume, when set, runs first in the same transaction.
func (ac *Accounts) setPassword(ctx context.Context, r *userRow, password, action string, consume func(tx *txn) error) error {
	if r.ID == core.SystemUserID {
		return core.Errorf(core.EInvalid, "the system user cannot sign in and has no password")
	}
	if err := passwords.Check(password, r.Name, r.Email); err != nil {
		return err
	}
	hash, err := ac.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	now := ac.now()
	actor := core.UserFromContext(ctx)
	return ac.s.inTx(ctx, func(tx *txn) error {
		if consume != nil {
			if err := consume(tx); err != nil {
				return err
			}
		}
		var epoch int64
		err := tx.QueryRow(ctx, `UPDATE users SET password_hash = $2, password_changed_at = $3, session_epoch = session_epoch + 1
			WHERE id = $1 RETURNING session_epoch`, r.ID, hash, now).Scan(&epoch)
		if errors.Is(err, pgx.ErrNoRows) {
			return core.Errorf(core.ENotFound, "user %s not found", r.ID)
		} else if err != nil {
			return fmt.Errorf("set password: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `UPDATE account_token SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, r.ID, now); err != nil {
			return fmt.Errorf("invalidate account tokens: %w", TranslateError(err))
		}
		key := strings.ToLower(r.Name)
		if _, err := tx.Exec(ctx, `DELETE FROM login_failure WHERE scope = 'account' AND key = $1`, key); err != nil {
			return fmt.Errorf("clear failed logins: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_lock WHERE scope = 'account' AND key = $1`, key); err != nil {
			return fmt.Errorf("clear lock: %w", TranslateError(err))
		}
		var actorID *core.ID
		actorName := ""
		if !actor.IsAnonymous() {
			actorID, actorName = &actor.ID, actor.Name
		}
		if err := ac.auditTx(ctx, tx, actorID, actorName, action, "user/"+r.Name, map[string]any{"session_epoch": epoch}, core.ClientAddrFromContext(ctx)); err != nil {
			return err
		}
		return tx.feed(ctx, core.KindUser, r.ID.String(), nil, nil, nil, core.ChangeUpdate)
	})
}

// ChangePassword implements core.AccountService. A wrong current password
// counts as a failed sign-in of the account. A user who has no password
// yet (signed in with a login link) passes "" as the current one.
func (ac *Accounts) ChangePassword(ctx context.Context, current, next string) error {
	u := core.UserFromContext(ctx)
	if u.IsAnonymous() {
		return core.Errorf(core.EUnauthorized, "sign in first")
	}
	if err := passwords.ValidateInput(current); err != nil {
		return err
	}
	addr := core.ClientAddrFromContext(ctx)
	addrKey, err := addressKey(addr)
	if err != nil {
		return err
	}
	r, err := ac.findUserRow(ctx, ac.s.pool, `id = $1`, u.ID)
	if err != nil {
		return err
	}
	now := ac.now()
	acctKey := strings.ToLower(r.Name)
	until, err := ac.lockedUntil(ctx, acctKey, addrKey, now)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return core.Errorf(core.ERateLimit, "too many failed sign-ins: try again in %d minutes", int(until.Sub(now)/time.Minute)+1)
	}
	if r.Hash == "" && current == "" {
		return ac.setPassword(ctx, r, next, core.AuditPasswordChange, nil)
	}
	hash := r.Hash
	if hash == "" {
		hash = ac.dummy
	}
	ok, err := ac.hasher.Verify(ctx, current, hash)
	if err != nil && core.ErrorCode(err) != core.EInvalid {
		return err
	}
	if !ok || r.Hash == "" {
		if err := ac.fail(ctx, acctKey, addrKey, addr, &r.ID, now); err != nil {
			return err
		}
		return core.Errorf(core.EUnauthorized, "the current password is wrong")
	}
	return ac.setPassword(ctx, r, next, core.AuditPasswordChange, nil)
}

// SessionEpoch implements core.AccountService.
func (ac *Accounts) SessionEpoch(ctx context.Context, userID core.ID) (int64, error) {
	var epoch int64
	err := ac.s.pool.QueryRow(ctx, `SELECT session_epoch FROM users WHERE id = $1`, userID).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, core.Errorf(core.ENotFound, "user %s not found", userID)
	} else if err != nil {
		return 0, fmt.Errorf("session epoch: %w", TranslateError(err))
	}
	return epoch, nil
}

// LogoutEverywhere implements core.AccountService.
func (ac *Accounts) LogoutEverywhere(ctx context.Context, userID core.ID) (int64, error) {
	if err := ac.selfOrAdmin(ctx, userID); err != nil {
		return 0, err
	}
	var epoch int64
	err := ac.s.inTx(ctx, func(tx *txn) error {
		var name string
		err := tx.QueryRow(ctx, `UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch, name`, userID).Scan(&epoch, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return core.Errorf(core.ENotFound, "user %s not found", userID)
		} else if err != nil {
			return fmt.Errorf("log out everywhere: %w", TranslateError(err))
		}
		if err := ac.audit(ctx, tx, core.AuditLogoutEverywhere, "user/"+name, map[string]any{"session_epoch": epoch}); err != nil {
			return err
		}
		return tx.feed(ctx, core.KindUser, userID.String(), nil, nil, nil, core.ChangeUpdate)
	})
	return epoch, err
}

// newSecret returns 32 random bytes as 43 characters of base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

func validSecret(s string) bool {
	if len(s) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

func secretHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// BaseURL returns the site document's base_url without a trailing slash,
// or DefaultBaseURL.
func (ac *Accounts) BaseURL(ctx context.Context) (string, error) {
	doc, err := findConfig(ctx, ac.s.pool, "site", "site")
	if core.ErrorCode(err) == core.ENotFound {
		return DefaultBaseURL, nil
	} else if err != nil {
		return "", err
	}
	var site struct {
		BaseURL string `json:"base_url"`
	}
	if err := json.Unmarshal(doc.Body, &site); err != nil {
		return "", fmt.Errorf("site document: %w", err)
	}
	if site.BaseURL == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(site.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", core.Errorf(core.EInvalid, "site base_url %q is not an absolute http or https URL (see: trovato config set site/site base_url URL)", site.BaseURL)
	}
	return strings.TrimSuffix(site.BaseURL, "/"), nil
}

// CreateLoginLink implements core.AccountService. Requires users.administer.
func (ac *Accounts) CreateLoginLink(ctx context.Context, name string) (string, time.Time, error) {
	if err := ac.require(ctx, core.PermAdministerUsers); err != nil {
		return "", time.Time{}, err
	}
	if err := validateUserName(name); err != nil {
		return "", time.Time{}, err
	}
	r, err := ac.findUserRow(ctx, ac.s.pool, `lower(name) = lower($1)`, name)
	if err != nil {
		return "", time.Time{}, core.Errorf(core.ENotFound, "user %q not found", name)
	}
	if r.ID == core.SystemUserID {
		return "", time.Time{}, core.Errorf(core.EInvalid, "the system user cannot sign in")
	}
	if r.Status != core.UserActive {
		return "", time.Time{}, core.Errorf(core.EInvalid, "user %q is blocked (see: trovato user unblock)", r.Name)
	}
	base, err := ac.BaseURL(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	secret := newSecret()
	now := ac.now()
	expires := now.Add(core.LoginLinkTTL)
	err = ac.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `INSERT INTO account_token (hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, 'login', $3, $4)`,
			secretHash(secret), r.ID, now, expires); err != nil {
			return fmt.Errorf("create login link: %w", TranslateError(err))
		}
		return ac.audit(ctx, tx, core.AuditLoginLinkCreate, "user/"+r.Name, map[string]any{"expires_at": expires})
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return base + core.LoginLinkPath + secret, expires, nil
}

// consumeToken marks a single-use token used and returns its user; no row
// means unknown, used or expired.
func (ac *Accounts) consumeToken(ctx context.Context, tx *txn, secret, purpose string, now time.Time) (core.ID, error) {
	var userID core.ID
	err := tx.QueryRow(ctx, `UPDATE account_token SET used_at = $3
		WHERE hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id`,
		secretHash(secret), purpose, now).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return core.NilID, core.Errorf(core.EUnauthorized, "this link is invalid, was used already or has expired")
	} else if err != nil {
		return core.NilID, fmt.Errorf("use token: %w", TranslateError(err))
	}
	return userID, nil
}

func malformedLink() error {
	return core.Errorf(core.EInvalid, "the link is malformed: copy the whole link from the message")
}

// ConsumeLoginLink implements core.AccountService.
func (ac *Accounts) ConsumeLoginLink(ctx context.Context, token string) (*core.User, error) {
	if !validSecret(token) {
		return nil, malformedLink()
	}
	now := ac.now()
	var r *userRow
	err := ac.s.inTx(ctx, func(tx *txn) error {
		id, err := ac.consumeToken(ctx, tx, token, "login", now)
		if err != nil {
			return err
		}
		if r, err = ac.findUserRow(ctx, tx, `id = $1`, id); err != nil {
			return err
		}
		if r.Status != core.UserActive {
			return core.Errorf(core.EUnauthorized, "this link is invalid, was used already or has expired")
		}
		if err := ac.signedIn(ctx, tx, r.ID, strings.ToLower(r.Name), now); err != nil {
			return err
		}
		return ac.auditTx(ctx, tx, &r.ID, r.Name, core.AuditLoginLinkUse, "user/"+r.Name, map[string]any{"method": "login_link"}, core.ClientAddrFromContext(ctx))
	})
	if err != nil {
		return nil, err
	}
	return ac.s.Users().FindUserByID(ctx, r.ID)
}

// validIdentifier checks a name or email address typed into a form.
func validIdentifier(s string) error {
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return core.Errorf(core.EInvalid, "enter a user name or an email address of at most 254 characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return core.Errorf(core.EInvalid, "the user name or email address must not contain control characters or line breaks")
		}
	}
	return nil
}

// RequestReset implements core.AccountService. The mail goes out in the
// background, so that the answer takes as long for an unknown account as
// for a known one.
func (ac *Accounts) RequestReset(ctx context.Context, nameOrEmail, clientAddr string) error {
	if err := validIdentifier(nameOrEmail); err != nil {
		return err
	}
	if _, err := addressKey(clientAddr); err != nil {
		return err
	}
	// Read the base URL first: a misconfigured one fails every request
	// alike, not only those for existing accounts.
	base, err := ac.BaseURL(ctx)
	if err != nil {
		return err
	}
	where := `lower(name) = lower($1)`
	if strings.Contains(nameOrEmail, "@") {
		where = `email <> '' AND lower(email) = lower($1)`
	}
	r, err := ac.findUserRow(ctx, ac.s.pool, where, nameOrEmail)
	if err != nil && core.ErrorCode(err) != core.ENotFound {
		return err
	}
	if r == nil || r.ID == core.SystemUserID || r.Status != core.UserActive || r.Email == "" {
		var id *core.ID
		if r != nil {
			id = &r.ID
		}
		ac.auditAnon(ctx, id, core.AuditResetRequest, "user/"+strings.ToLower(nameOrEmail), map[string]any{"sent": false}, clientAddr)
		return nil
	}
	now := ac.now()
	secret := newSecret()
	expires := now.Add(core.PasswordResetTTL)
	sent := false
	err = ac.s.inTx(ctx, func(tx *txn) error {
		// One mail per interval: a flood of requests does not flood the
		// mailbox.
		var recent bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM account_token WHERE user_id = $1 AND purpose = 'reset'
			AND used_at IS NULL AND created_at > $2)`, r.ID, now.Add(-ac.resetEvery)).Scan(&recent); err != nil {
			return fmt.Errorf("reset request: %w", TranslateError(err))
		}
		if _, err := tx.Exec(ctx, `DELETE FROM account_token WHERE expires_at < $1`, now.Add(-24*time.Hour)); err != nil {
			return fmt.Errorf("expire account tokens: %w", TranslateError(err))
		}
		if !recent {
			if _, err := tx.Exec(ctx, `INSERT INTO account_token (hash, user_id, purpose, created_at, expires_at) VALUES ($1, $2, 'reset', $3, $4)`,
				secretHash(secret), r.ID, now, expires); err != nil {
				return fmt.Errorf("reset request: %w", TranslateError(err))
			}
			sent = true
		}
		return ac.auditTx(ctx, tx, nil, "", core.AuditResetRequest, "user/"+r.Name, map[string]any{"sent": sent}, clientAddr)
	})
	if err != nil || !sent {
		return err
	}
	msg := &core.MailMessage{
		To:      r.Email,
		Subject: "Reset your password",
		Body: fmt.Sprintf("Someone, probably you, asked to reset the password of the account %q at %s.\n\n"+
			"To choose a new password, open this link within one hour:\n\n%s%s%s\n\n"+
			"The link works once. If you did not ask for it, ignore this message: your password stays as it is.\n",
			r.Name, base, base, core.PasswordResetPath, secret),
	}
	if ac.mailer == nil {
		ac.log.Warn("password reset requested but no mailer is configured", "user", r.Name)
		return nil
	}
	ac.mail.Add(1)
	go func() {
		defer ac.mail.Done()
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := ac.mailer.SendMail(mctx, msg); err != nil {
			ac.log.Error("send password reset mail", "user", r.Name, "err", err)
		}
	}()
	return nil
}

// ResetPassword implements core.AccountService.
func (ac *Accounts) ResetPassword(ctx context.Context, token, password string) error {
	if !validSecret(token) {
		return malformedLink()
	}
	if err := passwords.ValidateInput(password); err != nil {
		return err
	}
	now := ac.now()
	var userID core.ID
	err := ac.s.pool.QueryRow(ctx, `SELECT user_id FROM account_token WHERE hash = $1 AND purpose = 'reset' AND used_at IS NULL AND expires_at > $2`,
		secretHash(token), now).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return core.Errorf(core.EUnauthorized, "this link is invalid, was used already or has expired")
	} else if err != nil {
		return fmt.Errorf("reset password: %w", TranslateError(err))
	}
	r, err := ac.findUserRow(ctx, ac.s.pool, `id = $1`, userID)
	if err != nil {
		return err
	}
	if r.Status != core.UserActive {
		return core.Errorf(core.EUnauthorized, "this link is invalid, was used already or has expired")
	}
	return ac.setPassword(ctx, r, password, core.AuditReset, func(tx *txn) error {
		_, err := ac.consumeToken(ctx, tx, token, "reset", now)
		return err
	})
}

// API tokens are "trv_" and 43 characters of base64url.
const apiTokenPrefix = "trv_"

func validTokenName(name string) error {
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 100 || strings.TrimSpace(name) != name {
		return core.Errorf(core.EInvalid, "a token name is 1 to 100 characters without leading or trailing spaces")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return core.Errorf(core.EInvalid, "a token name must not contain control characters or line breaks")
		}
	}
	return nil
}

// MaxTokenLifetime bounds an API token's life.
const MaxTokenLifetime = 366 * 24 * time.Hour

// CreateToken implements core.AccountService. A zero expires means 30
// days. Every permission must be one the acting user holds (and, for a
// request that itself came with a token, one that token allows).
func (ac *Accounts) CreateToken(ctx context.Context, name string, permissions []string, stage *core.ID, expires time.Time) (string, *core.APIToken, error) {
	u := core.UserFromContext(ctx)
	if u.IsAnonymous() {
		return "", nil, core.Errorf(core.EUnauthorized, "sign in first")
	}
	if u.ID == core.SystemUserID {
		return "", nil, core.Errorf(core.EInvalid, "the system user cannot have API tokens")
	}
	if err := validTokenName(name); err != nil {
		return "", nil, err
	}
	now := ac.now()
	if expires.IsZero() {
		expires = now.Add(30 * 24 * time.Hour)
	}
	if !expires.After(now) || expires.Sub(now) > MaxTokenLifetime {
		return "", nil, core.Errorf(core.EInvalid, "a token expires in the future and within %d days", int(MaxTokenLifetime.Hours()/24))
	}
	perms := slices.Clone(permissions)
	slices.Sort(perms)
	perms = slices.Compact(perms)
	scope := core.TokenScopeFromContext(ctx)
	for _, p := range perms {
		if !ac.s.perms.Known(p) {
			return "", nil, core.Errorf(core.EInvalid, "unknown permission %q (see: trovato role permissions)", p)
		}
		ok, err := ac.s.authz.HasPermission(ctx, u, p)
		if err != nil {
			return "", nil, err
		}
		if !ok || !scope.Allows(p) {
			return "", nil, core.Errorf(core.EForbidden, "you do not hold %q, so a token of yours cannot either", p)
		}
	}
	if scope != nil && scope.StageID != nil && (stage == nil || *stage != *scope.StageID) {
		return "", nil, core.Errorf(core.EForbidden, "a token limited to a stage can only make tokens limited to that stage")
	}
	if stage != nil {
		st, err := ac.s.Stages().FindStage(ctx, stage.String())
		if err != nil {
			return "", nil, err
		}
		if st.State != core.StageOpen && st.ID != core.LiveStageID {
			return "", nil, core.Errorf(core.EInvalid, "stage %q is %s", st.Name, st.State)
		}
	}
	secret := apiTokenPrefix + newSecret()
	t := &core.APIToken{ID: core.NewID(), UserID: u.ID, Name: name, Permissions: perms, StageID: stage, CreatedAt: now, ExpiresAt: expires}
	if t.Permissions == nil {
		t.Permissions = []string{}
	}
	err := ac.s.inTx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `INSERT INTO api_token (id, user_id, name, hash, permissions, stage_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, t.UserID, t.Name, secretHash(secret), t.Permissions, t.StageID, now, expires); err != nil {
			return fmt.Errorf("create token: %w", TranslateError(err))
		}
		return ac.audit(ctx, tx, core.AuditTokenCreate, "token/"+t.ID.String(),
			map[string]any{"name": name, "permissions": t.Permissions, "stage_id": stage, "expires_at": expires})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

const tokenColumns = `t.id, t.user_id, t.name, t.permissions, t.stage_id, t.created_at, t.expires_at, t.last_used_at, t.revoked_at`

func scanToken(row pgx.Row, extra ...any) (*core.APIToken, error) {
	t := &core.APIToken{}
	dest := append([]any{&t.ID, &t.UserID, &t.Name, &t.Permissions, &t.StageID, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return t, nil
}

// FindTokens implements core.AccountService.
func (ac *Accounts) FindTokens(ctx context.Context, userID core.ID) ([]*core.APIToken, error) {
	if err := ac.selfOrAdmin(ctx, userID); err != nil {
		return nil, err
	}
	rows, err := ac.s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_token t WHERE t.user_id = $1 ORDER BY t.created_at, t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("find tokens: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("find tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements core.AccountService. Revoking a revoked token
// changes nothing.
func (ac *Accounts) RevokeToken(ctx context.Context, id core.ID) error {
	var owner core.ID
	err := ac.s.pool.QueryRow(ctx, `SELECT user_id FROM api_token WHERE id = $1`, id).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return core.Errorf(core.ENotFound, "token %s not found", id)
	} else if err != nil {
		return fmt.Errorf("revoke token: %w", TranslateError(err))
	}
	if err := ac.selfOrAdmin(ctx, owner); err != nil {
		if core.ErrorCode(err) == core.EForbidden {
			return core.Errorf(core.ENotFound, "token %s not found", id)
		}
		return err
	}
	now := ac.now()
	return ac.s.inTx(ctx, func(tx *txn) error {
		tag, err := tx.Exec(ctx, `UPDATE api_token SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, now)
		if err != nil {
			return fmt.Errorf("revoke token: %w", TranslateError(err))
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		return ac.audit(ctx, tx, core.AuditTokenRevoke, "token/"+id.String(), nil)
	})
}

// VerifyToken implements core.AccountService. It writes the token's last
// use, and audits it, at most once per TokenUseInterval.
func (ac *Accounts) VerifyToken(ctx context.Context, plaintext string) (*core.User, *core.APIToken, error) {
	invalid := core.Errorf(core.EUnauthorized, "invalid API token")
	secret, ok := strings.CutPrefix(plaintext, apiTokenPrefix)
	if !ok || !validSecret(secret) {
		return nil, nil, invalid
	}
	var status string
	t, err := scanToken(ac.s.pool.QueryRow(ctx, `SELECT `+tokenColumns+`, u.status FROM api_token t JOIN users u ON u.id = t.user_id
		WHERE t.hash = $1`, secretHash(plaintext)), &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, invalid
	} else if err != nil {
		return nil, nil, fmt.Errorf("verify token: %w", TranslateError(err))
	}
	now := ac.now()
	switch {
	case t.RevokedAt != nil:
		return nil, nil, core.Errorf(core.EUnauthorized, "the API token was revoked")
	case !now.Before(t.ExpiresAt):
		return nil, nil, core.Errorf(core.EUnauthorized, "the API token has expired")
	case status != core.UserActive:
		return nil, nil, invalid
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= ac.useEvery {
		err := ac.s.inTx(ctx, func(tx *txn) error {
			tag, err := tx.Exec(ctx, `UPDATE api_token SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`,
				t.ID, now, now.Add(-ac.useEvery))
			if err != nil || tag.RowsAffected() == 0 {
				return TranslateError(err)
			}
			return ac.auditTx(ctx, tx, &t.UserID, "", core.AuditTokenUse, "token/"+t.ID.String(), map[string]any{"name": t.Name}, core.ClientAddrFromContext(ctx))
		})
		if err != nil {
			return nil, nil, fmt.Errorf("record token use: %w", err)
		}
		t.LastUsedAt = &now
	}
	u, err := ac.s.Users().FindUserByID(ctx, t.UserID)
	if err != nil {
		return nil, nil, err
	}
	return u, t, nil
}

var reAuditAction = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)

// Audit implements core.AccountService. EInvalid for a malformed action,
// an object over 500 characters or with control characters, or a detail
// that is not JSON.
func (ac *Accounts) Audit(ctx context.Context, action, object string, detail any) error {
	return ac.audit(ctx, ac.s.pool, action, object, detail)
}

type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// audit writes an entry for the acting user from the context's address.
func (ac *Accounts) audit(ctx context.Context, q execer, action, object string, detail any) error {
	return writeAudit(ctx, q, ac.now(), action, object, detail)
}

// auditTx writes one entry; an empty actorName is looked up from actorID.
func (ac *Accounts) auditTx(ctx context.Context, q execer, actorID *core.ID, actorName, action, object string, detail any, addr string) error {
	return writeAuditAs(ctx, q, ac.now(), actorID, actorName, action, object, detail, addr)
}

// Audit records an action by the acting user (core.UserFromContext) from
// the context's client address (core.ClientAddrFromContext), for services
// that have no account service at hand. EInvalid as Accounts.Audit.
func (s *Store) Audit(ctx context.Context, action, object string, detail any) error {
	return writeAudit(ctx, s.pool, s.now(), action, object, detail)
}

// writeAudit records an action by the acting user through q; given a
// transaction, the entry commits or rolls back with the change it
// describes (publishes, rollbacks, role and permission changes).
func writeAudit(ctx context.Context, q execer, at time.Time, action, object string, detail any) error {
	u := core.UserFromContext(ctx)
	var id *core.ID
	name := ""
	if !u.IsAnonymous() {
		id, name = &u.ID, u.Name
	}
	return writeAuditAs(ctx, q, at, id, name, action, object, detail, core.ClientAddrFromContext(ctx))
}

func writeAuditAs(ctx context.Context, q execer, at time.Time, actorID *core.ID, actorName, action, object string, detail any, addr string) error {
	if !reAuditAction.MatchString(action) || len(action) > 100 {
		return core.Errorf(core.EInvalid, "audit action %q: use lowercase dotted words", action)
	}
	if !utf8.ValidString(object) || utf8.RuneCountInString(object) > 500 || strings.ContainsFunc(object, unicode.IsControl) {
		return core.Errorf(core.EInvalid, "audit object must be valid UTF-8, at most 500 characters, without control characters")
	}
	if !utf8.ValidString(addr) || len(addr) > 100 || strings.ContainsFunc(addr, unicode.IsControl) {
		addr = "invalid"
	}
	body := []byte("{}")
	if detail != nil {
		var err error
		if body, err = json.Marshal(detail); err != nil {
			return core.Errorf(core.EInvalid, "audit detail is not JSON: %v", err)
		}
	}
	_, err := q.Exec(ctx, `INSERT INTO audit (at, actor, actor_name, action, object, detail, client_addr)
		VALUES ($1, $2, CASE WHEN $3 = '' THEN COALESCE((SELECT name FROM users WHERE id = $2), '') ELSE $3 END, $4, $5, $6, $7)`,
		at, actorID, actorName, action, object, body, addr)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, TranslateError(err))
	}
	return nil
}

// auditAnon writes an entry outside a transaction, logging a failure
// instead of returning it (the caller's answer does not depend on it).
func (ac *Accounts) auditAnon(ctx context.Context, actorID *core.ID, action, object string, detail any, addr string) {
	if err := ac.auditTx(ctx, ac.s.pool, actorID, "", action, object, detail, addr); err != nil {
		ac.log.Error("write audit entry", "action", action, "err", err)
	}
}

// FindAuditEntries implements core.AccountService. Requires audit.view.
func (ac *Accounts) FindAuditEntries(ctx context.Context, f core.AuditFilter) ([]*core.AuditEntry, error) {
	if err := ac.require(ctx, core.PermViewAudit); err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 1000)
	action, prefix := f.Action, ""
	if strings.HasSuffix(action, ".") {
		action, prefix = "", f.Action
	}
	rows, err := ac.s.pool.Query(ctx, `SELECT id, at, actor, actor_name, action, object, detail, client_addr FROM audit
		WHERE ($1 = '' OR action = $1) AND ($2 = '' OR starts_with(action, $2))
		  AND ($3 = '' OR lower(actor_name) = lower($3)) AND ($4 = '' OR object = $4) AND ($5 = 0 OR id < $5)
		ORDER BY id DESC LIMIT $6`, action, prefix, f.Actor, f.Object, f.Before, limit)
	if err != nil {
		return nil, fmt.Errorf("find audit entries: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.AuditEntry
	for rows.Next() {
		e := &core.AuditEntry{}
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.Action, &e.Object, &e.Detail, &e.ClientAddr); err != nil {
			return nil, fmt.Errorf("find audit entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
