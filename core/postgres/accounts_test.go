package postgres_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/mailer"
	"github.com/trovato/trovato/core/passwords"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

// clock is a settable clock shared by the nodes of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().Truncate(time.Microsecond)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fastHasher uses OWASP's minimum parameters, to keep the tests quick.
func fastHasher(tb testing.TB) *passwords.Hasher {
	tb.Helper()
	h, err := passwords.NewHasher(passwords.MinParams, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

var testLockout = core.LockoutPolicy{MaxFailures: 3, Window: 15 * time.Minute, LockFor: 15 * time.Minute}

func mustAccounts(tb testing.TB, s *postgres.Store, clk *clock, m core.Mailer) *postgres.Accounts {
	tb.Helper()
	ac, err := postgres.NewAccounts(s, postgres.AccountsConfig{
		Hasher: fastHasher(tb), AccountLockout: testLockout,
		AddressLockout: core.LockoutPolicy{MaxFailures: 5, Window: 15 * time.Minute, LockFor: 15 * time.Minute},
		Mailer:         m, Now: clk.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ac.Wait)
	return ac
}

// node opens its own pool on the database, as another server process
// would.
func node(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	pool, err := postgres.Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	return postgres.NewStore(postgres.StoreConfig{Pool: pool, ValidateConfig: core.CheckConfigDocument})
}

const goodPassword = "plum-tree-river-stone-42"

func mustSetPassword(tb testing.TB, ac *postgres.Accounts, s *postgres.Store, name, pw string) *core.User {
	tb.Helper()
	u, err := s.Users().FindUserByName(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ac.SetPassword(asAdmin(tb, s), u.ID, pw); err != nil {
		tb.Fatal(err)
	}
	return u
}

func count(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	clk := newClock()
	ac := mustAccounts(t, s, clk, nil)
	ctx := context.Background()
	admin := mustSetPassword(t, ac, s, "admin", goodPassword)

	u, err := ac.Authenticate(ctx, "ADMIN", goodPassword, "192.0.2.1:5555")
	if err != nil || u.ID != admin.ID || !u.HasRole(core.RoleAdministrator) {
		t.Fatalf("Authenticate = %+v, %v", u, err)
	}
	_, errWrong := ac.Authenticate(ctx, "admin", goodPassword+"x", "192.0.2.1")
	_, errUnknown := ac.Authenticate(ctx, "nobody", goodPassword, "192.0.2.1")
	_, errNoPassword := ac.Authenticate(ctx, "system", goodPassword, "192.0.2.1")
	for _, err := range []error{errWrong, errUnknown, errNoPassword} {
		if core.ErrorCode(err) != core.EUnauthorized || err.Error() != errWrong.Error() {
			t.Fatalf("errors differ: wrong password %q, unknown user %q, no password %q", errWrong, errUnknown, errNoPassword)
		}
	}
	if errWrong.Error() != "unknown user or wrong password" {
		t.Fatalf("message = %q", errWrong)
	}

	// Blocked users cannot sign in, with the same answer.
	mustUser(t, s, "bea")
	bea := mustSetPassword(t, ac, s, "bea", goodPassword)
	blocked := core.UserBlocked
	if _, err := s.Users().UpdateUser(asAdmin(t, s), bea.ID, core.UserUpdate{Status: &blocked}); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Authenticate(ctx, "bea", goodPassword, ""); err == nil || err.Error() != errWrong.Error() {
		t.Fatalf("blocked user: %v", err)
	}

	// The audit log holds the sign-in, the failures and their address.
	entries, err := ac.FindAuditEntries(asAdmin(t, s), core.AuditFilter{Action: "login."})
	if err != nil {
		t.Fatal(err)
	}
	var failed, blockedSeen int
	for _, e := range entries {
		if e.Action == core.AuditLoginFailed {
			failed++
			if strings.Contains(string(e.Detail), `"blocked"`) {
				blockedSeen++
			}
		}
	}
	if failed != 4 || blockedSeen != 1 {
		t.Fatalf("audit: %d login.failed (%d blocked), want 4 (1): %+v", failed, blockedSeen, entries)
	}
	ok, err := ac.FindAuditEntries(asAdmin(t, s), core.AuditFilter{Action: core.AuditLogin})
	if err != nil || len(ok) != 1 || ok[0].ActorName != "admin" || ok[0].ClientAddr != "192.0.2.1:5555" {
		t.Fatalf("login entries = %+v, %v", ok, err)
	}
}

func TestLockoutAcrossNodesAndRestart(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDBURL(t)
	clk := newClock()
	s1, s2 := node(t, url), node(t, url)
	n1, n2 := mustAccounts(t, s1, clk, nil), mustAccounts(t, s2, clk, nil)
	mustSetPassword(t, n1, s1, "admin", goodPassword)
	ctx := context.Background()

	// Two failures on node 1, one on node 2: the account is locked on
	// both, even for the right password.
	for i, n := range []*postgres.Accounts{n1, n1, n2} {
		if _, err := n.Authenticate(ctx, "admin", "wrong password!", "198.51.100."+string(rune('1'+i))); core.ErrorCode(err) != core.EUnauthorized {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	for i, n := range []*postgres.Accounts{n1, n2} {
		if _, err := n.Authenticate(ctx, "admin", goodPassword, "198.51.100.9"); core.ErrorCode(err) != core.ERateLimit {
			t.Fatalf("node %d after 3 failures: %v, want rate_limited", i+1, err)
		}
	}
	// An unknown name locks the same way, so a lockout tells nothing.
	for range 3 {
		_, _ = n1.Authenticate(ctx, "ghost", "wrong password!", "")
	}
	if _, err := n2.Authenticate(ctx, "ghost", "wrong password!", ""); core.ErrorCode(err) != core.ERateLimit {
		t.Fatalf("unknown name after 3 failures: %v", err)
	}

	// A restart: new pools and stores on the same database.
	s3 := node(t, url)
	n3 := mustAccounts(t, s3, clk, nil)
	if _, err := n3.Authenticate(ctx, "admin", goodPassword, ""); core.ErrorCode(err) != core.ERateLimit {
		t.Fatalf("after restart: %v, want rate_limited", err)
	}
	clk.Advance(16 * time.Minute)
	if _, err := n3.Authenticate(ctx, "admin", goodPassword, ""); err != nil {
		t.Fatalf("after the lock ended: %v", err)
	}
	if n := count(t, s3.Pool(), `SELECT count(*) FROM audit WHERE action = 'login.lockout' AND object = 'account/admin'`); n != 1 {
		t.Fatalf("%d lockout entries, want 1", n)
	}
}

func TestLockoutCounting(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	clk := newClock()
	ac := mustAccounts(t, s, clk, nil)
	mustSetPassword(t, ac, s, "admin", goodPassword)
	ctx := context.Background()
	fail := func(name, addr string) {
		t.Helper()
		if _, err := ac.Authenticate(ctx, name, "wrong password!", addr); core.ErrorCode(err) != core.EUnauthorized {
			t.Fatalf("%s from %s: %v", name, addr, err)
		}
	}

	t.Run("SuccessClearsTheAccount", func(t *testing.T) {
		fail("admin", "")
		fail("admin", "")
		if _, err := ac.Authenticate(ctx, "admin", goodPassword, ""); err != nil {
			t.Fatal(err)
		}
		fail("admin", "")
		fail("admin", "")
		if _, err := ac.Authenticate(ctx, "admin", goodPassword, ""); err != nil {
			t.Fatalf("2 failures after a success locked: %v", err)
		}
	})
	t.Run("OldFailuresLeaveTheWindow", func(t *testing.T) {
		fail("admin", "")
		fail("admin", "")
		clk.Advance(16 * time.Minute)
		fail("admin", "")
		if _, err := ac.Authenticate(ctx, "admin", goodPassword, ""); err != nil {
			t.Fatalf("failures outside the window counted: %v", err)
		}
	})
	t.Run("PerAddress", func(t *testing.T) {
		// Five different names from one IPv6 /64 lock the address.
		for i, name := range []string{"a1", "a2", "a3", "a4", "a5"} {
			fail(name, "[2001:db8:1:2::"+string(rune('1'+i))+"]:443")
		}
		if _, err := ac.Authenticate(ctx, "admin", goodPassword, "2001:db8:1:2:ffff::1"); core.ErrorCode(err) != core.ERateLimit {
			t.Fatalf("locked /64: %v", err)
		}
		if _, err := ac.Authenticate(ctx, "admin", goodPassword, "2001:db8:1:3::1"); err != nil {
			t.Fatalf("another /64: %v", err)
		}
		// IPv4-mapped addresses count as IPv4.
		for _, name := range []string{"b1", "b2", "b3", "b4", "b5"} {
			fail(name, "::ffff:203.0.113.7")
		}
		if _, err := ac.Authenticate(ctx, "admin", goodPassword, "203.0.113.7:1234"); core.ErrorCode(err) != core.ERateLimit {
			t.Fatalf("locked IPv4: %v", err)
		}
	})
	t.Run("StaleRowsExpire", func(t *testing.T) {
		if n := count(t, s.Pool(), `SELECT count(*) FROM login_failure`); n == 0 {
			t.Fatal("no failures recorded")
		}
		clk.Advance(16 * time.Minute)
		fail("zz", "")
		if n := count(t, s.Pool(), `SELECT count(*) FROM login_failure WHERE key <> 'zz'`); n != 0 {
			t.Fatalf("%d failures outside every window remain", n)
		}
		if n := count(t, s.Pool(), `SELECT count(*) FROM login_lock`); n != 0 {
			t.Fatalf("%d ended locks remain", n)
		}
	})
}

func TestBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	clk := newClock()
	dir := t.TempDir()
	fm, err := mailer.NewFolder(dir, "site@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	ac := mustAccounts(t, s, clk, fm)
	admin := mustSetPassword(t, ac, s, "admin", goodPassword)
	ctx := context.Background()
	actx := asAdmin(t, s)
	state := func() string {
		var hash string
		var epoch int64
		if err := s.Pool().QueryRow(ctx, `SELECT password_hash, session_epoch FROM users WHERE id = $1`, admin.ID).Scan(&hash, &epoch); err != nil {
			t.Fatal(err)
		}
		return hash + " " + string(rune(epoch)) + " " + string(rune(count(t, s.Pool(), `SELECT count(*) FROM login_failure`))) +
			string(rune(count(t, s.Pool(), `SELECT count(*) FROM audit`))) + string(rune(count(t, s.Pool(), `SELECT count(*) FROM account_token`))) +
			string(rune(count(t, s.Pool(), `SELECT count(*) FROM api_token`)))
	}
	before := state()
	long := strings.Repeat("n", 61)
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"NameTooLong", func() error { _, err := ac.Authenticate(ctx, long, goodPassword, ""); return err }},
		{"NameHuge", func() error {
			_, err := ac.Authenticate(ctx, strings.Repeat("é", 100000), goodPassword, "")
			return err
		}},
		{"NameInvalidUTF8", func() error { _, err := ac.Authenticate(ctx, "adm\xffin", goodPassword, ""); return err }},
		{"NameCRLF", func() error { _, err := ac.Authenticate(ctx, "admin\r\nX-Injected: 1", goodPassword, ""); return err }},
		{"NameNUL", func() error { _, err := ac.Authenticate(ctx, "admin\x00", goodPassword, ""); return err }},
		{"PasswordTooLong", func() error { _, err := ac.Authenticate(ctx, "admin", strings.Repeat("p", 129), ""); return err }},
		{"PasswordHuge", func() error { _, err := ac.Authenticate(ctx, "admin", strings.Repeat("p", 1<<20), ""); return err }},
		{"PasswordInvalidUTF8", func() error { _, err := ac.Authenticate(ctx, "admin", goodPassword+"\xc3", ""); return err }},
		{"PasswordCRLF", func() error { _, err := ac.Authenticate(ctx, "admin", goodPassword+"\r\n", ""); return err }},
		{"AddressGarbage", func() error { _, err := ac.Authenticate(ctx, "admin", goodPassword, "1.2.3.4\r\nX: y"); return err }},
		{"SetPasswordShort", func() error { return ac.SetPassword(actx, admin.ID, "short") }},
		{"SetPasswordCommon", func() error { return ac.SetPassword(actx, admin.ID, "qwertyuiop123") }},
		{"SetPasswordControl", func() error { return ac.SetPassword(actx, admin.ID, goodPassword+"\x1b[2J") }},
		{"SetPasswordTooLong", func() error { return ac.SetPassword(actx, admin.ID, strings.Repeat("abcdefgh", 17)) }},
		{"ResetCRLF", func() error { return ac.RequestReset(ctx, "admin@localhost\r\nBcc: victim@example.org", "") }},
		{"ResetInvalidUTF8", func() error { return ac.RequestReset(ctx, "admin\xff", "") }},
		{"ResetTooLong", func() error { return ac.RequestReset(ctx, strings.Repeat("a", 255)+"@x.org", "") }},
		{"ResetTokenCRLF", func() error { return ac.ResetPassword(ctx, strings.Repeat("A", 41)+"\r\n", goodPassword) }},
		{"LoginLinkCRLF", func() error { _, err := ac.ConsumeLoginLink(ctx, strings.Repeat("A", 41)+"\r\n"); return err }},
		{"LoginLinkLong", func() error { _, err := ac.ConsumeLoginLink(ctx, strings.Repeat("A", 4000)); return err }},
		{"LoginLinkNameCRLF", func() error { _, _, err := ac.CreateLoginLink(actx, "admin\r\n"); return err }},
		{"TokenNameCRLF", func() error {
			_, _, err := ac.CreateToken(actx, "ci\r\nX-Evil: 1", nil, nil, time.Time{})
			return err
		}},
		{"TokenNameEmpty", func() error { _, _, err := ac.CreateToken(actx, "", nil, nil, time.Time{}); return err }},
		{"TokenPast", func() error { _, _, err := ac.CreateToken(actx, "ci", nil, nil, clk.Now().Add(-time.Hour)); return err }},
		{"TokenTooLong", func() error {
			_, _, err := ac.CreateToken(actx, "ci", nil, nil, clk.Now().Add(400*24*time.Hour))
			return err
		}},
		{"TokenUnknownPermission", func() error {
			_, _, err := ac.CreateToken(actx, "ci", []string{"no.such"}, nil, time.Time{})
			return err
		}},
		{"AuditAction", func() error { return ac.Audit(actx, "Bad Action\r\n", "x", nil) }},
		{"AuditObject", func() error { return ac.Audit(actx, "x.y", "a\nb", nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if core.ErrorCode(err) != core.EInvalid {
				t.Fatalf("err = %v (%s), want invalid", err, core.ErrorCode(err))
			}
			if strings.ContainsAny(core.ErrorMessage(err), "\r\n\x00") {
				t.Fatalf("message carries control characters: %q", core.ErrorMessage(err))
			}
			if after := state(); after != before {
				t.Fatal("account state changed")
			}
		})
	}
	// Bearer tokens with injected headers or forged content are refused
	// as unauthorized.
	for _, tok := range []string{"", "trv_", "trv_" + strings.Repeat("A", 43) + "\r\nX: y", "Bearer trv_x", "trv_" + strings.Repeat("é", 43)} {
		if _, _, err := ac.VerifyToken(ctx, tok); core.ErrorCode(err) != core.EUnauthorized {
			t.Fatalf("VerifyToken(%q) = %v", tok, err)
		}
	}
	ac.Wait()
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("mail was sent: %v", files)
	}
}

var reLink = regexp.MustCompile(`https?://\S+/user/(?:reset|login-link)/([A-Za-z0-9_-]{43})`)

func readMails(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Undo quoted-printable soft line breaks for the link.
		out = append(out, strings.ReplaceAll(string(b), "=\r\n", ""))
	}
	return out
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	clk := newClock()
	dir := t.TempDir()
	fm, err := mailer.NewFolder(dir, "site@example.org", nil)
	if err != nil {
		t.Fatal(err)
	}
	ac := mustAccounts(t, s, clk, fm)
	admin := mustSetPassword(t, ac, s, "admin", goodPassword)
	mustPut(t, asAdmin(t, s), s, "site", "site", `{"kind": "site", "name": "site", "site_name": "T", "base_url": "https://cms.example.org/"}`)
	ctx := context.Background()

	// Unknown accounts get the same answer, and no mail.
	for _, who := range []string{"nobody", "nobody@example.org", "system"} {
		if err := ac.RequestReset(ctx, who, "192.0.2.1"); err != nil {
			t.Fatalf("RequestReset(%s) = %v", who, err)
		}
	}
	ac.Wait()
	if m := readMails(t, dir); len(m) != 0 {
		t.Fatalf("mail for unknown accounts: %v", m)
	}

	if err := ac.RequestReset(ctx, "ADMIN@localhost", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	// A second request within minutes sends nothing more.
	if err := ac.RequestReset(ctx, "admin", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	ac.Wait()
	mails := readMails(t, dir)
	if len(mails) != 1 || !strings.Contains(mails[0], "To: admin@localhost\r\n") || !strings.Contains(mails[0], "https://cms.example.org/user/reset/") {
		t.Fatalf("mails = %q", mails)
	}
	token := reLink.FindStringSubmatch(mails[0])[1]
	epoch, _ := ac.SessionEpoch(ctx, admin.ID)

	// A weak password is refused and leaves the token usable.
	if err := ac.ResetPassword(ctx, token, "password1234"); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("weak password: %v", err)
	}
	const next = "a-new-and-longer-passphrase"
	if err := ac.ResetPassword(ctx, token, next); err != nil {
		t.Fatal(err)
	}
	if err := ac.ResetPassword(ctx, token, next+"2"); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("second use: %v", err)
	}
	if e2, _ := ac.SessionEpoch(ctx, admin.ID); e2 != epoch+1 {
		t.Fatalf("epoch %d -> %d, want +1", epoch, e2)
	}
	if _, err := ac.Authenticate(ctx, "admin", goodPassword, ""); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("old password still works: %v", err)
	}
	if _, err := ac.Authenticate(ctx, "admin", next, ""); err != nil {
		t.Fatalf("new password: %v", err)
	}

	// Expired after an hour; a forged token is unknown.
	clk.Advance(10 * time.Minute)
	_ = ac.RequestReset(ctx, "admin", "")
	ac.Wait()
	var fresh string
	for _, m := range readMails(t, dir) {
		if tok := reLink.FindStringSubmatch(m)[1]; tok != token {
			fresh = tok
		}
	}
	clk.Advance(61 * time.Minute)
	if err := ac.ResetPassword(ctx, fresh, "yet-another-passphrase"); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("expired token: %v", err)
	}
	if err := ac.ResetPassword(ctx, strings.Repeat("A", 43), "yet-another-passphrase"); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("forged token: %v", err)
	}

	// A successful sign-in invalidates an outstanding reset token.
	_ = ac.RequestReset(ctx, "admin", "")
	ac.Wait()
	var pending string
	for _, m := range readMails(t, dir) {
		if tok := reLink.FindStringSubmatch(m)[1]; tok != token && tok != fresh {
			pending = tok
		}
	}
	if _, err := ac.Authenticate(ctx, "admin", next, ""); err != nil {
		t.Fatal(err)
	}
	if err := ac.ResetPassword(ctx, pending, "yet-another-passphrase"); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("token after sign-in: %v", err)
	}
	if n := count(t, s.Pool(), `SELECT count(*) FROM audit WHERE action = 'password.reset'`); n != 1 {
		t.Fatalf("%d password.reset entries", n)
	}
}

func TestLoginLink(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	clk := newClock()
	ac := mustAccounts(t, s, clk, nil)
	ctx := context.Background()
	mustUser(t, s, "carla")

	link, exp, err := ac.CreateLoginLink(asAdmin(t, s), "Carla")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, postgres.DefaultBaseURL+core.LoginLinkPath) || !exp.Equal(clk.Now().Add(15*time.Minute)) {
		t.Fatalf("link %q expires %v", link, exp)
	}
	token := strings.TrimPrefix(link, postgres.DefaultBaseURL+core.LoginLinkPath)
	u, err := ac.ConsumeLoginLink(ctx, token)
	if err != nil || u.Name != "carla" {
		t.Fatalf("ConsumeLoginLink = %+v, %v", u, err)
	}
	if _, err := ac.ConsumeLoginLink(ctx, token); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("second use: %v", err)
	}
	link, _, _ = ac.CreateLoginLink(asAdmin(t, s), "carla")
	clk.Advance(15*time.Minute + time.Second)
	if _, err := ac.ConsumeLoginLink(ctx, link[strings.LastIndexByte(link, '/')+1:]); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("expired link: %v", err)
	}
	// Only users.administer makes links.
	if _, _, err := ac.CreateLoginLink(mustUser(t, s, "dora"), "carla"); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("link by a plain user: %v", err)
	}
	if _, _, err := ac.CreateLoginLink(asAdmin(t, s), "nobody"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("link for nobody: %v", err)
	}
}

func TestSessionEpoch(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ac := mustAccounts(t, s, newClock(), nil)
	ectx := mustUser(t, s, "eve")
	eve := core.UserFromContext(ectx)
	e0, err := ac.SessionEpoch(context.Background(), eve.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Eve has no password yet (a login link brought her in): she sets one
	// without a current one; SetPassword is for administrators.
	if err := ac.SetPassword(ectx, eve.ID, goodPassword); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("SetPassword by eve herself: %v", err)
	}
	if err := ac.ChangePassword(ectx, "", goodPassword); err != nil {
		t.Fatal(err)
	}
	if err := ac.ChangePassword(ectx, "", "a-takeover-passphrase"); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("empty current password once she has one: %v", err)
	}
	e1, err := ac.LogoutEverywhere(ectx, eve.ID)
	if err != nil || e1 != e0+2 {
		t.Fatalf("epochs %d -> %d, %v", e0, e1, err)
	}
	// Another plain user may do neither to eve.
	fctx := mustUser(t, s, "fred")
	if _, err := ac.LogoutEverywhere(fctx, eve.ID); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("fred logs eve out: %v", err)
	}
	if err := ac.SetPassword(fctx, eve.ID, goodPassword+"!"); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("fred sets eve's password: %v", err)
	}
	// ChangePassword needs the current one.
	if err := ac.ChangePassword(ectx, "not the password", "another-good-passphrase"); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := ac.ChangePassword(ectx, goodPassword, "another-good-passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.SessionEpoch(context.Background(), core.NewID()); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestRehashOnLogin(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	clk := newClock()
	old := mustAccounts(t, s, clk, nil)
	mustSetPassword(t, old, s, "admin", goodPassword)
	raised := passwords.MinParams
	raised.Memory = 24 * 1024
	h, err := passwords.NewHasher(raised, 0)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := postgres.NewAccounts(s, postgres.AccountsConfig{Hasher: h, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.Authenticate(context.Background(), "admin", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	var hash string
	_ = s.Pool().QueryRow(context.Background(), `SELECT password_hash FROM users WHERE name = 'admin'`).Scan(&hash)
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=24576,t=2,p=1$") {
		t.Fatalf("hash after login = %q", hash)
	}
	if _, err := ac.Authenticate(context.Background(), "admin", goodPassword, ""); err != nil {
		t.Fatalf("login after rehash: %v", err)
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	clk := newClock()
	ac := mustAccounts(t, s, clk, nil)
	ctx := context.Background()
	ectx := mustUser(t, s, "ed", core.RoleEditor)
	ed := core.UserFromContext(ectx)
	st := &core.Stage{Name: "spring"}
	if err := s.Stages().CreateStage(ectx, st); err != nil {
		t.Fatal(err)
	}

	// Permissions the owner does not hold are refused.
	if _, _, err := ac.CreateToken(ectx, "sync", []string{core.PermAdministerUsers}, nil, time.Time{}); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("token with a permission ed lacks: %v", err)
	}
	plain, tok, err := ac.CreateToken(ectx, "desktop sync", []string{core.PermUploadFiles, core.PermAdministerContent, core.PermUploadFiles}, &st.ID, clk.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, "trv_") || len(plain) != 47 || len(tok.Permissions) != 2 || *tok.StageID != st.ID {
		t.Fatalf("token %q %+v", plain, tok)
	}
	if n := count(t, s.Pool(), `SELECT count(*) FROM api_token WHERE position($1 in encode(hash, 'escape')) > 0`, plain); n != 0 {
		t.Fatal("the plaintext is stored")
	}

	u, got, err := ac.VerifyToken(core.NewContextWithClientAddr(ctx, "192.0.2.5"), plain)
	if err != nil || u.ID != ed.ID || got.ID != tok.ID || got.LastUsedAt == nil {
		t.Fatalf("VerifyToken = %+v %+v %v", u, got, err)
	}
	scope := got.Scope()
	if !scope.Allows(core.PermUploadFiles) || scope.Allows(core.PermCreateStage) ||
		!scope.AllowsStage(st.ID, core.OpEdit) || scope.AllowsStage(core.LiveStageID, core.OpEdit) || !scope.AllowsStage(core.LiveStageID, core.OpView) {
		t.Fatalf("scope %+v", scope)
	}
	// A token-scoped request cannot mint a broader token, nor read the
	// audit log it was not given.
	sctx := core.NewContextWithTokenScope(ectx, scope)
	if _, _, err := ac.CreateToken(sctx, "wider", []string{core.PermCreateStage}, &st.ID, time.Time{}); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("broader token from a token: %v", err)
	}
	if _, _, err := ac.CreateToken(sctx, "unstaged", []string{core.PermUploadFiles}, nil, time.Time{}); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("unstaged token from a staged one: %v", err)
	}
	if _, err := ac.FindAuditEntries(core.NewContextWithTokenScope(asAdmin(t, s), &core.TokenScope{}), core.AuditFilter{}); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("audit through a token without audit.view: %v", err)
	}

	// Use is recorded at most once a minute.
	_, _, _ = ac.VerifyToken(ctx, plain)
	clk.Advance(2 * time.Minute)
	_, _, _ = ac.VerifyToken(ctx, plain)
	if n := count(t, s.Pool(), `SELECT count(*) FROM audit WHERE action = 'token.use'`); n != 2 {
		t.Fatalf("%d token.use entries, want 2", n)
	}

	// Forged: right shape, wrong secret; and one character changed.
	for _, forged := range []string{"trv_" + strings.Repeat("A", 43), plain[:len(plain)-2] + map[bool]string{true: "AA", false: "BA"}[plain[len(plain)-2:] != "AA"]} {
		if _, _, err := ac.VerifyToken(ctx, forged); core.ErrorCode(err) != core.EUnauthorized {
			t.Fatalf("forged %q: %v", forged, err)
		}
	}
	// Expired.
	clk.Advance(24 * time.Hour)
	if _, _, err := ac.VerifyToken(ctx, plain); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("expired: %v", err)
	}
	// Revoked (by its owner; another user cannot even see it).
	plain2, tok2, err := ac.CreateToken(ectx, "script", nil, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ac.VerifyToken(ctx, plain2); err != nil {
		t.Fatal(err)
	}
	if err := ac.RevokeToken(mustUser(t, s, "mallory"), tok2.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("revoke by another user: %v", err)
	}
	if err := ac.RevokeToken(ectx, tok2.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ac.VerifyToken(ctx, plain2); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("revoked: %v", err)
	}
	list, err := ac.FindTokens(ectx, ed.ID)
	if err != nil || len(list) != 2 || list[1].RevokedAt == nil || list[0].LastUsedAt == nil {
		t.Fatalf("FindTokens = %+v, %v", list, err)
	}
	// A blocked owner's tokens stop working.
	plain3, _, _ := ac.CreateToken(ectx, "third", nil, nil, time.Time{})
	blocked := core.UserBlocked
	if _, err := s.Users().UpdateUser(asAdmin(t, s), ed.ID, core.UserUpdate{Status: &blocked}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ac.VerifyToken(ctx, plain3); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("blocked owner: %v", err)
	}
	for _, action := range []string{core.AuditTokenCreate, core.AuditTokenRevoke} {
		if n := count(t, s.Pool(), `SELECT count(*) FROM audit WHERE action = $1 AND actor = $2`, action, ed.ID); n == 0 {
			t.Errorf("no %s entry", action)
		}
	}
}

func TestAuditLog(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ac := mustAccounts(t, s, newClock(), nil)
	actx := core.NewContextWithClientAddr(asAdmin(t, s), "192.0.2.44")
	for i := range 3 {
		if err := ac.Audit(actx, "stage.publish", "stage/spring", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ac.Audit(actx, "role.grant", "role/editor", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit(actx, "role.grant", "role/editor", map[string]string{"permission": "files.upload"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Audit(actx, "role.grant", "role/x\r\nforged", nil); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("object with CR/LF: %v", err)
	}
	if grants, err := ac.FindAuditEntries(actx, core.AuditFilter{Action: "role.", Object: "role/editor"}); err != nil || len(grants) != 2 || grants[0].ActorName != "admin" {
		t.Fatalf("role entries = %+v, %v", grants, err)
	}
	es, err := ac.FindAuditEntries(actx, core.AuditFilter{Action: "stage.publish", Limit: 2})
	if err != nil || len(es) != 2 || es[0].ID < es[1].ID || es[0].ClientAddr != "192.0.2.44" || es[0].ActorName != "admin" {
		t.Fatalf("entries = %+v, %v", es, err)
	}
	var d map[string]int
	if err := json.Unmarshal(es[0].Detail, &d); err != nil || d["n"] != 2 {
		t.Fatalf("detail %s", es[0].Detail)
	}
	more, _ := ac.FindAuditEntries(actx, core.AuditFilter{Action: "stage.publish", Before: es[1].ID})
	if len(more) != 1 {
		t.Fatalf("page 2 = %+v", more)
	}
	if _, err := ac.FindAuditEntries(mustUser(t, s, "gina", core.RoleEditor), core.AuditFilter{}); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("editor reads the audit log: %v", err)
	}
	if _, err := ac.FindAuditEntries(context.Background(), core.AuditFilter{}); core.ErrorCode(err) != core.EUnauthorized {
		t.Fatalf("anonymous reads the audit log: %v", err)
	}
}

// BenchmarkAuthenticate signs in through the database with the default
// parameters and reports logins per second.
func BenchmarkAuthenticate(b *testing.B) {
	s := MustStore(b)
	ac, err := postgres.NewAccounts(s, postgres.AccountsConfig{})
	if err != nil {
		b.Fatal(err)
	}
	admin, _ := s.Users().FindUserByName(context.Background(), "admin")
	if err := ac.SetPassword(asAdmin(b, s), admin.ID, goodPassword); err != nil {
		b.Fatal(err)
	}
	p := passwords.DefaultParams
	b.Logf("argon2id m=%d KiB, t=%d, p=%d", p.Memory, p.Time, p.Threads)
	for b.Loop() {
		if _, err := ac.Authenticate(context.Background(), "admin", goodPassword, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

func TestSingleUseUnderConcurrency(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDBURL(t)
	clk := newClock()
	s1, s2 := node(t, url), node(t, url)
	n1, n2 := mustAccounts(t, s1, clk, nil), mustAccounts(t, s2, clk, nil)
	mustUser(t, s1, "hana")
	for round := range 5 {
		link, _, err := n1.CreateLoginLink(asAdmin(t, s1), "hana")
		if err != nil {
			t.Fatal(err)
		}
		token := link[strings.LastIndexByte(link, '/')+1:]
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n := []*postgres.Accounts{n1, n2}[i%2]
				_, err := n.ConsumeLoginLink(context.Background(), token)
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if core.ErrorCode(err) != core.EUnauthorized {
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("round %d: the link worked %d times", round, wins)
		}
	}
}

// BenchmarkAuthenticateFailure compares a wrong password with an unknown
// user: both verify one hash with the same parameters, so their times
// should match (compare the two ns/op).
func BenchmarkAuthenticateFailure(b *testing.B) {
	s := MustStore(b)
	never := core.LockoutPolicy{MaxFailures: 1 << 30, Window: time.Minute, LockFor: time.Minute}
	ac, err := postgres.NewAccounts(s, postgres.AccountsConfig{AccountLockout: never, AddressLockout: never})
	if err != nil {
		b.Fatal(err)
	}
	admin, _ := s.Users().FindUserByName(context.Background(), "admin")
	if err := ac.SetPassword(asAdmin(b, s), admin.ID, goodPassword); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, user string }{{"wrong_password", "admin"}, {"unknown_user", "nobody"}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ac.Authenticate(context.Background(), bc.user, "not the password", "192.0.2.1"); core.ErrorCode(err) != core.EUnauthorized {
					b.Fatal(err)
				}
			}
		})
	}
}
