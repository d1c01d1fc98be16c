package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/memory"
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
