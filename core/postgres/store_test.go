package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// MustStore returns a store on a fresh migrated database.
func MustStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	return postgres.NewStore(postgres.StoreConfig{Pool: pgtest.NewDB(tb), ValidateConfig: core.CheckConfigDocument})
}

func asAdmin(tb testing.TB, s *postgres.Store) context.Context {
	tb.Helper()
	u, err := s.Users().FindUserByName(context.Background(), "admin")
	if err != nil {
		tb.Fatal(err)
	}
	return core.NewContextWithUser(context.Background(), u)
}

func mustUser(tb testing.TB, s *postgres.Store, name string, roles ...string) context.Context {
	tb.Helper()
	u := &core.User{Name: name, Email: name + "@example.com", Roles: roles}
	if err := s.Users().CreateUser(asAdmin(tb, s), u); err != nil {
		tb.Fatal(err)
	}
	u, err := s.Users().FindUserByID(context.Background(), u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return core.NewContextWithUser(context.Background(), u)
}

func mustPut(tb testing.TB, ctx context.Context, s *postgres.Store, kind, name, body string) {
	tb.Helper()
	if _, err := s.Config().PutConfig(ctx, kind, name, json.RawMessage(body), 0); err != nil {
		tb.Fatalf("put %s/%s: %v", kind, name, err)
	}
}

const articleType = `{"kind":"item_type","name":"article","label":"Article","fields":[
	{"name":"body","type":"long_text","format":"markdown","max_length":1000},
	{"name":"rating","type":"integer","min":1,"max":5},
	{"name":"related","type":"item_ref","target_types":["article"],"cardinality":"unlimited"},
	{"name":"tags","type":"term_ref","vocabulary":"tags","cardinality":"unlimited"}]}`

// MustSite returns a store with the article type and a tags vocabulary,
// and an admin context.
func MustSite(tb testing.TB) (*postgres.Store, context.Context) {
	tb.Helper()
	s := MustStore(tb)
	ctx := asAdmin(tb, s)
	mustPut(tb, ctx, s, "vocabulary", "tags", `{"kind":"vocabulary","name":"tags","label":"Tags"}`)
	mustPut(tb, ctx, s, "menu", "main", `{"kind":"menu","name":"main","label":"Main"}`)
	mustPut(tb, ctx, s, "item_type", "article", articleType)
	return s, ctx
}

func mustItem(tb testing.TB, ctx context.Context, s *postgres.Store, stage core.ID, title string, fields string) *core.Item {
	tb.Helper()
	it := &core.Item{Type: "article", Title: title, Fields: json.RawMessage(fields)}
	if err := s.Items().CreateItem(ctx, stage, it, "create"); err != nil {
		tb.Fatalf("create %q: %v", title, err)
	}
	return it
}

func mustStage(tb testing.TB, ctx context.Context, s *postgres.Store, name string) *core.Stage {
	tb.Helper()
	st := &core.Stage{Name: name}
	if err := s.Stages().CreateStage(ctx, st); err != nil {
		tb.Fatal(err)
	}
	return st
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if core.ErrorCode(err) != code {
		tb.Fatalf("error = %v (code %q), want code %q", err, core.ErrorCode(err), code)
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ctx := asAdmin(t, s)
	users := s.Users()

	u := &core.User{Name: "Alice", Email: "alice@example.com", Roles: []string{core.RoleEditor}}
	if err := users.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		user *core.User
		code string
	}{
		"DuplicateNameCaseInsensitive":  {&core.User{Name: "ALICE"}, core.EConflict},
		"DuplicateEmailCaseInsensitive": {&core.User{Name: "alice2", Email: "Alice@Example.com"}, core.EConflict},
		"BadEmail":                      {&core.User{Name: "bob", Email: "not an email"}, core.EInvalid},
		"EmptyName":                     {&core.User{Name: ""}, core.EInvalid},
		"UnknownRole":                   {&core.User{Name: "carol", Roles: []string{"wizard"}}, core.ENotFound},
		"InvalidUTF8":                   {&core.User{Name: "bad\xff"}, core.EInvalid},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, users.CreateUser(ctx, tc.user), tc.code) })
	}
	got, err := users.FindUserByName(ctx, "alice")
	if err != nil || got.ID != u.ID || !got.HasRole(core.RoleEditor) {
		t.Fatalf("find alice = %+v, %v", got, err)
	}
	// Nothing changed by the refused creates.
	all, err := users.FindUsers(ctx, core.UserFilter{})
	if err != nil || len(all) != 3 {
		t.Fatalf("users = %d, %v; want system, admin, alice", len(all), err)
	}
	wantCode(t, users.AddUserRole(ctx, u.ID, "nosuchrole"), core.ENotFound)

	// A user without users.administer cannot create users.
	actx := core.NewContextWithUser(context.Background(), got)
	wantCode(t, users.CreateUser(actx, &core.User{Name: "mallory"}), core.EForbidden)
	wantCode(t, users.CreateUser(context.Background(), &core.User{Name: "mallory"}), core.EUnauthorized)

	// Custom roles and permissions.
	if err := users.CreateRole(ctx, &core.Role{Name: "reviewer", Permissions: []string{"stage.view_any"}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, users.GrantPermission(ctx, "reviewer", "no.such_permission"), core.EInvalid)
	wantCode(t, users.GrantPermission(ctx, "ghost", core.PermViewAudit), core.ENotFound)
	if err := users.GrantPermission(ctx, "reviewer", core.ItemPerm("article", "edit_any")); err != nil {
		t.Fatal(err)
	}
	if err := users.DeleteUser(ctx, u.ID, core.NilID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, users.DeleteUser(ctx, core.AdminUserID, core.NilID), core.EInvalid)
}

func TestAuthorizerRefusesWithoutPermission(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	plain := mustUser(t, s, "plain")
	author := mustUser(t, s, "author")
	if err := s.Users().CreateRole(admin, &core.Role{Name: "writer", Permissions: []string{
		core.ItemPerm("article", "create"), core.ItemPerm("article", "edit_own"), core.ItemPerm("article", "delete_own")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Users().AddUserRole(admin, core.UserFromContext(author).ID, "writer"); err != nil {
		t.Fatal(err)
	}
	s.Authorizer().Invalidate()
	author = core.NewContextWithUser(context.Background(), mustFind(t, s, "author"))

	mine := mustItem(t, author, s, core.LiveStageID, "Mine", `{}`)
	theirs := mustItem(t, admin, s, core.LiveStageID, "Theirs", `{}`)
	title := "changed"
	for name, tc := range map[string]struct {
		ctx  context.Context
		run  func(ctx context.Context) error
		code string
	}{
		"PlainCannotCreate": {plain, func(ctx context.Context) error {
			return s.Items().CreateItem(ctx, core.LiveStageID, &core.Item{Type: "article", Title: "x"}, "")
		}, core.EForbidden},
		"AnonymousCannotCreate": {context.Background(), func(ctx context.Context) error {
			return s.Items().CreateItem(ctx, core.LiveStageID, &core.Item{Type: "article", Title: "x"}, "")
		}, core.EUnauthorized},
		"AuthorCannotEditOthers": {author, func(ctx context.Context) error {
			_, err := s.Items().UpdateItem(ctx, core.LiveStageID, theirs.ID, core.ItemUpdate{Title: &title})
			return err
		}, core.EForbidden},
		"AuthorCannotDeleteOthers": {author, func(ctx context.Context) error {
			return s.Items().DeleteItem(ctx, core.LiveStageID, theirs.ID)
		}, core.EForbidden},
		"PlainCannotEditOwnless": {plain, func(ctx context.Context) error {
			_, err := s.Items().UpdateItem(ctx, core.LiveStageID, mine.ID, core.ItemUpdate{Title: &title})
			return err
		}, core.EForbidden},
		"PlainCannotCreateStage": {plain, func(ctx context.Context) error {
			return s.Stages().CreateStage(ctx, &core.Stage{Name: "nope"})
		}, core.EForbidden},
		"PlainCannotWriteConfig": {plain, func(ctx context.Context) error {
			_, err := s.Config().PutConfig(ctx, "site", "site", json.RawMessage(`{"kind":"site","name":"site","site_name":"x"}`), 0)
			return err
		}, core.EForbidden},
		"PlainCannotGrant": {plain, func(ctx context.Context) error {
			return s.Users().GrantPermission(ctx, core.RoleAnonymous, core.PermAdministerSite)
		}, core.EForbidden},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, tc.run(tc.ctx), tc.code) })
	}
	// The author may edit their own item.
	if _, err := s.Items().UpdateItem(author, core.LiveStageID, mine.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	// Unpublished items are not found for those who may not see them.
	unpub := core.StatusUnpublished
	if _, err := s.Items().UpdateItem(admin, core.LiveStageID, theirs.ID, core.ItemUpdate{Status: &unpub}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Items().FindItemByID(plain, core.LiveStageID, theirs.ID)
	wantCode(t, err, core.ENotFound)
	list, total, err := s.Items().FindItems(plain, core.ItemFilter{})
	if err != nil || total != 1 || len(list) != 1 || list[0].ID != mine.ID {
		t.Fatalf("plain user lists %d/%d items, %v; want only the published one", len(list), total, err)
	}
}

func mustFind(tb testing.TB, s *postgres.Store, name string) *core.User {
	tb.Helper()
	u, err := s.Users().FindUserByName(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestConfigStore(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ctx := asAdmin(t, s)
	cfg := s.Config()
	body := `{"kind":"site","name":"site","site_name":"One"}`
	d, err := cfg.PutConfig(ctx, "site", "site", json.RawMessage(body), 0)
	if err != nil || d.Version != 1 {
		t.Fatalf("put = %+v, %v", d, err)
	}
	// Identical body: no new version.
	if d, err = cfg.PutConfig(ctx, "site", "site", json.RawMessage(body), 0); err != nil || d.Version != 1 {
		t.Fatalf("identical put = %+v, %v", d, err)
	}
	if d, err = cfg.PutConfig(ctx, "site", "site", json.RawMessage(`{"kind":"site","name":"site","site_name":"Two"}`), 1); err != nil || d.Version != 2 {
		t.Fatalf("second put = %+v, %v", d, err)
	}
	_, err = cfg.PutConfig(ctx, "site", "site", json.RawMessage(`{"kind":"site","name":"site","site_name":"Three"}`), 1)
	wantCode(t, err, core.EConflict)
	_, err = cfg.PutConfig(ctx, "site", "site", json.RawMessage(`{"kind":"site","name":"site","bogus":1}`), 0)
	wantCode(t, err, core.EInvalid)
	_, err = cfg.PutConfig(ctx, "site", "other", json.RawMessage(body), 0)
	wantCode(t, err, core.EInvalid)
	got, err := cfg.FindConfig(ctx, "site", "site")
	if err != nil || got.Version != 2 {
		t.Fatalf("find = %+v, %v", got, err)
	}
	if err := cfg.DeleteConfig(ctx, "site", "site"); err != nil {
		t.Fatal(err)
	}
	_, err = cfg.FindConfig(ctx, "site", "site")
	wantCode(t, err, core.ENotFound)
	if d, err = cfg.PutConfig(ctx, "site", "site", json.RawMessage(body), 0); err != nil || d.Version != 4 {
		t.Fatalf("recreate = %+v, %v (versions continue after a delete)", d, err)
	}
	changes := readAll(t, s)
	n := 0
	for _, c := range changes {
		if c.Kind == core.KindConfig && c.EntityID == "site/site" {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("feed has %d config rows, want 4 (create, update, delete, create)", n)
	}
}

// readAll reads the whole feed. The feed only returns rows of
// transactions older than every transaction still running on the server —
// including other tests' databases — so it polls until the cursor has passed
// the newest row of this database.
func readAll(tb testing.TB, s *postgres.Store) []core.Change {
	tb.Helper()
	ctx := context.Background()
	var last uint64
	if err := s.Pool().QueryRow(ctx, `SELECT COALESCE(max(xid)::text::bigint, 0) FROM change_feed`).Scan(&last); err != nil {
		tb.Fatal(err)
	}
	var out []core.Change
	var cur core.FeedCursor
	deadline := time.Now().Add(20 * time.Second)
	for uint64(cur) <= last {
		if time.Now().After(deadline) {
			tb.Fatalf("feed cursor %d did not pass xid %d", cur, last)
		}
		ch, next, err := s.Feed().ReadChanges(ctx, cur, 1000)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, ch...)
		if next == cur {
			time.Sleep(10 * time.Millisecond)
		}
		cur = next
	}
	return out
}

// TestFeedNeverSkips commits two transactions out of order: the one that
// started first (lower xid, lower seq) commits last. A reader polling in
// between must still see both.
func TestFeedNeverSkips(t *testing.T) {
	t.Parallel()
	s := MustStore(t)
	ctx := context.Background()
	pool := s.Pool()
	feed := s.Feed()
	cur, err := feed.FeedHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx1, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback(ctx)
	if _, err := tx1.Exec(ctx, `INSERT INTO change_feed (kind, entity_id, op) VALUES ('test', 'first', 'create')`); err != nil {
		t.Fatal(err)
	}
	tx2, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx2.Exec(ctx, `INSERT INTO change_feed (kind, entity_id, op) VALUES ('test', 'second', 'create')`); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	ch, cur, err := feed.ReadChanges(ctx, cur, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ch {
		seen[c.EntityID] = true
	}
	if seen["second"] {
		t.Fatal("the reader took a row while an older transaction was still running")
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Other databases on the server may hold the snapshot's xmin back for
	// a moment: poll until both rows arrive.
	for deadline := time.Now().Add(20 * time.Second); !(seen["first"] && seen["second"]) && time.Now().Before(deadline); {
		ch, cur, err = feed.ReadChanges(ctx, cur, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range ch {
			if seen[c.EntityID] {
				t.Fatalf("row %s read twice", c.EntityID)
			}
			seen[c.EntityID] = true
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !seen["first"] || !seen["second"] {
		t.Fatalf("after both commits the reader saw %v; want first and second", seen)
	}
}

func TestItemsAndRevisions(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	items := s.Items()
	it := mustItem(t, ctx, s, core.LiveStageID, "Hello", `{"body":"# Hi","rating":3}`)
	if it.RevisionID == core.NilID || it.TypeVersion != 1 {
		t.Fatalf("created %+v", it)
	}
	for name, tc := range map[string]struct {
		item   core.Item
		paths  []string
		reason string
	}{
		"UnknownType":   {core.Item{Type: "nope", Title: "x"}, []string{"type"}, ""},
		"UnknownField":  {core.Item{Type: "article", Title: "x", Fields: json.RawMessage(`{"bogus":1}`)}, []string{"fields.bogus"}, ""},
		"WrongJSONType": {core.Item{Type: "article", Title: "x", Fields: json.RawMessage(`{"rating":"five"}`)}, []string{"fields.rating"}, ""},
		"OutOfRange":    {core.Item{Type: "article", Title: "x", Fields: json.RawMessage(`{"rating":9}`)}, []string{"fields.rating"}, ""},
		"TooLong":       {core.Item{Type: "article", Title: "x", Fields: json.RawMessage(fmt.Sprintf(`{"body":%q}`, strings.Repeat("a", 2000)))}, []string{"fields.body"}, ""},
		"EmptyTitle":    {core.Item{Type: "article", Title: ""}, []string{"title"}, ""},
		"MissingRef":    {core.Item{Type: "article", Title: "x", Fields: json.RawMessage(`{"related":[{"id":"01900000-0000-7000-8000-000000000000"}]}`)}, []string{"fields.related[0]"}, ""},
		"MissingTerm":   {core.Item{Type: "article", Title: "x", Fields: json.RawMessage(`{"tags":[{"id":"01900000-0000-7000-8000-000000000000"}]}`)}, []string{"fields.tags[0]"}, ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := tc.item
			err := items.CreateItem(ctx, core.LiveStageID, &c, "")
			wantCode(t, err, core.EInvalid)
			fields := core.ErrorFields(err)
			for _, p := range tc.paths {
				found := false
				for _, f := range fields {
					if f.Path == p || len(f.Path) > len(p) && f.Path[:len(p)] == p {
						found = true
					}
				}
				if !found {
					t.Fatalf("error %v does not name %s", err, p)
				}
			}
		})
	}
	// Update with the current revision, then with a stale one.
	title := "Hello again"
	up, err := items.UpdateItem(ctx, core.LiveStageID, it.ID, core.ItemUpdate{Title: &title, IfRevision: &it.RevisionID, Log: "retitle"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = items.UpdateItem(ctx, core.LiveStageID, it.ID, core.ItemUpdate{Title: &title, IfRevision: &it.RevisionID})
	wantCode(t, err, core.EConflict)
	revs, err := items.FindRevisions(ctx, it.ID)
	if err != nil || len(revs) != 2 || revs[0].ID != up.RevisionID || revs[0].Log != "retitle" {
		t.Fatalf("revisions = %v, %v", revs, err)
	}
	restored, err := items.RestoreRevision(ctx, core.LiveStageID, it.RevisionID, "")
	if err != nil || restored.Title != "Hello" {
		t.Fatalf("restore = %+v, %v", restored, err)
	}
	// Revisions cannot be changed, even by direct SQL.
	_, err = s.Pool().Exec(context.Background(), `UPDATE revision SET log = 'tampered' WHERE id = $1`, it.RevisionID)
	if err == nil {
		t.Fatal("UPDATE of a revision succeeded")
	}
	_, err = s.Pool().Exec(context.Background(), `DELETE FROM revision WHERE id = $1`, it.RevisionID)
	if err == nil {
		t.Fatal("DELETE of a revision succeeded")
	}
	if err := items.DeleteItem(ctx, core.LiveStageID, it.ID); err != nil {
		t.Fatal(err)
	}
	_, err = items.FindItemByID(ctx, core.LiveStageID, it.ID)
	wantCode(t, err, core.ENotFound)
}

// TestConcurrentUpdates: many writers update one item, each from the
// revision it read. Every success is a revision; every stale write is
// refused; none is lost.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	for _, stage := range []core.ID{core.LiveStageID, mustStage(t, ctx, s, "concurrent").ID} {
		it := mustItem(t, ctx, s, core.LiveStageID, "Counter", `{"rating":1}`)
		const writers = 16
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			ok, stale int
		)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for attempt := 0; attempt < 50; attempt++ {
					cur, err := s.Items().FindItemByID(ctx, stage, it.ID)
					if err != nil {
						t.Error(err)
						return
					}
					title := fmt.Sprintf("writer %d", w)
					_, err = s.Items().UpdateItem(ctx, stage, it.ID, core.ItemUpdate{Title: &title, IfRevision: &cur.RevisionID})
					mu.Lock()
					switch core.ErrorCode(err) {
					case "":
						ok++
					case core.EConflict:
						stale++
					default:
						t.Error(err)
					}
					mu.Unlock()
					if err == nil {
						return
					}
				}
			}(w)
		}
		wg.Wait()
		revs, err := s.Items().FindRevisions(ctx, it.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok != writers || len(revs) != writers+1 {
			t.Fatalf("stage %s: %d successful updates, %d revisions, %d stale; want %d updates and %d revisions", stage, ok, len(revs), stale, writers, writers+1)
		}
		// The revisions form one chain: every parent is the previous one.
		for i := 0; i < len(revs)-1; i++ {
			if revs[i].ParentID == nil || *revs[i].ParentID != revs[i+1].ID {
				t.Fatalf("revision %d's parent is %v, want %s", i, revs[i].ParentID, revs[i+1].ID)
			}
		}
	}
}

func TestStageCopyOnWriteAndPublish(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	items, stages := s.Items(), s.Stages()
	it := mustItem(t, ctx, s, core.LiveStageID, "Original", `{}`)
	st := mustStage(t, ctx, s, "spring")
	title := "Staged"
	if _, err := items.UpdateItem(ctx, st.ID, it.ID, core.ItemUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	created := mustItem(t, ctx, s, st.ID, "New in stage", `{}`)
	gone := mustItem(t, ctx, s, core.LiveStageID, "To delete", `{}`)
	if err := items.DeleteItem(ctx, st.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	live, _ := items.FindItemByID(ctx, core.LiveStageID, it.ID)
	staged, _ := items.FindItemByID(ctx, st.ID, it.ID)
	if live.Title != "Original" || staged.Title != "Staged" {
		t.Fatalf("live %q, staged %q", live.Title, staged.Title)
	}
	if _, err := items.FindItemByID(ctx, core.LiveStageID, created.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("stage creation visible in live: %v", err)
	}
	if _, err := items.FindItemByID(ctx, st.ID, gone.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("tombstoned item visible in stage: %v", err)
	}
	list, total, err := items.FindItems(ctx, core.ItemFilter{StageID: st.ID})
	if err != nil || total != 2 || len(list) != 2 {
		t.Fatalf("stage list = %d/%d, %v; want Staged and New", len(list), total, err)
	}
	diff, err := stages.DiffStage(ctx, st.ID)
	if err != nil || len(diff) != 3 {
		t.Fatalf("diff = %+v, %v", diff, err)
	}
	rep, err := stages.PublishStage(ctx, st.ID, core.PublishOptions{DryRun: true})
	if err != nil || rep.Applied || rep.Unresolved() {
		t.Fatalf("dry run = %+v, %v", rep, err)
	}
	if live, _ := items.FindItemByID(ctx, core.LiveStageID, it.ID); live.Title != "Original" {
		t.Fatal("dry run changed live")
	}
	rep, err = stages.PublishStage(ctx, st.ID, core.PublishOptions{})
	if err != nil || !rep.Applied || len(rep.Release.Entries) != 3 {
		t.Fatalf("publish = %+v, %v", rep, err)
	}
	if live, _ := items.FindItemByID(ctx, core.LiveStageID, it.ID); live.Title != "Staged" {
		t.Fatalf("after publish live title = %q", live.Title)
	}
	if _, err := items.FindItemByID(ctx, core.LiveStageID, gone.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatal("deleted item still live")
	}
	_, err = stages.PublishStage(ctx, st.ID, core.PublishOptions{})
	wantCode(t, err, core.EInvalid)

	// Every publish appears in the feed with its release.
	n := 0
	for _, c := range readAll(t, s) {
		if c.ReleaseID != nil && *c.ReleaseID == rep.Release.ID {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("feed rows for the release = %d, want 3 entities + the release", n)
	}

	// Rollback restores the previous live state byte for byte.
	rb, err := stages.RollbackRelease(ctx, rep.Release.ID, core.PublishOptions{})
	if err != nil || !rb.Applied {
		t.Fatalf("rollback = %+v, %v", rb, err)
	}
	after, _ := items.FindItemByID(ctx, core.LiveStageID, it.ID)
	if after.RevisionID != live.RevisionID || after.Title != "Original" || string(after.Fields) != string(live.Fields) {
		t.Fatalf("rollback gave %+v, want revision %s", after, live.RevisionID)
	}
	if _, err := items.FindItemByID(ctx, core.LiveStageID, gone.ID); err != nil {
		t.Fatalf("rollback did not restore the deleted item: %v", err)
	}
	if _, err := items.FindItemByID(ctx, core.LiveStageID, created.ID); core.ErrorCode(err) != core.ENotFound {
		t.Fatal("rollback kept the item the release created")
	}
}

func TestPublishConflicts(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	items, stages := s.Items(), s.Stages()
	it := mustItem(t, ctx, s, core.LiveStageID, "Shared", `{}`)
	a, b := mustStage(t, ctx, s, "a"), mustStage(t, ctx, s, "b")
	ta, tb := "From A", "From B"
	if _, err := items.UpdateItem(ctx, a.ID, it.ID, core.ItemUpdate{Title: &ta}); err != nil {
		t.Fatal(err)
	}
	if _, err := items.UpdateItem(ctx, b.ID, it.ID, core.ItemUpdate{Title: &tb}); err != nil {
		t.Fatal(err)
	}
	// Both stages create /about.
	for _, st := range []*core.Stage{a, b} {
		if _, err := s.Staged().PutStaged(ctx, core.KindAlias, st.ID, core.NilID, json.RawMessage(`{"alias":"/about","path":"/item/`+it.ID.String()+`"}`), nil, ""); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := stages.PublishStage(ctx, a.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish a = %+v, %v", rep, err)
	}
	rep, err := stages.PublishStage(ctx, b.ID, core.PublishOptions{})
	if err != nil || rep.Applied {
		t.Fatalf("publish b = %+v, %v; want not applied", rep, err)
	}
	var conflict, clash bool
	for _, e := range rep.Entries {
		if e.Kind == core.KindItem && e.Problem == "conflict" {
			conflict = true
		}
		if e.Kind == core.KindAlias && e.Problem == "violation" {
			clash = true
		}
	}
	if !conflict || !clash {
		t.Fatalf("report = %+v; want an item conflict and an alias clash", rep.Entries)
	}
	if live, _ := items.FindItemByID(ctx, core.LiveStageID, it.ID); live.Title != ta {
		t.Fatal("a refused publish changed live")
	}
	// "mine" for everything: the alias clash still cannot be applied.
	rep, err = stages.PublishStage(ctx, b.ID, core.PublishOptions{OnConflict: core.ResolveMine})
	if err != nil || rep.Applied {
		t.Fatalf("publish b mine = %+v, %v; the alias clash must still block", rep, err)
	}
	// Resolve: theirs for the alias, mine for the item.
	choices := map[string]string{}
	for _, e := range rep.Entries {
		if e.Kind == core.KindAlias {
			choices[e.Kind+":"+e.EntityID.String()] = core.ResolveTheirs
		}
	}
	rep, err = stages.PublishStage(ctx, b.ID, core.PublishOptions{OnConflict: core.ResolveMine, Choices: choices})
	if err != nil || !rep.Applied {
		t.Fatalf("publish b resolved = %+v, %v", rep, err)
	}
	if live, _ := items.FindItemByID(ctx, core.LiveStageID, it.ID); live.Title != tb {
		t.Fatalf("live title %q, want %q", live.Title, tb)
	}
}

func TestPublishValidatesLiveState(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	items, stages, staged := s.Items(), s.Stages(), s.Staged()

	// A term cycle formed across two stages.
	t1, err := staged.PutStaged(ctx, core.KindTerm, core.LiveStageID, core.NilID, json.RawMessage(`{"vocabulary":"tags","name":"one"}`), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t2, err := staged.PutStaged(ctx, core.KindTerm, core.LiveStageID, core.NilID, json.RawMessage(`{"vocabulary":"tags","name":"two"}`), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustStage(t, ctx, s, "ta"), mustStage(t, ctx, s, "tb")
	if _, err := staged.PutStaged(ctx, core.KindTerm, a.ID, t1.ID, json.RawMessage(`{"vocabulary":"tags","name":"one","parents":["`+t2.ID.String()+`"]}`), nil, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := staged.PutStaged(ctx, core.KindTerm, b.ID, t2.ID, json.RawMessage(`{"vocabulary":"tags","name":"two","parents":["`+t1.ID.String()+`"]}`), nil, ""); err != nil {
		t.Fatal(err)
	}
	// Within one stage the cycle is refused at once.
	_, err = staged.PutStaged(ctx, core.KindTerm, a.ID, t2.ID, json.RawMessage(`{"vocabulary":"tags","name":"two","parents":["`+t1.ID.String()+`"]}`), nil, "")
	wantCode(t, err, core.EInvalid)
	if rep, err := stages.PublishStage(ctx, a.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish ta = %+v, %v", rep, err)
	}
	rep, err := stages.PublishStage(ctx, b.ID, core.PublishOptions{})
	if err != nil || rep.Applied || len(rep.Entries) != 1 || rep.Entries[0].Problem != "violation" {
		t.Fatalf("publish tb = %+v, %v; want a cycle violation", rep, err)
	}

	// A reference to an item deleted by another stage's publish.
	target := mustItem(t, ctx, s, core.LiveStageID, "Target", `{}`)
	c, d := mustStage(t, ctx, s, "refs"), mustStage(t, ctx, s, "deletes")
	mustItem(t, ctx, s, c.ID, "Referrer", `{"related":[{"id":"`+target.ID.String()+`"}]}`)
	if err := items.DeleteItem(ctx, d.ID, target.ID); err != nil {
		t.Fatal(err)
	}
	if rep, err := stages.PublishStage(ctx, d.ID, core.PublishOptions{}); err != nil || !rep.Applied {
		t.Fatalf("publish deletes = %+v, %v", rep, err)
	}
	rep, err = stages.PublishStage(ctx, c.ID, core.PublishOptions{})
	if err != nil || rep.Applied || rep.Entries[0].Problem != "violation" {
		t.Fatalf("publish refs = %+v, %v; want a dangling reference violation", rep, err)
	}
}

// TestPublishKilledHalfWay cancels a publish while it runs: live must be
// exactly as before.
func TestPublishKilledHalfWay(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	st := mustStage(t, ctx, s, "big")
	var ids []core.ID
	for i := 0; i < 60; i++ {
		it := mustItem(t, ctx, s, core.LiveStageID, fmt.Sprintf("Item %d", i), `{}`)
		title := fmt.Sprintf("Changed %d", i)
		if _, err := s.Items().UpdateItem(ctx, st.ID, it.ID, core.ItemUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	var before []byte
	if err := s.Pool().QueryRow(ctx, `SELECT jsonb_agg(i ORDER BY id)::text FROM item i`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for _, d := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 15 * time.Millisecond} {
		cctx, cancel := context.WithTimeout(ctx, d)
		_, err := s.Stages().PublishStage(cctx, st.ID, core.PublishOptions{})
		cancel()
		if err == nil {
			break // the machine was fast enough; live must show the whole stage
		}
		var after []byte
		if err := s.Pool().QueryRow(ctx, `SELECT jsonb_agg(i ORDER BY id)::text FROM item i`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if string(after) != string(before) {
			t.Fatalf("a cancelled publish changed live")
		}
	}
	_ = ids
}

func TestScheduledPublishRunsOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDBURL(t)
	var nodes []*postgres.Store
	for i := 0; i < 3; i++ {
		pool, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		nodes = append(nodes, postgres.NewStore(postgres.StoreConfig{Pool: pool, ValidateConfig: core.CheckConfigDocument}))
	}
	ctx := asAdmin(t, nodes[0])
	mustPut(t, ctx, nodes[0], "item_type", "article", `{"kind":"item_type","name":"article","label":"Article","fields":[]}`)
	st := mustStage(t, ctx, nodes[0], "timed")
	mustItem(t, ctx, nodes[0], st.ID, "Scheduled", `{}`)
	at := time.Now().Add(300 * time.Millisecond)
	if _, err := nodes[0].Stages().ScheduleStage(ctx, st.ID, &at); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Hour)
	_, err := nodes[0].Stages().ScheduleStage(ctx, st.ID, &past)
	wantCode(t, err, core.EInvalid)
	time.Sleep(400 * time.Millisecond)
	var wg sync.WaitGroup
	results := make([]int, 3)
	for i, n := range nodes {
		wg.Add(1)
		go func(i int, n *postgres.Store) {
			defer wg.Done()
			reps, err := n.Stages().RunScheduled(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[i] = len(reps)
		}(i, n)
	}
	wg.Wait()
	if total := results[0] + results[1] + results[2]; total != 1 {
		t.Fatalf("scheduled publishes = %v, want exactly one", results)
	}
	var releases int
	if err := nodes[0].Pool().QueryRow(ctx, `SELECT count(*) FROM release`).Scan(&releases); err != nil || releases != 1 {
		t.Fatalf("releases = %d, %v", releases, err)
	}
}

func TestStageBadInput(t *testing.T) {
	t.Parallel()
	s, ctx := MustSite(t)
	stages := s.Stages()
	for name, tc := range map[string]struct {
		run  func() error
		code string
	}{
		"EmptyName":   {func() error { return stages.CreateStage(ctx, &core.Stage{Name: ""}) }, core.EInvalid},
		"LiveName":    {func() error { return stages.CreateStage(ctx, &core.Stage{Name: "live"}) }, core.EInvalid},
		"BadName":     {func() error { return stages.CreateStage(ctx, &core.Stage{Name: "Has Spaces"}) }, core.EInvalid},
		"UnknownFind": {func() error { _, err := stages.FindStage(ctx, "nope"); return err }, core.ENotFound},
		"EmptyFind":   {func() error { _, err := stages.FindStage(ctx, ""); return err }, core.EInvalid},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, tc.run(), tc.code) })
	}
	st := mustStage(t, ctx, s, "dup")
	wantCode(t, stages.CreateStage(ctx, &core.Stage{Name: "dup"}), core.EConflict)
	if err := stages.DiscardStage(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	_, err := stages.PublishStage(ctx, st.ID, core.PublishOptions{})
	wantCode(t, err, core.EInvalid)
	_, _, err = s.Items().FindItems(ctx, core.ItemFilter{StageID: core.NewID()})
	wantCode(t, err, core.ENotFound)

	// A user without publish permission.
	editor := mustUser(t, s, "ed", core.RoleEditor)
	st2 := mustStage(t, ctx, s, "nopublish")
	_, err = stages.PublishStage(editor, st2.ID, core.PublishOptions{})
	wantCode(t, err, core.EForbidden)
	// A user who may not view a stage gets not found, not forbidden.
	plain := mustUser(t, s, "pl")
	_, err = stages.FindStage(plain, "nopublish")
	wantCode(t, err, core.ENotFound)
	_, _, err = s.Items().FindItems(plain, core.ItemFilter{StageID: st2.ID})
	wantCode(t, err, core.ENotFound)
}
