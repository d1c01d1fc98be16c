package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres/pgtest"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/core/redis/redistest"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/api"
)

// cachingNode is one serve node as cmd_serve wires it: sessions and the
// tag cache on a shared Redis, its own commits' tags bumped at once, the
// signed-in user cache following the invalidation channel, the change
// feed tailed for writers without Redis, and the API mounted.
func cachingNode(t *testing.T, cfg kernel.Config, rc *goredis.Client, prefix string) (*kernel.Kernel, *httptest.Server) {
	t.Helper()
	k, hs, _ := cachingNodeTier(t, cfg, rc, prefix)
	return k, hs
}

// cachingNodeTier is cachingNode, also returning its session tier.
func cachingNodeTier(t *testing.T, cfg kernel.Config, rc *goredis.Client, prefix string) (*kernel.Kernel, *httptest.Server, *redis.SessionTier) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tags := redis.NewTagCache(rc, prefix)
	k.Store.OnCommit(func(changes []core.Change) {
		var tg []string
		for _, c := range changes {
			tg = append(tg, core.TagsForChange(c)...)
		}
		if err := tags.BumpTags(context.Background(), tg...); err != nil {
			t.Errorf("bump tags: %v", err)
		}
	})
	done := make(chan struct{}, 2)
	go func() { k.SessionUsers.Follow(ctx, rc, prefix, nil); done <- struct{}{} }()
	inv := &kernel.Invalidator{Feed: k.Store.Feed(), Cache: tags, Interval: 50 * time.Millisecond, Changed: k.SessionUsers.Apply}
	go func() { _ = inv.Run(ctx); done <- struct{}{} }()
	sessions := redis.NewSessionTier(ctx, redis.NewSessionStore(rc, prefix, core.SessionTimeouts{}), redis.SessionTierOptions{})
	var site http.Handler
	apiH, err := api.New(api.Options{Kernel: k, Sessions: sessions, Accounts: k.Accounts,
		Site: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { site.ServeHTTP(w, r) })})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(k, server.Options{Sessions: sessions, Limiter: redis.NewRateLimiter(rc, prefix),
		RateLimits: map[string]server.RateLimit{server.ClassLogin: {}}, // tests sign in often
		Mounts:     map[string]http.Handler{api.Prefix + "/": apiH}})
	if err != nil {
		t.Fatal(err)
	}
	site = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		<-done
		sessions.Close()
		k.Close(context.Background())
	})
	for deadline := time.Now().Add(5 * time.Second); !k.SessionUsers.Caching() || !sessions.Subscribed(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the session user cache or the session tier never subscribed")
		}
	}
	return k, hs, sessions
}

// menuName returns who the user menu says is signed in ("" for nobody).
func menuName(b *browser) string {
	b.t.Helper()
	_, body := b.get("/_island/user-menu")
	_, after, ok := strings.Cut(body, "Signed in as")
	if !ok {
		return ""
	}
	after = strings.TrimSpace(after)
	if i := strings.IndexAny(after, "<\n"); i >= 0 {
		after = after[:i]
	}
	return strings.TrimSpace(after)
}

// within waits up to a second for the user menu to say want.
func within(t *testing.T, b *browser, want, what string) {
	t.Helper()
	start := time.Now()
	for {
		got := menuName(b)
		if got == want {
			t.Logf("%s: seen after %v", what, time.Since(start).Round(time.Microsecond))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("%s: the menu says %q, want %q", what, got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSessionUsersAcrossNodes checks that a node serves signed-in users
// from its cache, and that every change reaches it: a rename, a role
// change and a block made on another node (pub/sub), and "log out
// everywhere" from a process without Redis (the CLI; change feed) — for
// the site and for API cookie sessions.
func TestSessionUsersAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	rc, prefix := redistest.New(t)
	k1, _ := cachingNode(t, cfg, rc, prefix)
	_, n2 := cachingNode(t, cfg, rc, prefix)
	admin, ed := addEditor(t, k1)
	b := newBrowserAt(t, n2.URL)
	if res, _ := b.login("ed", adminPassword, "/"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	within(t, b, "ed", "signed in")

	// A write that bypasses the kernel (no feed row, no tags) is not seen:
	// node 2 answers from its cache.
	if _, err := k1.Pool.Exec(ctx, `UPDATE users SET name = 'edward' WHERE id = $1`, ed.ID); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := menuName(b); got != "ed" {
			t.Fatalf("node 2 read the user again (%q): it does not cache", got)
		}
	}

	name := "edwin"
	if _, err := k1.Store.Users().UpdateUser(admin, ed.ID, core.UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	within(t, b, "edwin", "a rename on node 1")

	// A role change drops every cached user (roles are part of each).
	if _, err := k1.Pool.Exec(ctx, `UPDATE users SET name = 'eddie' WHERE id = $1`, ed.ID); err != nil {
		t.Fatal(err)
	}
	if err := k1.Store.Users().CreateRole(admin, &core.Role{Name: "helper"}); err != nil {
		t.Fatal(err)
	}
	within(t, b, "eddie", "a role change on node 1")

	blocked, active := core.UserBlocked, core.UserActive
	if _, err := k1.Store.Users().UpdateUser(admin, ed.ID, core.UserUpdate{Status: &blocked}); err != nil {
		t.Fatal(err)
	}
	within(t, b, "", "a block on node 1")
	if _, err := k1.Store.Users().UpdateUser(admin, ed.ID, core.UserUpdate{Status: &active}); err != nil {
		t.Fatal(err)
	}
	within(t, b, "eddie", "unblocked on node 1")

	// The CLI reaches no Redis: node 2 learns from the change feed.
	apiSession := func() string {
		t.Helper()
		res, body := b.get(api.Prefix + "/session")
		if res.StatusCode == http.StatusUnauthorized {
			return "" // anonymous
		}
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /session: %d %s", res.StatusCode, body)
		}
		var out struct {
			User struct{ Name string } `json:"user"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		return out.User.Name
	}
	if got := apiSession(); got != "eddie" {
		t.Fatalf("API session user %q", got)
	}
	cliCfg := cfg
	cli, err := kernel.New(ctx, cliCfg, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close(ctx)
	cliAdmin, _ := cli.AsUser(ctx, "admin")
	old := b.sessionID()
	if _, err := cli.Accounts.LogoutEverywhere(cliAdmin, ed.ID); err != nil {
		t.Fatal(err)
	}
	within(t, b, "", "log out everywhere from the CLI")
	// The API refuses the ended session too (the browser still sends it).
	u2, _ := url.Parse(n2.URL)
	b.c.Jar.SetCookies(u2, []*http.Cookie{{Name: server.SessionCookie, Value: old, Path: "/"}})
	if got := apiSession(); got != "" {
		t.Fatalf("API session after log out everywhere: %q", got)
	}
}

// menuAs returns who base's user menu says is signed in with the session
// cookie id ("" for nobody), and its CSRF token.
func menuAs(t *testing.T, base, id string) (string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/_island/user-menu", nil)
	req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: id})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	tok := ""
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		tok = m[1]
	}
	_, after, ok := strings.Cut(body, "Signed in as")
	if !ok {
		return "", tok
	}
	after = strings.TrimSpace(after)
	if i := strings.IndexAny(after, "<\n"); i >= 0 {
		after = after[:i]
	}
	return strings.TrimSpace(after), tok
}

// TestSessionTierAcrossServers: two server nodes keep sessions in process
// (redis.SessionTier). Once a session is held by both, log out
// everywhere, log out and the rotation of a new sign-in on node 1 are
// refused by node 2 as soon as it has read node 1's message (refused).
func TestSessionTierAcrossServers(t *testing.T) {
	t.Parallel()
	cfg := kernel.DefaultConfig(t.TempDir())
	cfg.DatabaseURL = pgtest.NewDBURL(t)
	rc, prefix := redistest.New(t)
	k1, n1, _ := cachingNodeTier(t, cfg, rc, prefix)
	_, n2, tier2 := cachingNodeTier(t, cfg, rc, prefix)
	addEditor(t, k1)
	// signedIn signs in on node 1 and makes both nodes hold the session.
	signedIn := func(t *testing.T, b *browser) (id, tok string) {
		t.Helper()
		if res, _ := b.login("ed", adminPassword, "/"); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.StatusCode)
		}
		id = b.sessionID()
		for _, base := range []string{n1.URL, n2.URL} {
			if name, _ := menuAs(t, base, id); name != "ed" {
				t.Fatalf("%s: signed in as %q", base, name)
			}
		}
		reads := tier2.Reads()
		name, tok := menuAs(t, n2.URL, id)
		if name != "ed" || tier2.Reads() != reads {
			t.Fatalf("node 2 does not hold the session: %q, %d reads", name, tier2.Reads()-reads)
		}
		return id, tok
	}
	// refused: node 2 refuses the session once it has read node 1's
	// message, which Redis wrote to its socket before node 1 answered;
	// reading it takes node 2 a few milliseconds under load, so a
	// request sent at once may still be served from the copy.
	refused := func(t *testing.T, id, what string) {
		t.Helper()
		start := time.Now()
		for {
			name, _ := menuAs(t, n2.URL, id)
			if name == "" {
				return
			}
			if time.Since(start) > 2*time.Second {
				t.Fatalf("node 2 still signs %q in with the session 2 s after %s on node 1", name, what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for i := range 3 {
		t.Run(fmt.Sprint("LogoutEverywhere", i), func(t *testing.T) {
			b := newBrowserAt(t, n1.URL)
			id, tok := signedIn(t, b)
			other := newBrowserAt(t, n1.URL)
			otherID, _ := signedIn(t, other)
			if res, _ := b.post("/user/logout-everywhere", url.Values{"csrf_token": {tok}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("log out everywhere: %d", res.StatusCode)
			}
			refused(t, otherID, "log out everywhere")
			refused(t, id, "log out everywhere")
		})
		t.Run(fmt.Sprint("Logout", i), func(t *testing.T) {
			b := newBrowserAt(t, n1.URL)
			id, tok := signedIn(t, b)
			if res, _ := b.post("/user/logout", url.Values{"csrf_token": {tok}}); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("log out: %d", res.StatusCode)
			}
			refused(t, id, "log out")
		})
		t.Run(fmt.Sprint("RotateOnSignIn", i), func(t *testing.T) {
			b := newBrowserAt(t, n1.URL)
			id, _ := signedIn(t, b)
			if res, _ := b.login("ed", adminPassword, "/"); res.StatusCode != http.StatusSeeOther {
				t.Fatalf("second sign-in: %d", res.StatusCode)
			}
			if b.sessionID() == id {
				t.Fatal("the sign-in did not rotate the session")
			}
			refused(t, id, "a sign-in's rotation")
			if name, _ := menuAs(t, n2.URL, b.sessionID()); name != "ed" {
				t.Fatalf("node 2 with the rotated session: %q", name)
			}
		})
	}
}

// addEditor creates the editor "ed" (password adminPassword) as k's admin.
func addEditor(t *testing.T, k *kernel.Kernel) (admin context.Context, ed *core.User) {
	t.Helper()
	admin, err := k.AsUser(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	ed = &core.User{Name: "ed", Email: "ed@example.org", Roles: []string{core.RoleEditor}}
	if err := k.Store.Users().CreateUser(admin, ed); err != nil {
		t.Fatal(err)
	}
	if err := k.Accounts.SetPassword(admin, ed.ID, adminPassword); err != nil {
		t.Fatal(err)
	}
	return admin, ed
}
