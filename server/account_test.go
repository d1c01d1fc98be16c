package server_test

import (
	"context"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/api"
)

const adminPassword = "correct horse battery staple 7"

// accountSite is a site whose admin has a password and an email address,
// with mail written to a folder.
func accountSite(t *testing.T, opts server.Options) *site {
	t.Helper()
	s := newSite(t, opts)
	if err := s.k.Accounts.SetPassword(s.admin, core.AdminUserID, adminPassword); err != nil {
		t.Fatal(err)
	}
	email := "admin@example.org"
	if _, err := s.k.Store.Users().UpdateUser(s.admin, core.AdminUserID, core.UserUpdate{Email: &email}); err != nil {
		t.Fatal(err)
	}
	return s
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, h http.Handler) *browser {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return newBrowserAt(t, hs.URL)
}

func newBrowserAt(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// on returns a browser with the same cookies talking to another server.
func (b *browser) on(base string) *browser {
	nb := *b
	nb.base = base
	nb.c = &http.Client{Jar: b.c.Jar, CheckRedirect: b.c.CheckRedirect}
	// The jar is keyed by host: copy the cookies over.
	from, _ := url.Parse(b.base)
	to, _ := url.Parse(base)
	nb.c.Jar.SetCookies(to, b.c.Jar.Cookies(from))
	return &nb
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

func (b *browser) post(path string, form url.Values, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf returns the CSRF token of the form at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	res, body := b.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token", path, res.StatusCode)
	}
	return m[1]
}

// login signs in through the form and returns the response.
func (b *browser) login(name, password, dest string) (*http.Response, string) {
	b.t.Helper()
	tok := b.csrf("/user/login")
	return b.post("/user/login", url.Values{"csrf_token": {tok}, "name": {name}, "password": {password}, "destination": {dest}})
}

func (b *browser) sessionID() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == server.SessionCookie {
			return c.Value
		}
	}
	return ""
}

func (b *browser) signedIn() bool {
	b.t.Helper()
	_, body := b.get("/_island/user-menu")
	return strings.Contains(body, "Signed in as")
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	s := accountSite(t, server.Options{})
	b := newBrowser(t, s.srv)

	res, body := b.get("/user/login")
	wantStatus(t, res, http.StatusOK)
	wantContains(t, body, `action="/user/login"`, `type="password"`, `name="csrf_token"`)
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	anon := b.sessionID()
	if anon == "" {
		t.Fatal("the form started no session")
	}
	_, body = b.get("/_island/user-menu?path=/blog/hello-world")
	wantContains(t, body, `href="/user/login?destination=%2Fblog%2Fhello-world"`, "Sign in")

	// Unknown user and wrong password: the same status and page.
	resWrong, wrong := b.login("admin", "wrong password for admin", "/")
	resUnknown, unknown := b.login("nobody-here", "wrong password for admin", "/")
	wantStatus(t, resWrong, http.StatusUnauthorized)
	wantStatus(t, resUnknown, http.StatusUnauthorized)
	if strip(wrong) != strip(unknown) {
		t.Error("the answers for a wrong password and an unknown user differ")
	}
	wantLacks(t, unknown, "nobody-here")

	res, _ = b.login("admin", adminPassword, "/blog/hello-world?x=1")
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/blog/hello-world?x=1" {
		t.Errorf("redirect to %q", loc)
	}
	if id := b.sessionID(); id == "" || id == anon {
		t.Fatal("the session id was not rotated on sign-in")
	}
	res, body = b.get("/_island/user-menu")
	wantContains(t, body, "Signed in as admin", `action="/user/logout"`, `name="csrf_token"`, "Sign out")
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("island Cache-Control %q", cc)
	}

	// Sign out needs the CSRF token.
	res, _ = b.post("/user/logout", nil)
	wantStatus(t, res, http.StatusForbidden)
	if !b.signedIn() {
		t.Fatal("a POST without CSRF token signed out")
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	res, _ = b.post("/user/logout", url.Values{"csrf_token": {tok}})
	wantStatus(t, res, http.StatusSeeOther)
	if b.signedIn() {
		t.Fatal("still signed in after signing out")
	}
}

// strip removes the per-page CSRF token from a page.
func strip(body string) string { return csrfRE.ReplaceAllString(body, "") }

func TestLoginDestination(t *testing.T) {
	t.Parallel()
	s := accountSite(t, server.Options{})
	for dest, want := range map[string]string{
		"//evil.example/x":       "/",
		"https://evil.example/":  "/",
		"/\\evil.example":        "/",
		"javascript:alert(1)":    "/",
		"/ok\r\nSet-Cookie: x=1": "/",
		"/term/x?a=b":            "/term/x?a=b",
	} {
		b := newBrowser(t, s.srv)
		res, _ := b.login("admin", adminPassword, dest)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != want {
			t.Errorf("destination %q: redirect to %q, want %q", dest, loc, want)
		}
		if res.Header.Get("Set-Cookie") == "" || strings.Contains(res.Header.Get("Set-Cookie"), "x=1") {
			t.Errorf("destination %q: cookies %q", dest, res.Header.Values("Set-Cookie"))
		}
	}
}

func TestLogoutEverywhere(t *testing.T) {
	t.Parallel()
	s := accountSite(t, server.Options{})
	a, b, c := newBrowser(t, s.srv), newBrowser(t, s.srv), newBrowser(t, s.srv)
	for _, br := range []*browser{a, b, c} {
		if res, _ := br.login("admin", adminPassword, "/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
	}
	_, menu := a.get("/_island/user-menu")
	tok := csrfRE.FindStringSubmatch(menu)[1]
	res, _ := a.post("/user/logout-everywhere", url.Values{"csrf_token": {tok}})
	wantStatus(t, res, http.StatusSeeOther)
	if a.signedIn() || b.signedIn() || c.signedIn() {
		t.Fatal("a session survived log out everywhere")
	}

	// The CLI only bumps the epoch (it cannot reach the session store):
	// the session ends on its next request all the same.
	if res, _ := b.login("admin", adminPassword, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	if _, err := s.k.Accounts.LogoutEverywhere(s.admin, core.AdminUserID); err != nil {
		t.Fatal(err)
	}
	id := b.sessionID()
	if b.signedIn() {
		t.Fatal("the session survived a new session epoch")
	}
	if _, err := s.srv.Sessions().GetSession(context.Background(), id); core.ErrorCode(err) != core.ENotFound {
		t.Errorf("the ended session is still stored: %v", err)
	}
}

// TestLockoutAcrossNodesAndRestart fails sign-ins on two servers over the
// same database and Redis, then checks the lock on both and on a new
// kernel (a restart).
func TestLockoutAcrossNodesAndRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	rc, prefix := redistest.New(t)
	node := func() (*kernel.Kernel, *httptest.Server) {
		k, err := kernel.New(ctx, cfg, kernel.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(k, server.Options{Sessions: redis.NewSessionStore(rc, prefix, core.SessionTimeouts{}), Limiter: redis.NewRateLimiter(rc, prefix)})
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(srv)
		t.Cleanup(func() { hs.Close(); k.Close(ctx) })
		return k, hs
	}
	k1, n1 := node()
	_, n2 := node()
	admin, err := k1.AsUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := k1.Accounts.SetPassword(admin, core.AdminUserID, adminPassword); err != nil {
		t.Fatal(err)
	}
	b1 := newBrowserAt(t, n1.URL)
	b1.get("/user/login")
	b2 := b1.on(n2.URL)
	for i := range core.DefaultAccountLockout.MaxFailures {
		b := b1
		if i%2 == 1 {
			b = b2
		}
		if res, _ := b.login("admin", "not the password "+string(rune('a'+i)), "/"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, res.StatusCode)
		}
	}
	for _, b := range []*browser{b1, b2} {
		if res, _ := b.login("admin", adminPassword, "/"); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: the right password signed in to a locked account: %d", b.base, res.StatusCode)
		}
	}
	k1.Close(ctx)
	_, n3 := node()
	if res, _ := b1.on(n3.URL).login("admin", adminPassword, "/"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the lock did not survive a restart: %d", res.StatusCode)
	}
}

// mailedLink waits for the mail folder's newest message and returns the
// path of its link starting with prefix.
func mailedLink(t *testing.T, s *site, prefix string) string {
	t.Helper()
	s.k.Accounts.Wait()
	files, _ := filepath.Glob(filepath.Join(s.k.Config.MailDir, "*.eml"))
	if len(files) == 0 {
		t.Fatal("no mail")
	}
	f, err := os.Open(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mail.ReadMessage(f)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(quotedprintable.NewReader(m.Body))
	match := regexp.MustCompile(regexp.QuoteMeta(prefix) + `[A-Za-z0-9_-]{43}`).FindString(string(body))
	if match == "" {
		t.Fatalf("no %s link in %q", prefix, body)
	}
	return match
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	s := accountSite(t, server.Options{})
	b := newBrowser(t, s.srv)
	ask := func(name string) string {
		tok := b.csrf("/user/password")
		res, body := b.post("/user/password", url.Values{"csrf_token": {tok}, "name": {name}})
		wantStatus(t, res, http.StatusOK)
		return strip(body)
	}
	if ask("admin@example.org") != ask("nobody@example.org") {
		t.Fatal("the answer tells whether the account exists")
	}
	link := mailedLink(t, s, core.PasswordResetPath)

	res, _ := b.get(link)
	wantStatus(t, res, http.StatusOK)
	const next = "a brand new passphrase 42"
	tok := b.csrf(link)
	res, body := b.post(link, url.Values{"csrf_token": {tok}, "password": {"short"}, "confirm": {"short"}})
	wantStatus(t, res, http.StatusBadRequest)
	wantContains(t, body, "New password")
	res, _ = b.post(link, url.Values{"csrf_token": {tok}, "password": {next}, "confirm": {next}})
	wantStatus(t, res, http.StatusOK)
	res, _ = b.post(link, url.Values{"csrf_token": {tok}, "password": {next + "x"}, "confirm": {next + "x"}})
	wantStatus(t, res, http.StatusUnauthorized)

	if res, _ := b.login("admin", next, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", res.StatusCode)
	}
	if res, _ := newBrowser(t, s.srv).login("admin", next+"x", "/"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the second use of the reset link set a password: %d", res.StatusCode)
	}
}

func TestLoginLink(t *testing.T) {
	t.Parallel()
	s := accountSite(t, server.Options{})
	link, _, err := s.k.Accounts.CreateLoginLink(s.admin, "admin")
	if err != nil {
		t.Fatal(err)
	}
	path := link[strings.Index(link, core.LoginLinkPath):]
	b := newBrowser(t, s.srv)
	tok := b.csrf(path) // opening the link does not use it
	res, _ := b.post(path, url.Values{"csrf_token": {tok}})
	wantStatus(t, res, http.StatusSeeOther)
	if !b.signedIn() {
		t.Fatal("the login link did not sign in")
	}
	other := newBrowser(t, s.srv)
	tok = other.csrf(path)
	res, _ = other.post(path, url.Values{"csrf_token": {tok}})
	wantStatus(t, res, http.StatusUnauthorized)
	if other.signedIn() {
		t.Fatal("a used login link signed in again")
	}
}

// TestAccountBadInput sends malformed, oversized and forged input to every
// account form: each gets a clear 4xx, echoes nothing, changes no account
// state (no failure counted, the password still works).
func TestAccountBadInput(t *testing.T) {
	t.Parallel()
	s := accountSite(t, server.Options{RateLimits: map[string]server.RateLimit{server.ClassLogin: {}, server.ClassReset: {}, server.ClassForm: {}}})
	ctx := s.admin
	audit := func() int {
		es, err := s.k.Accounts.FindAuditEntries(ctx, core.AuditFilter{Action: "login.", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	before := audit()
	long := strings.Repeat("a", 4000)
	inject := "admin\r\nSet-Cookie: evil=1"
	b := newBrowser(t, s.srv)
	tok := b.csrf("/user/login")
	cases := map[string]struct {
		path string
		form url.Values
		hdr  []string
		want int
	}{
		"LongName":        {"/user/login", url.Values{"name": {long}, "password": {adminPassword}}, nil, 400},
		"LongPassword":    {"/user/login", url.Values{"name": {"admin"}, "password": {long}}, nil, 400},
		"BadUTF8Name":     {"/user/login", url.Values{"name": {"adm\xffin"}, "password": {adminPassword}}, nil, 400},
		"BadUTF8Password": {"/user/login", url.Values{"name": {"admin"}, "password": {"pass\xffword-long-enough"}}, nil, 400},
		"CRLFName":        {"/user/login", url.Values{"name": {inject}, "password": {adminPassword}}, nil, 400},
		"CRLFPassword":    {"/user/login", url.Values{"name": {"admin"}, "password": {adminPassword + "\r\nX: y"}}, nil, 400},
		"ResetCRLF":       {"/user/password", url.Values{"name": {"admin@example.org\r\nBcc: evil@example.org"}}, nil, 400},
		"ResetLong":       {"/user/password", url.Values{"name": {long}}, nil, 400},
		"ResetBadToken":   {"/user/reset/" + strings.Repeat("x", 10), url.Values{"password": {"a brand new passphrase 42"}, "confirm": {"a brand new passphrase 42"}}, nil, 400},
		"LinkBadToken":    {"/user/login-link/" + strings.Repeat("x", 43), url.Values{}, nil, 400},
		"NoCSRF":          {"/user/login", url.Values{"name": {"admin"}, "password": {"wrong"}, "csrf_token": nil}, nil, 403},
		"ForgedCSRF":      {"/user/login", url.Values{"name": {"admin"}, "password": {"wrong"}, "csrf_token": {strings.Repeat("A", 86)}}, nil, 403},
		"CrossOrigin":     {"/user/login", url.Values{"name": {"admin"}, "password": {"wrong"}}, []string{"Origin", "https://evil.example"}, 403},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			form := url.Values{"csrf_token": {tok}}
			for k, v := range tc.form {
				form[k] = v
			}
			if v, ok := tc.form["csrf_token"]; ok && v == nil {
				delete(form, "csrf_token")
			}
			res, body := b.post(tc.path, form, tc.hdr...)
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.want)
			}
			wantLacks(t, body, long, "evil", "\xff", "Set-Cookie")
			for _, c := range res.Cookies() {
				if c.Name != server.SessionCookie {
					t.Errorf("cookie %q set", c.Name)
				}
			}
		})
	}
	// A cookie from another site (a session id this site never made).
	other := newBrowser(t, s.srv)
	u, _ := url.Parse(other.base)
	other.c.Jar.SetCookies(u, []*http.Cookie{{Name: server.SessionCookie, Value: core.NewSessionID()}})
	res, _ := other.post("/user/login", url.Values{"csrf_token": {tok}, "name": {"admin"}, "password": {adminPassword}})
	wantStatus(t, res, http.StatusForbidden)

	if n := audit(); n != before {
		t.Errorf("bad input changed the audit log: %d login entries, were %d", n, before)
	}
	if res, _ := b.login("admin", adminPassword, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in after bad input: %d", res.StatusCode)
	}
}

// TestLoginRateLimit: the login class limits POSTs per address.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	s := accountSite(t, server.Options{RateLimits: map[string]server.RateLimit{server.ClassLogin: {Limit: 2, Window: time.Minute}}})
	b := newBrowser(t, s.srv)
	tok := b.csrf("/user/login")
	for i, want := range []int{401, 401, 429} {
		res, _ := b.post("/user/login", url.Values{"csrf_token": {tok}, "name": {"nobody"}, "password": {"wrong password here"}})
		if res.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i, res.StatusCode, want)
		}
	}
}

// TestAPITokensRefused: forged, expired and revoked bearer tokens get 401
// at /api/v1, a good one works.
func TestAPITokensRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	a, err := api.New(api.Options{Kernel: s.k, Sessions: s.srv.Sessions(), Accounts: s.k.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", a)
	mux.Handle("/", s.srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	mint := func() (string, *core.APIToken) {
		plain, tok, err := s.k.Accounts.CreateToken(s.admin, "t", []string{core.PermAccessContent}, nil, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return plain, tok
	}
	call := func(bearer string) int {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+api.Prefix+"/items", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	good, _ := mint()
	if st := call(good); st != http.StatusOK {
		t.Fatalf("a good token: %d", st)
	}
	revoked, rt := mint()
	if err := s.k.Accounts.RevokeToken(s.admin, rt.ID); err != nil {
		t.Fatal(err)
	}
	expired, et := mint()
	if _, err := s.k.Pool.Exec(context.Background(), `UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, et.ID); err != nil {
		t.Fatal(err)
	}
	forged := good[:len(good)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(good, "A")]
	for name, bearer := range map[string]string{"Forged": forged, "Revoked": revoked, "Expired": expired,
		"Malformed": "trv_" + strings.Repeat("!", 43), "Session": core.NewSessionID()} {
		if st := call(bearer); st != http.StatusUnauthorized {
			t.Errorf("%s token: %d, want 401", name, st)
		}
	}
}

// TestPreviewNeedsViewStage: a user signed in through the form who may
// not view a stage gets 404 for every page while previewing it.
func TestPreviewNeedsViewStage(t *testing.T) {
	t.Parallel()
	s := newSite(t, server.Options{})
	u := &core.User{Name: "reader", Email: "reader@example.org"}
	if err := s.k.Store.Users().CreateUser(s.admin, u); err != nil {
		t.Fatal(err)
	}
	if err := s.k.Accounts.SetPassword(s.admin, u.ID, adminPassword); err != nil {
		t.Fatal(err)
	}
	stage := &core.Stage{Name: "secret", Label: "Secret"}
	if err := s.k.Store.Stages().CreateStage(s.admin, stage); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.srv)
	if res, _ := b.login("reader", adminPassword, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	sess, err := s.srv.Sessions().GetSession(context.Background(), b.sessionID())
	if err != nil {
		t.Fatal(err)
	}
	sess.PreviewStageID = stage.ID
	if err := s.srv.Sessions().SaveSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/blog/hello-world"} {
		res, body := b.get(p)
		wantStatus(t, res, http.StatusNotFound)
		wantLacks(t, body, "Secret", "Hello &lt;World&gt;</h1>")
	}
}
