package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/redis"
	"github.com/trovato/trovato/server"
)

// cachedSite is newSite with the page cache in Redis, bumped on every
// commit as `trovato serve` bumps it (core.TagsForChanges), so changes
// made through the store alone (the CLI, the API) reach cached pages.
func cachedSite(t *testing.T) (*site, *redis.TagCache) {
	t.Helper()
	s := newSite(t, server.Options{})
	tc := redis.NewTagCache(s.redis, s.prefix)
	srv, err := server.New(s.k, server.Options{PageCache: tc, Sessions: s.srv.Sessions()})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = srv
	s.k.Store.OnCommit(func(changes []core.Change) {
		tags, err := core.TagsForChanges(context.Background(), changes, s.k.Store)
		if err != nil {
			t.Errorf("item deltas: %v", err)
		}
		if err := tc.BumpTags(context.Background(), tags...); err != nil {
			t.Error(err)
		}
	})
	return s, tc
}

// putArticlesByTitle stores the gather "articles": published articles
// by title, one a page, at /articles and in /articles/rss.xml.
func putArticlesByTitle(s *site) {
	s.put("gather", "articles", `{"kind":"gather","name":"articles","label":"Articles","types":["article"],
		"filters":[{"field":"status","op":"eq","value":"published"}],
		"sorts":[{"field":"title"}], "pager":{"per_page":1},
		"displays":[{"name":"page","type":"page","path":"/articles"},{"name":"rss","type":"feed","format":"rss","path":"/articles/rss.xml"}]}`)
}

// postForm posts a form to the site with a session cookie.
func (s *site) postForm(target, cookie string, form url.Values) (*http.Response, string) {
	s.t.Helper()
	res := s.do(http.MethodPost, target, map[string]string{"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader(form.Encode()))
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// TestCommentCountsInListings checks the comment counts of listings (a
// gather page, the front page, a category page, search results): shown
// as a link to the item's comments, and rebuilt from the page cache when
// a comment on a listed item is published, unpublished or deleted, but
// not for a pending comment or on a listing that does not show the item.
func TestCommentCountsInListings(t *testing.T) {
	s, tc := cachedSite(t)
	// One article a page, by title: "Hello <World>" on /articles,
	// "Plain page" on /articles/page/2.
	s.put("gather", "articles", `{"kind":"gather","name":"articles","label":"Articles","types":["article"],
		"filters":[{"field":"status","op":"eq","value":"published"}],
		"sorts":[{"field":"title"}], "pager":{"per_page":1},
		"displays":[{"name":"page","type":"page","path":"/articles"}]}`)
	listings := []string{"/articles", "/", "/term/" + s.tag.String(), "/search?q=bold"}
	other := "/articles/page/2"
	link := func(n string) string { return `<a href="/blog/hello-world#comments">` + n + `</a>` }
	check := func(what, want string, rebuilt bool) {
		t.Helper()
		for _, p := range listings {
			res, body := s.get(p, map[string]string{"Accept-Encoding": "identity"})
			wantStatus(t, res, http.StatusOK)
			if got := res.Header.Get(server.CacheHeader); (got == "miss") != rebuilt {
				t.Errorf("after %s: %s is a %s", what, p, got)
			}
			if want == "" {
				if strings.Contains(body, "#comments") {
					t.Errorf("after %s: %s shows a comment count", what, p)
				}
			} else if !strings.Contains(body, link(want)) {
				t.Errorf("after %s: %s lacks %s", what, p, link(want))
			}
			if res, _ := s.get(p, map[string]string{"Accept-Encoding": "identity"}); res.Header.Get(server.CacheHeader) != "hit" {
				t.Errorf("after %s: %s is not cached", what, p)
			}
		}
		res, body := s.get(other, map[string]string{"Accept-Encoding": "identity"})
		if res.Header.Get(server.CacheHeader) != "hit" || strings.Contains(body, "#comments") {
			t.Errorf("after %s: %s (not showing the item) is a %s", what, other, res.Header.Get(server.CacheHeader))
		}
	}
	for _, p := range append(listings, other) {
		s.get(p, map[string]string{"Accept-Encoding": "identity"})
	}
	check("nothing", "", false)

	// The listing's recorded dependencies (what the static export reads)
	// hold the item's comment tag, which a comment's feed row bumps.
	raw, ok, err := tc.GetTagged(context.Background(), server.ManifestKey("/articles"))
	var man struct {
		Tags []string `json:"g"`
	}
	if err != nil || !ok || json.Unmarshal(raw, &man) != nil {
		t.Fatalf("manifest of /articles: %s %v %v", raw, ok, err)
	}
	fromFeed := core.TagsForChange(core.Change{Kind: core.KindComment, EntityID: s.item.ID.String()})
	if !slices.Contains(man.Tags, fromFeed[0]) {
		t.Errorf("/articles depends on %v, lacking %s", man.Tags, fromFeed[0])
	}

	sess, hdr := s.session(core.AdminUserID, core.LiveStageID)
	res, _ := s.postForm("/comment/"+s.item.ID.String(), hdr["Cookie"], url.Values{"csrf_token": {sess.NewCSRFToken()}, "body": {"First"}})
	wantStatus(t, res, http.StatusSeeOther)
	check("a published comment", "1 comment", true)

	reader := &core.User{Name: "reader", Email: "reader@example.org"}
	if err := s.k.Store.Users().CreateUser(s.admin, reader); err != nil {
		t.Fatal(err)
	}
	rsess, rhdr := s.session(reader.ID, core.LiveStageID)
	res, _ = s.postForm("/comment/"+s.item.ID.String(), rhdr["Cookie"], url.Values{"csrf_token": {rsess.NewCSRFToken()}, "body": {"Pending"}})
	wantStatus(t, res, http.StatusSeeOther)
	check("a pending comment", "1 comment", false)

	queue, err := s.k.Store.FindCommentQueue(s.admin, postgres.CommentFilter{Status: postgres.CommentPending})
	if err != nil || len(queue) != 1 {
		t.Fatalf("queue %v %v", queue, err)
	}
	// Through the store alone, as `trovato comment approve` does: the
	// change feed's row invalidates.
	if _, err := s.k.Store.SetCommentStatus(s.admin, queue[0].ID, postgres.CommentPublished); err != nil {
		t.Fatal(err)
	}
	check("an approval", "2 comments", true)
	if _, err := s.k.Store.SetCommentStatus(s.admin, queue[0].ID, postgres.CommentPending); err != nil {
		t.Fatal(err)
	}
	check("an unpublished comment", "1 comment", true)
	all, err := s.k.Store.FindComments(s.admin, s.item.ID, postgres.CommentPublished)
	if err != nil || len(all) != 1 {
		t.Fatalf("comments %v %v", all, err)
	}
	if _, err := s.k.Store.DeleteComment(s.admin, all[0].ID); err != nil {
		t.Fatal(err)
	}
	check("a deleted comment", "", true)

	// The item page counts as the listings do.
	_, body := s.get("/blog/hello-world", nil)
	wantContains(t, body, "No comments yet")
}

// TestCommentSettingsSite checks the comment settings of item types on
// the site: a closed type shows its comments without the form and
// refuses posts, a hidden type shows and counts none, and anonymous
// posting follows each type within what the anonymous role may do.
func TestCommentSettingsSite(t *testing.T) {
	s, _ := cachedSite(t)
	s.put("item_type", "page", `{"kind":"item_type","name":"page","label":"Page","comments":{"anonymous":false}}`)
	s.put("item_type", "notice", `{"kind":"item_type","name":"notice","label":"Notice"}`)
	s.put("item_type", "form", `{"kind":"item_type","name":"form","label":"Form"}`)
	page := s.newItem(core.LiveStageID, &core.Item{Type: "page", Title: "About", Promote: true, Fields: json.RawMessage(`{}`)})
	notice := s.newItem(core.LiveStageID, &core.Item{Type: "notice", Title: "Closed notice", Promote: true, Fields: json.RawMessage(`{}`)})
	form := s.newItem(core.LiveStageID, &core.Item{Type: "form", Title: "Hidden form", Promote: true, Fields: json.RawMessage(`{}`)})
	// Comments made while the types were open stay when they close.
	for _, it := range []*core.Item{notice, form} {
		if err := s.k.Store.CreateComment(s.admin, &postgres.Comment{ItemID: it.ID, Body: "Said before closing"}); err != nil {
			t.Fatal(err)
		}
	}
	s.put("item_type", "notice", `{"kind":"item_type","name":"notice","label":"Notice","comments":{"mode":"closed"}}`)
	s.put("item_type", "form", `{"kind":"item_type","name":"form","label":"Form","comments":{"mode":"hidden"}}`)
	if err := s.k.Store.Users().GrantPermission(s.admin, core.RoleAnonymous, core.PermPostAnonymousComments); err != nil {
		t.Fatal(err)
	}
	s.k.Store.Authorizer().Invalidate()
	sess, hdr := s.session(core.AdminUserID, core.LiveStageID)
	itemURL := func(it *core.Item) string { return "/item/" + it.ID.String() }

	t.Run("Closed", func(t *testing.T) {
		_, body := s.get(itemURL(notice), nil)
		wantContains(t, body, `id="comments"`, "1 comment", "Said before closing", "Comments are closed.")
		wantLacks(t, body, `data-island="comment-form"`)
		_, island := s.get("/_island/comment-form?path="+itemURL(notice), hdr)
		wantContains(t, island, "Comments are closed.")
		wantLacks(t, island, "<form")
		res, body := s.postForm("/comment/"+notice.ID.String(), hdr["Cookie"], url.Values{"csrf_token": {sess.NewCSRFToken()}, "body": {"Late"}})
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, body, "comments are closed on notice items")
	})

	t.Run("Hidden", func(t *testing.T) {
		_, body := s.get(itemURL(form), nil)
		wantLacks(t, body, `id="comments"`, "Said before closing", `data-island="comment-form"`)
		res, body := s.postForm("/comment/"+form.ID.String(), hdr["Cookie"], url.Values{"csrf_token": {sess.NewCSRFToken()}, "body": {"Late"}})
		wantStatus(t, res, http.StatusForbidden)
		wantContains(t, body, "comments are hidden on form items")
	})

	t.Run("ListingCounts", func(t *testing.T) {
		// The front page lists all three promoted types: the closed
		// type's count shows, the hidden type's does not.
		_, body := s.get("/", nil)
		wantContains(t, body, `<a href="`+itemURL(notice)+`#comments">1 comment</a>`, "Hidden form")
		wantLacks(t, body, itemURL(form)+"#comments")
	})

	t.Run("Anonymous", func(t *testing.T) {
		// The article type says nothing: the site-wide setting lets
		// anonymous visitors comment. The island starts their session.
		res, island := s.get("/_island/comment-form?path=/blog/hello-world", nil)
		wantContains(t, island, `<form`, `name="name"`)
		cookie, token := islandSession(t, res, island)
		res, _ = s.postForm("/comment/"+s.item.ID.String(), cookie, url.Values{"csrf_token": {token}, "name": {"Guest"}, "body": {"Hello"}})
		wantStatus(t, res, http.StatusSeeOther)
		q, err := s.k.Store.FindCommentQueue(s.admin, postgres.CommentFilter{Status: postgres.CommentPending, ItemID: s.item.ID})
		if err != nil || len(q) != 1 || !q[0].Anonymous() {
			t.Fatalf("the anonymous comment is not waiting for moderation: %v %v", q, err)
		}

		// The page type refuses anonymous comments: the island is the
		// sign-in link, and a post with a valid token is refused.
		_, island = s.get("/_island/comment-form?path="+itemURL(page), map[string]string{"Cookie": cookie})
		wantContains(t, island, "Sign in to comment")
		wantLacks(t, island, "<form")
		res, body := s.postForm("/comment/"+page.ID.String(), cookie, url.Values{"csrf_token": {token}, "name": {"Guest"}, "body": {"Hello"}})
		wantStatus(t, res, http.StatusUnauthorized)
		wantContains(t, body, "page items take comments from signed-in users only")
		if q, _ := s.k.Store.FindCommentQueue(s.admin, postgres.CommentFilter{ItemID: page.ID}); len(q) != 0 {
			t.Fatalf("a refused comment was stored: %v", q)
		}
		// Signed-in users still may.
		res, _ = s.postForm("/comment/"+page.ID.String(), hdr["Cookie"], url.Values{"csrf_token": {sess.NewCSRFToken()}, "body": {"Mine"}})
		wantStatus(t, res, http.StatusSeeOther)
	})
}
