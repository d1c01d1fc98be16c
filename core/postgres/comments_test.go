package postgres_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

func commentFeedRows(tb testing.TB, s *postgres.Store, item core.ID) int {
	tb.Helper()
	n := 0
	for _, c := range readAll(tb, s) {
		if c.Kind == core.KindComment && c.EntityID == item.String() {
			n++
		}
	}
	return n
}

func auditActions(tb testing.TB, s *postgres.Store, object string) []string {
	tb.Helper()
	rows, err := s.Pool().Query(context.Background(), `SELECT action FROM audit WHERE object = $1 ORDER BY id`, object)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			tb.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func TestCommentModeration(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	it := mustItem(t, admin, s, core.LiveStageID, "Commented", `{}`)
	reader := mustUser(t, s, "reader")
	anon := core.NewContextWithClientAddr(context.Background(), "192.0.2.7")

	t.Run("AnonymousRefusedByDefault", func(t *testing.T) {
		err := s.CreateComment(anon, &postgres.Comment{ItemID: it.ID, Body: "hi", AuthorName: "Guest"})
		wantCode(t, err, core.EUnauthorized)
	})

	mine := &postgres.Comment{ItemID: it.ID, Body: "  Reader's words  "}
	if err := s.CreateComment(reader, mine); err != nil {
		t.Fatal(err)
	}
	if mine.Status != postgres.CommentPending || mine.Body != "Reader's words" || mine.AuthorID == nil {
		t.Fatalf("reader comment %+v", mine)
	}
	if n := commentFeedRows(t, s, it.ID); n != 0 {
		t.Fatalf("a pending comment appended %d feed rows", n)
	}

	if err := s.Users().GrantPermission(admin, core.RoleAnonymous, core.PermPostAnonymousComments); err != nil {
		t.Fatal(err)
	}
	s.Authorizer().Invalidate()
	guest := &postgres.Comment{ItemID: it.ID, Body: "From a guest", AuthorName: "Guest", AuthorEmail: "guest@example.org"}
	t.Run("Anonymous", func(t *testing.T) {
		if err := s.CreateComment(anon, guest); err != nil {
			t.Fatal(err)
		}
		if guest.Status != postgres.CommentPending || guest.AuthorID != nil || guest.ClientAddr != "192.0.2.7" {
			t.Fatalf("guest comment %+v", guest)
		}
		for name, c := range map[string]*postgres.Comment{
			"NoName":      {ItemID: it.ID, Body: "x"},
			"LongName":    {ItemID: it.ID, Body: "x", AuthorName: strings.Repeat("n", 61)},
			"ControlName": {ItemID: it.ID, Body: "x", AuthorName: "a\nb"},
			"BadEmail":    {ItemID: it.ID, Body: "x", AuthorName: "Guest", AuthorEmail: "not an address"},
			"NamedEmail":  {ItemID: it.ID, Body: "x", AuthorName: "Guest", AuthorEmail: "Eve <eve@example.org>"},
			"UserName":    {ItemID: it.ID, Body: "x", AuthorName: "READER"},
			"EmptyBody":   {ItemID: it.ID, Body: " ", AuthorName: "Guest"},
		} {
			t.Run(name, func(t *testing.T) { wantCode(t, s.CreateComment(anon, c), core.EInvalid) })
		}
		wantCode(t, s.CreateComment(anon, &postgres.Comment{ItemID: core.NewID(), Body: "x", AuthorName: "Guest"}), core.ENotFound)
	})

	t.Run("QueueNeedsModerator", func(t *testing.T) {
		_, err := s.FindCommentQueue(reader, postgres.CommentFilter{})
		wantCode(t, err, core.EForbidden)
		_, err = s.UpdateComment(reader, mine.ID, postgres.CommentUpdate{Status: ptr(postgres.CommentPublished)})
		wantCode(t, err, core.EForbidden)
		_, err = s.DeleteComment(anon, mine.ID)
		wantCode(t, err, core.EUnauthorized)
	})

	t.Run("Queue", func(t *testing.T) {
		q, err := s.FindCommentQueue(admin, postgres.CommentFilter{Status: postgres.CommentPending})
		if err != nil {
			t.Fatal(err)
		}
		if len(q) != 2 || q[0].ID != guest.ID || q[1].ID != mine.ID || q[0].ItemTitle != "Commented" || q[0].AuthorEmail != "guest@example.org" {
			t.Fatalf("queue %+v", q)
		}
		if q, _ := s.FindCommentQueue(admin, postgres.CommentFilter{Status: postgres.CommentPending, Limit: 1, Offset: 1}); len(q) != 1 || q[0].ID != mine.ID {
			t.Fatalf("second page %+v", q)
		}
		if q, _ := s.FindCommentQueue(admin, postgres.CommentFilter{ItemID: core.NewID()}); len(q) != 0 {
			t.Fatalf("other item %+v", q)
		}
		_, err = s.FindCommentQueue(admin, postgres.CommentFilter{Status: "spam"})
		wantCode(t, err, core.EInvalid)
		_, err = s.FindCommentQueue(admin, postgres.CommentFilter{Limit: 5000})
		wantCode(t, err, core.EInvalid)
	})

	t.Run("ApproveEditUnpublishDelete", func(t *testing.T) {
		c, err := s.SetCommentStatus(admin, guest.ID, postgres.CommentPublished)
		if err != nil || c.Status != postgres.CommentPublished {
			t.Fatalf("approve: %+v %v", c, err)
		}
		if n := commentFeedRows(t, s, it.ID); n != 1 {
			t.Fatalf("approving appended %d feed rows, want 1", n)
		}
		pub, _ := s.FindComments(context.Background(), it.ID, postgres.CommentPublished)
		if len(pub) != 1 || pub[0].AuthorName != "Guest" || pub[0].AuthorEmail != "" || pub[0].ClientAddr != "" {
			t.Fatalf("published %+v", pub)
		}
		// A reply by the moderator is published at once.
		reply := &postgres.Comment{ItemID: it.ID, Body: "Thanks", ParentID: &guest.ID}
		if err := s.CreateComment(admin, reply); err != nil || reply.Status != postgres.CommentPublished {
			t.Fatalf("reply %+v %v", reply, err)
		}
		c, err = s.UpdateComment(admin, guest.ID, postgres.CommentUpdate{Body: ptr("Edited by a moderator")})
		if err != nil || c.Body != "Edited by a moderator" || !c.ChangedAt.After(c.CreatedAt) {
			t.Fatalf("edit: %+v %v", c, err)
		}
		_, err = s.UpdateComment(admin, guest.ID, postgres.CommentUpdate{Body: ptr(strings.Repeat("x", postgres.CommentMaxBytes+1))})
		wantCode(t, err, core.EInvalid)
		_, err = s.UpdateComment(admin, guest.ID, postgres.CommentUpdate{})
		wantCode(t, err, core.EInvalid)
		_, err = s.UpdateComment(admin, core.NewID(), postgres.CommentUpdate{Status: ptr(postgres.CommentPending)})
		wantCode(t, err, core.ENotFound)
		if _, err := s.SetCommentStatus(admin, guest.ID, postgres.CommentPending); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindComments(context.Background(), it.ID, postgres.CommentPublished); len(got) != 1 || got[0].ID != reply.ID {
			t.Fatalf("after unpublish %+v", got)
		}
		d, err := s.DeleteComment(admin, guest.ID)
		if err != nil || d.ID != guest.ID {
			t.Fatalf("delete: %v", err)
		}
		if all, _ := s.FindComments(context.Background(), it.ID, ""); len(all) != 1 || all[0].ID != mine.ID {
			t.Fatalf("the reply did not go with its parent: %+v", all)
		}
		_, err = s.FindCommentByID(admin, guest.ID)
		wantCode(t, err, core.ENotFound)
		want := []string{postgres.AuditCommentPublish, postgres.AuditCommentUpdate, postgres.AuditCommentUnpublish, postgres.AuditCommentDelete}
		if got := auditActions(t, s, "comment:"+guest.ID.String()); !slices.Equal(got, want) {
			t.Fatalf("audit %v, want %v", got, want)
		}
		// approve, reply, edit, unpublish, delete (of a published reply).
		if n := commentFeedRows(t, s, it.ID); n != 5 {
			t.Fatalf("%d comment feed rows, want 5", n)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestPageDeps(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ctx := context.Background()
	d := postgres.NewPageDeps(s, nil)
	item1, item2 := core.EntityTag(core.KindItem, "1"), core.EntityTag(core.KindItem, "2")
	list := core.ListTag(core.KindItem)
	for p, tags := range map[string][]string{
		"/a":      {item1, "config:*"},
		"/b":      {item2, "config:*"},
		"/latest": {list, "config:*"},
	} {
		if err := d.Record(ctx, p, tags); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, d.Record(ctx, "relative", nil), core.EInvalid)
	wantCode(t, d.Record(ctx, "/"+strings.Repeat("x", 2048), nil), core.EInvalid)

	// Nothing is written before a flush (the request path only queues).
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM page_dep`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows before the flush (%v)", n, err)
	}
	got, err := d.PagesFor(ctx, core.TagsForChange(core.Change{Kind: core.KindItem, EntityID: "1"}))
	if err != nil || !slices.Equal(got, []string{"/a", "/latest"}) {
		t.Fatalf("pages for item 1: %v %v", got, err)
	}
	// A new recorder (a restart) reads the same; a re-record replaces tags.
	d2 := postgres.NewPageDeps(s, nil)
	if err := d2.Record(ctx, "/a", []string{item2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := d2.PagesFor(ctx, []string{item2}); !slices.Equal(got, []string{"/a", "/b"}) {
		t.Fatalf("pages for item 2: %v", got)
	}
	if tags, err := d2.PageTags(ctx, "/latest"); err != nil || !slices.Equal(tags, []string{"config:*", list}) {
		t.Fatalf("tags of /latest: %v %v", tags, err)
	}
	_, err = d2.PageTags(ctx, "/never")
	wantCode(t, err, core.ENotFound)
	if err := d2.Forget(ctx, "/a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d2.PagesFor(ctx, []string{item2}); !slices.Equal(got, []string{"/b"}) {
		t.Fatalf("after forget: %v", got)
	}

	t.Run("BatchedOffTheCaller", func(t *testing.T) {
		d := postgres.NewPageDeps(s, nil)
		d.FlushEvery = 20 * time.Millisecond
		if err := d.Record(ctx, "/later", []string{"term:9"}); err != nil {
			t.Fatal(err)
		}
		var found bool
		for range 200 {
			if err := s.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM page_dep WHERE path = '/later')`).Scan(&found); err != nil {
				t.Fatal(err)
			}
			if found {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if !found {
			t.Fatal("the timer never flushed the record")
		}
	})
	t.Run("QueueBounded", func(t *testing.T) {
		d := postgres.NewPageDeps(s, nil)
		d.MaxPending, d.FlushEvery = 2, time.Hour
		for _, p := range []string{"/q1", "/q2", "/q3"} {
			_ = d.Record(ctx, p, []string{"q"})
		}
		if got, _ := d.PagesFor(ctx, []string{"q"}); !slices.Equal(got, []string{"/q1", "/q2"}) {
			t.Fatalf("bounded queue wrote %v", got)
		}
	})
}
