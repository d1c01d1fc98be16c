package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// TestCommentSettingsPerType checks CreateComment against the comment
// settings of each item's type: open, closed, hidden, and anonymous
// posting refused by a type even where the anonymous role may comment.
func TestCommentSettingsPerType(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	for name, comments := range map[string]string{
		"blog":   `{"mode":"open","anonymous":true}`,
		"page":   `{"anonymous":false}`,
		"notice": `{"mode":"closed"}`,
		"form":   `{"mode":"hidden"}`,
	} {
		mustPut(t, admin, s, "item_type", name, `{"kind":"item_type","name":"`+name+`","label":"`+name+`","comments":`+comments+`}`)
	}
	item := func(typ string) *core.Item {
		t.Helper()
		it := &core.Item{Type: typ, Title: "A " + typ, Fields: json.RawMessage(`{}`)}
		if err := s.Items().CreateItem(admin, core.LiveStageID, it, "create"); err != nil {
			t.Fatal(err)
		}
		return it
	}
	blog, page, notice, form, article := item("blog"), item("page"), item("notice"), item("form"), item("article")
	reader := mustUser(t, s, "reader")
	anon := core.NewContextWithClientAddr(context.Background(), "192.0.2.7")
	post := func(ctx context.Context, it *core.Item) (*postgres.Comment, error) {
		c := &postgres.Comment{ItemID: it.ID, Body: "Words", AuthorName: "Guest"}
		return c, s.CreateComment(ctx, c)
	}

	t.Run("AnonymousNeedsTheRolePermission", func(t *testing.T) {
		// anonymous: true does not grant what the anonymous role lacks.
		_, err := post(anon, blog)
		wantCode(t, err, core.EUnauthorized)
	})
	if err := s.Users().GrantPermission(admin, core.RoleAnonymous, core.PermPostAnonymousComments); err != nil {
		t.Fatal(err)
	}
	s.Authorizer().Invalidate()

	for name, tc := range map[string]struct {
		ctx    context.Context
		item   *core.Item
		code   string
		status string
		msg    string
	}{
		"OpenAnonymousAllowed":   {anon, blog, "", postgres.CommentPending, ""},
		"DefaultTypeAnonymous":   {anon, article, "", postgres.CommentPending, ""},
		"TypeRefusesAnonymous":   {anon, page, core.EUnauthorized, "", "page items take comments from signed-in users only"},
		"TypeRefusesNotSignedIn": {reader, page, "", postgres.CommentPending, ""},
		"ModeratorOnOpen":        {admin, page, "", postgres.CommentPublished, ""},
		"Closed":                 {admin, notice, core.EForbidden, "", "comments are closed on notice items"},
		"ClosedAnonymous":        {anon, notice, core.EForbidden, "", "comments are closed"},
		"Hidden":                 {reader, form, core.EForbidden, "", "comments are hidden on form items"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := post(tc.ctx, tc.item)
			if tc.code != "" {
				wantCode(t, err, tc.code)
				if !strings.Contains(core.ErrorMessage(err), tc.msg) {
					t.Errorf("message %q lacks %q", core.ErrorMessage(err), tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != tc.status {
				t.Errorf("status %s, want %s", c.Status, tc.status)
			}
		})
	}
	for _, it := range []*core.Item{notice, form} {
		if q, err := s.FindCommentQueue(admin, postgres.CommentFilter{ItemID: it.ID}); err != nil || len(q) != 0 {
			t.Errorf("%s: refused comments were stored: %d, %v", it.Type, len(q), err)
		}
	}

	t.Run("BadSettings", func(t *testing.T) {
		for doc, want := range map[string]string{
			`{"mode":"moderated"}`: "comments.mode",
			`{"anonymous":"yes"}`:  "comments.anonymous",
			`{"open":true}`:        "comments",
			`"open"`:               "comments",
		} {
			_, err := s.ApplyType(admin, json.RawMessage(`{"kind":"item_type","name":"page","label":"Page","comments":`+doc+`}`), false)
			wantCode(t, err, core.EInvalid)
			var paths []string
			if e, ok := err.(*core.Error); ok {
				for _, f := range e.Fields {
					paths = append(paths, f.Path)
				}
			}
			if !strings.Contains(strings.Join(paths, " "), want) {
				t.Errorf("%s: error %v names %v, want %s", doc, err, paths, want)
			}
		}
	})

	t.Run("ClosingKeepsComments", func(t *testing.T) {
		// Closing a type later keeps its comments (and their counts);
		// the change is instant: no item is rewritten.
		rep, err := s.ApplyType(admin, json.RawMessage(`{"kind":"item_type","name":"page","label":"Page","comments":{"mode":"closed"}}`), false)
		if err != nil || !rep.Applied || !rep.Instant || len(rep.Converted) != 0 {
			t.Fatalf("apply: %+v %v", rep, err)
		}
		_, err = post(admin, page)
		wantCode(t, err, core.EForbidden)
		n, err := s.CountComments(admin, []core.ID{page.ID})
		if err != nil || n[page.ID] != 1 {
			t.Fatalf("counts %v %v, want the published comment kept", n, err)
		}
	})
}

// TestCountComments checks the counts listings show: published comments
// only, in one query for several items, without the replies an
// unpublished comment hides.
func TestCountComments(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	a := mustItem(t, admin, s, core.LiveStageID, "A", `{}`)
	b := mustItem(t, admin, s, core.LiveStageID, "B", `{}`)
	none := mustItem(t, admin, s, core.LiveStageID, "None", `{}`)
	reader := mustUser(t, s, "reader")
	add := func(ctx context.Context, it *core.Item, parent *core.ID) *postgres.Comment {
		t.Helper()
		c := &postgres.Comment{ItemID: it.ID, Body: "x", ParentID: parent}
		if err := s.CreateComment(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	root := add(admin, a, nil)
	reply := add(admin, a, &root.ID)
	add(admin, a, &reply.ID)
	add(admin, a, nil)
	add(reader, a, nil) // pending
	add(admin, b, nil)
	want := func(what string, wa, wb int) {
		t.Helper()
		n, err := s.CountComments(context.Background(), []core.ID{a.ID, b.ID, none.ID})
		if err != nil {
			t.Fatal(err)
		}
		if n[a.ID] != wa || n[b.ID] != wb || n[none.ID] != 0 {
			t.Errorf("%s: counts a=%d b=%d none=%d, want %d %d 0", what, n[a.ID], n[b.ID], n[none.ID], wa, wb)
		}
		if _, ok := n[none.ID]; ok {
			t.Errorf("%s: an item without comments is in the result", what)
		}
	}
	want("published", 4, 1)
	if _, err := s.SetCommentStatus(admin, reply.ID, postgres.CommentPending); err != nil {
		t.Fatal(err)
	}
	want("a reply unpublished with its own reply", 2, 1)
	if _, err := s.SetCommentStatus(admin, reply.ID, postgres.CommentPublished); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteComment(admin, root.ID); err != nil {
		t.Fatal(err)
	}
	want("a thread deleted", 1, 1)
	if n, err := s.CountComments(context.Background(), nil); err != nil || len(n) != 0 {
		t.Errorf("no items: %v %v", n, err)
	}
	_, err := s.CountComments(context.Background(), make([]core.ID, 1001))
	wantCode(t, err, core.EInvalid)
}
