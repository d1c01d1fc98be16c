package server_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server"
)

func TestComments(t *testing.T) {
	s := newSite(t, server.Options{})
	tc := memory.NewTagCache(100)
	srv, err := server.New(s.k, server.Options{PageCache: tc, Sessions: s.srv.Sessions()})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	sess, hdr := s.session(core.AdminUserID, core.LiveStageID)
	page := "/blog/hello-world"
	post := func(body string) *http.Response {
		t.Helper()
		form := url.Values{"csrf_token": {sess.NewCSRFToken()}, "body": {body}}
		if strings.HasPrefix(body, "reply:") {
			form.Set("parent", strings.TrimPrefix(body, "reply:")[:36])
			form.Set("body", "A reply")
		}
		return s.do(http.MethodPost, "/comment/"+s.item.ID.String(), map[string]string{"Cookie": hdr["Cookie"],
			"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode()))
	}

	_, body := s.get(page, nil)
	wantContains(t, body, "No comments yet", `data-island="comment-form"`)
	if res, _ := s.get(page, nil); res.Header.Get(server.CacheHeader) != "hit" {
		t.Fatal("page not cached")
	}

	t.Run("Island", func(t *testing.T) {
		_, anon := s.get("/_island/comment-form?path="+page, nil)
		wantContains(t, anon, "Sign in to comment")
		wantLacks(t, anon, "<form")
		_, signed := s.get("/_island/comment-form?path="+page, hdr)
		wantContains(t, signed, `<form`, `action="/comment/`+s.item.ID.String()+`"`, `name="csrf_token"`, `<textarea`)
		res, _ := s.get("/_island/comment-form?path=/no/such/page", hdr)
		wantStatus(t, res, http.StatusNotFound)
	})

	res := post("First <b>comment</b>")
	wantStatus(t, res, http.StatusSeeOther)
	res, body = s.get(page, nil)
	if res.Header.Get(server.CacheHeader) != "miss" {
		t.Fatal("a published comment left the cached page")
	}
	wantContains(t, body, "1 comment", "First &lt;b&gt;comment&lt;/b&gt;")
	comments, err := s.k.Store.FindComments(s.admin, s.item.ID, "")
	if err != nil || len(comments) != 1 {
		t.Fatalf("comments: %v %v", comments, err)
	}
	wantStatus(t, post("reply:"+comments[0].ID.String()), http.StatusSeeOther)
	_, body = s.get(page, nil)
	wantContains(t, body, "2 comments", "A reply", `id="comment-`+comments[0].ID.String())

	t.Run("Moderation", func(t *testing.T) {
		if err := s.srv.ModerateComment(s.admin, comments[0].ID, "pending"); err != nil {
			t.Fatal(err)
		}
		_, body := s.get(page, nil)
		wantLacks(t, body, "First &lt;b&gt;comment")
		if err := s.srv.ModerateComment(s.admin, comments[0].ID, "published"); err != nil {
			t.Fatal(err)
		}
		_, body = s.get(page, nil)
		wantContains(t, body, "First &lt;b&gt;comment")
	})

	t.Run("BadInput", func(t *testing.T) {
		wantStatus(t, post("   "), http.StatusBadRequest)
		wantStatus(t, post(strings.Repeat("x", 10<<10)), http.StatusBadRequest)
		res := s.do(http.MethodPost, "/comment/"+core.NewID().String(), map[string]string{"Cookie": hdr["Cookie"],
			"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader("csrf_token="+url.QueryEscape(sess.NewCSRFToken())+"&body=x"))
		wantStatus(t, res, http.StatusNotFound)
		res = s.do(http.MethodPost, "/comment/"+s.item.ID.String(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader("body=x"))
		wantStatus(t, res, http.StatusForbidden)
	})

	t.Run("Anonymous", func(t *testing.T) {
		if err := s.k.Store.Users().GrantPermission(s.admin, core.RoleAnonymous, core.PermPostAnonymousComments); err != nil {
			t.Fatal(err)
		}
		s.k.Store.Authorizer().Invalidate()
		res, island := s.get("/_island/comment-form?path="+page, nil)
		wantStatus(t, res, http.StatusOK)
		wantContains(t, island, `<form`, `name="name"`, `name="email"`, `name="homepage"`, "appear after review")
		wantContains(t, island, `comment-form__trap`)
		// The honeypot is out of the Tab order and never autofilled.
		if trap := regexp.MustCompile(`<input [^>]*name="homepage"[^>]*>`).FindString(island); !strings.Contains(trap, ` tabindex="-1"`) || !strings.Contains(trap, ` autocomplete="off"`) {
			t.Errorf("honeypot input %q lacks tabindex=-1 / autocomplete=off", trap)
		}
		cookie, token := islandSession(t, res, island)
		anonPost := func(form url.Values) *http.Response {
			t.Helper()
			return s.do(http.MethodPost, "/comment/"+s.item.ID.String(), map[string]string{"Cookie": cookie,
				"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(form.Encode()))
		}
		// Without the island's token: refused like every POST.
		wantStatus(t, anonPost(url.Values{"name": {"Guest"}, "body": {"x"}}), http.StatusForbidden)
		if res, _ := s.get(page, nil); res.Header.Get(server.CacheHeader) != "hit" {
			t.Fatal("page not cached before the anonymous comment")
		}
		wantStatus(t, anonPost(url.Values{"csrf_token": {token}, "name": {"Guest"}, "email": {"guest@example.org"}, "body": {"Hello from a guest"}}), http.StatusSeeOther)
		res, body := s.get(page, nil)
		if res.Header.Get(server.CacheHeader) != "hit" {
			t.Fatal("a pending comment invalidated the page")
		}
		wantLacks(t, body, "Hello from a guest")
		queue, err := s.k.Store.FindCommentQueue(s.admin, postgres.CommentFilter{Status: postgres.CommentPending})
		if err != nil || len(queue) != 1 || queue[0].AuthorName != "Guest" || !queue[0].Anonymous() || queue[0].ClientAddr != "192.0.2.1" {
			t.Fatalf("queue %+v %v", queue, err)
		}
		wantStatus(t, anonPost(url.Values{"csrf_token": {token}, "name": {"Bot"}, "homepage": {"http://spam.example"}, "body": {"buy"}}), http.StatusBadRequest)
		wantStatus(t, anonPost(url.Values{"csrf_token": {token}, "name": {"admin"}, "body": {"impersonating"}}), http.StatusBadRequest)
		wantStatus(t, anonPost(url.Values{"csrf_token": {token}, "body": {"no name"}}), http.StatusBadRequest)
		if q, _ := s.k.Store.FindCommentQueue(s.admin, postgres.CommentFilter{Status: postgres.CommentPending}); len(q) != 1 {
			t.Fatalf("refused comments were stored: %d pending", len(q))
		}
		// The burst limit is per address for anonymous visitors.
		var codes []int
		for range 4 {
			codes = append(codes, anonPost(url.Values{"csrf_token": {token}, "name": {"Guest"}, "body": {"again"}}).StatusCode)
		}
		if codes[len(codes)-1] != http.StatusTooManyRequests {
			t.Fatalf("anonymous burst answers %v", codes)
		}
		if err := s.srv.ModerateComment(s.admin, queue[0].ID, postgres.CommentPublished); err != nil {
			t.Fatal(err)
		}
		_, body = s.get(page, nil)
		wantContains(t, body, "Hello from a guest", "Guest · ")
	})

	t.Run("SpamBurst", func(t *testing.T) {
		var codes []int
		for range 8 {
			codes = append(codes, post("spam").StatusCode)
		}
		if codes[len(codes)-1] != http.StatusTooManyRequests {
			t.Fatalf("burst answers %v", codes)
		}
	})
}

// islandSession is the session cookie (a Cookie header) an island's
// answer started and the CSRF token of its form.
func islandSession(t *testing.T, res *http.Response, island string) (cookie, token string) {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == server.SessionCookie {
			cookie = server.SessionCookie + "=" + c.Value
		}
	}
	m := csrfRE.FindStringSubmatch(island)
	if cookie == "" || m == nil {
		t.Fatalf("the island started no session (cookie %q) or gave no token", cookie)
	}
	return cookie, html.UnescapeString(m[1])
}
