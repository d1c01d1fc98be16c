package demo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/demo"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// site is one fresh database with the loader over it, acting as admin.
type site struct {
	s   *postgres.Store
	l   *demo.StoreLoader
	ctx context.Context
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := postgres.NewStore(postgres.StoreConfig{Pool: pgtest.NewDB(t), ValidateConfig: core.CheckConfigDocument})
	ctx := context.Background()
	u, err := s.Users().FindUserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return &site{s: s, l: demo.NewStoreLoader(s, s.Files(postgres.FileLimits{})), ctx: core.NewContextWithUser(ctx, u)}
}

func (st *site) mustLoad(t *testing.T, opts demo.Options) *demo.Report {
	t.Helper()
	rep, err := demo.Load(st.ctx, st.l, opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return rep
}

// rows counts rows of a table.
func (st *site) rows(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := st.s.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func mustDemo(t *testing.T) *demo.Demo {
	t.Helper()
	d, err := demo.Default()
	if err != nil {
		t.Fatalf("the embedded demo is not valid: %v", err)
	}
	return d
}

// wantCounts is what a first load of d must create, per kind.
func wantCounts(d *demo.Demo) map[string]int {
	want := map[string]int{
		core.KindFile:     len(d.Files),
		core.KindTerm:     len(d.Terms),
		core.KindItem:     len(d.Items),
		core.KindAlias:    len(d.Aliases),
		core.KindMenuLink: len(d.MenuLinks),
	}
	for _, c := range d.Config {
		want[c.Kind]++
	}
	return want
}

func TestLoadCreatesEverything(t *testing.T) {
	t.Parallel()
	st := newSite(t)
	d := mustDemo(t)
	rep := st.mustLoad(t, demo.Options{})
	for kind, n := range wantCounts(d) {
		if got := rep.Count(kind); got.Created != n || got.Updated+got.Unchanged+got.Edited != 0 {
			t.Errorf("%s: got %+v, want %d created", kind, got, n)
		}
	}
	if len(rep.Edited) != 0 {
		t.Errorf("edited on a fresh site: %+v", rep.Edited)
	}
	// What the store holds matches the documents.
	for _, q := range []struct {
		sql  string
		want int
	}{
		{`SELECT count(*) FROM item`, len(d.Items)},
		{`SELECT count(*) FROM term`, len(d.Terms)},
		{`SELECT count(*) FROM path_alias`, len(d.Aliases)},
		{`SELECT count(*) FROM menu_link`, len(d.MenuLinks)},
		{`SELECT count(*) FROM file`, len(d.Files)},
		{`SELECT count(*) FROM revision WHERE log <> 'demo ` + itoa(d.Version) + `'`, 0},
	} {
		if got := st.rows(t, q.sql); got != q.want {
			t.Errorf("%s = %d, want %d", q.sql, got, q.want)
		}
	}
	site, err := st.s.Config().FindConfig(st.ctx, "site", "site")
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		SiteName string `json:"site_name"`
		BaseURL  string `json:"base_url"`
	}
	if err := json.Unmarshal(site.Body, &body); err != nil || body.SiteName != "Trovato Demo" || body.BaseURL != "http://127.0.0.1:8080" {
		t.Errorf("site document: %s", site.Body)
	}
	// Items keep their fixed ids and creation times.
	for _, it := range d.Items {
		got, err := st.s.Items().FindItemByID(st.ctx, core.LiveStageID, it.ID)
		if err != nil {
			t.Fatalf("item %s: %v", it.Title, err)
		}
		if !got.CreatedAt.Equal(it.CreatedAt) || got.Title != it.Title || got.Type != it.Type {
			t.Errorf("item %s: got %s %q created %s", it.ID, got.Type, got.Title, got.CreatedAt)
		}
	}
}

// kinds formats a report's counts for failure messages.
func kinds(rep *demo.Report) string {
	b, _ := json.Marshal(rep.Kinds)
	return string(b)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestLoadTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	st := newSite(t)
	d := mustDemo(t)
	st.mustLoad(t, demo.Options{})
	count := func() map[string]int {
		return map[string]int{
			"revision":           st.rows(t, `SELECT count(*) FROM revision`),
			"config_doc_version": st.rows(t, `SELECT count(*) FROM config_doc_version`),
			"file":               st.rows(t, `SELECT count(*) FROM file`),
			"blob":               st.rows(t, `SELECT count(*) FROM blob`),
			"change_feed":        st.rows(t, `SELECT count(*) FROM change_feed`),
			"item":               st.rows(t, `SELECT count(*) FROM item`),
		}
	}
	before := count()
	rep := st.mustLoad(t, demo.Options{})
	for kind, n := range wantCounts(d) {
		if got := rep.Count(kind); got.Unchanged != n || got.Created+got.Updated+got.Edited != 0 {
			t.Errorf("second load, %s: got %+v, want %d unchanged", kind, got, n)
		}
	}
	if rep.Changed() {
		t.Error("the second load reports changes")
	}
	after := count()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s rows: %d before the second load, %d after", k, v, after[k])
		}
	}
}

// demoFS copies the embedded demo, changing files by edit (path ->
// function of the old content; "" deletes the file).
func demoFS(t *testing.T, edit map[string]func(string) string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(demo.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(demo.FS(), p)
		if err != nil {
			return err
		}
		s := string(b)
		if f, ok := edit[p]; ok {
			if s = f(s); s == "" {
				return nil
			}
		}
		m[p] = &fstest.MapFile{Data: []byte(s)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, f := range edit {
		if _, ok := m[p]; !ok {
			if s := f(""); s != "" {
				m[p] = &fstest.MapFile{Data: []byte(s)}
			}
		}
	}
	return m
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		if !strings.Contains(s, old) {
			panic("replace: " + old + " not found")
		}
		return strings.Replace(s, old, new, 1)
	}
}

const (
	aboutID   = "01900000-0000-7000-8000-000000000102"
	contactID = "01900000-0000-7000-8000-000000000103"
	stagingID = "01900000-0000-7000-8000-000000000201"
	goTagID   = "01900000-0000-7000-8000-000000000302"
	aboutLink = "01900000-0000-7000-8000-000000000609"
	homeAlias = "01900000-0000-7000-8000-000000000501"
)

func mustID(t *testing.T, s string) core.ID {
	t.Helper()
	id, err := core.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestUserEditsAreReportedNotOverwritten(t *testing.T) {
	t.Parallel()
	st := newSite(t)
	st.mustLoad(t, demo.Options{})
	about := mustID(t, aboutID)
	// A user retitles an item, renames a tag, moves a menu link, deletes
	// an item and changes the site name.
	title := "About this magazine"
	edited, err := st.s.Items().UpdateItem(st.ctx, core.LiveStageID, about, core.ItemUpdate{Title: &title, Log: "retitled"})
	if err != nil {
		t.Fatal(err)
	}
	tag, err := st.s.Staged().FindStaged(st.ctx, core.KindTerm, core.LiveStageID, mustID(t, goTagID))
	if err != nil {
		t.Fatal(err)
	}
	var term core.Term
	if err := json.Unmarshal(tag.Doc, &term); err != nil {
		t.Fatal(err)
	}
	term.Name = "Golang"
	doc, _ := json.Marshal(term)
	if _, err := st.s.Staged().PutStaged(st.ctx, core.KindTerm, core.LiveStageID, term.ID, doc, &tag.RevisionID, ""); err != nil {
		t.Fatal(err)
	}
	link := core.MenuLink{Menu: "main", Title: "Who we are", Path: "/about", Weight: 99}
	doc, _ = json.Marshal(link)
	if _, err := st.s.Staged().PutStaged(st.ctx, core.KindMenuLink, core.LiveStageID, mustID(t, aboutLink), doc, nil, "renamed"); err != nil {
		t.Fatal(err)
	}
	if err := st.s.Items().DeleteItem(st.ctx, core.LiveStageID, mustID(t, contactID)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.s.Config().PutConfig(st.ctx, "site", "site", json.RawMessage(`{"kind":"site","name":"site","site_name":"My Site"}`), 0); err != nil {
		t.Fatal(err)
	}
	revisions := st.rows(t, `SELECT count(*) FROM revision`)

	rep := st.mustLoad(t, demo.Options{})
	if rep.Changed() {
		t.Errorf("the load changed something: %s", kinds(rep))
	}
	want := map[string]bool{"item " + aboutID: true, "term " + goTagID: true, "menu_link " + aboutLink: true,
		"item " + contactID: true, "site site/site": true}
	for _, e := range rep.Edited {
		key := e.Kind + " " + e.ID
		if !want[key] {
			t.Errorf("unexpected edited entry %+v", e)
		}
		delete(want, key)
	}
	for k := range want {
		t.Errorf("%s is not reported as edited (report: %+v)", k, rep.Edited)
	}
	for kind, n := range map[string]int{core.KindItem: 2, core.KindTerm: 1, core.KindMenuLink: 1, "site": 1} {
		if got := rep.Count(kind).Edited; got != n {
			t.Errorf("%s: %d edited, want %d", kind, got, n)
		}
	}
	// Nothing was overwritten or recreated.
	if got := st.rows(t, `SELECT count(*) FROM revision`); got != revisions {
		t.Errorf("revisions: %d before the load, %d after", revisions, got)
	}
	it, err := st.s.Items().FindItemByID(st.ctx, core.LiveStageID, about)
	if err != nil || it.Title != title || it.RevisionID != edited.RevisionID {
		t.Errorf("about after the load: %+v, %v", it, err)
	}
	if _, err := st.s.Items().FindItemByID(st.ctx, core.LiveStageID, mustID(t, contactID)); core.ErrorCode(err) != core.ENotFound {
		t.Errorf("the deleted contact page: %v, want not found", err)
	}
	site, _ := st.s.Config().FindConfig(st.ctx, "site", "site")
	if !strings.Contains(string(site.Body), "My Site") {
		t.Errorf("site document was overwritten: %s", site.Body)
	}
}

// v2 is a newer demo: version 2, a changed article body and title, a
// changed tag, an alias moved, the site slogan changed (with version 1's
// body in the config history), and a new page with its alias.
func v2(t *testing.T, v1Site, v1Article string) fstest.MapFS {
	t.Helper()
	return demoFS(t, map[string]func(string) string{
		"demo.yaml": func(string) string {
			return "version: 3\nconfig_history:\n  site/site: [" + v1Site + "]\n  item_type/article: [" + v1Article + "]\n"
		},
		"config/types.yaml": replace("  - {name: category,", "  - {name: subtitle, type: text, max_length: 120}\n  - {name: category,"),
		"config/site.yaml":  replace("slogan: Content, staged.", "slogan: Content, staged and shipped."),
		"content/articles/01-staging-a-whole-site.yaml": func(s string) string {
			s = replace("title: Staging a whole site, not just a page", "title: Stage the whole site")(s)
			return replace("fields:\n", "fields:\n  subtitle: Publish many changes at once\n")(s)
		},
		"content/terms.yaml":   replace("description: The language the kernel is written in.", "description: The kernel's language."),
		"content/aliases.yaml": replace("alias: /colophon", "alias: /how-this-site-is-made"),
		"content/menus.yaml":   func(s string) string { return strings.ReplaceAll(s, "path: /colophon", "path: /how-this-site-is-made") },
		"content/pages-v2.yaml": func(string) string {
			return `kind: item
id: 01900000-0000-7000-8000-000000000106
type: page
title: Imprint
created_at: 2026-04-01T08:00:00Z
fields:
  body: Published by the Trovato Demo team.
---
kind: alias
id: 01900000-0000-7000-8000-000000000506
alias: /imprint
path: /item/01900000-0000-7000-8000-000000000106
`
		},
	})
}

func TestNewerDemoUpdatesWhatItWrote(t *testing.T) {
	t.Parallel()
	st := newSite(t)
	st.mustLoad(t, demo.Options{})
	site, err := st.s.Config().FindConfig(st.ctx, "site", "site")
	if err != nil {
		t.Fatal(err)
	}
	canon, err := core.ParseConfigDoc("site", site.Body)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canon.Body)
	// A user edits the tag the new demo changes, so it must stay theirs.
	tag, err := st.s.Staged().FindStaged(st.ctx, core.KindTerm, core.LiveStageID, mustID(t, goTagID))
	if err != nil {
		t.Fatal(err)
	}
	var term core.Term
	_ = json.Unmarshal(tag.Doc, &term)
	term.Description = "Mine."
	doc, _ := json.Marshal(term)
	if _, err := st.s.Staged().PutStaged(st.ctx, core.KindTerm, core.LiveStageID, term.ID, doc, nil, "my words"); err != nil {
		t.Fatal(err)
	}

	fsys := v2(t, hex.EncodeToString(sum[:]), mustDemo(t).ConfigHashes()["item_type/article"])
	rep := st.mustLoad(t, demo.Options{FS: fsys})
	for kind, want := range map[string]demo.KindCount{
		"site":            {Updated: 1},
		"item_type":       {Updated: 1},
		core.KindItem:     {Created: 1, Updated: 1},
		core.KindTerm:     {Edited: 1},
		core.KindAlias:    {Created: 1, Updated: 1},
		core.KindMenuLink: {Updated: 2},
	} {
		got := rep.Count(kind)
		if got.Created != want.Created || got.Updated != want.Updated || got.Edited != want.Edited {
			t.Errorf("%s: got %+v, want %+v", kind, got, want)
		}
	}
	it, err := st.s.Items().FindItemByID(st.ctx, core.LiveStageID, mustID(t, stagingID))
	if err != nil || it.Title != "Stage the whole site" || !strings.Contains(string(it.Fields), "Publish many changes at once") {
		t.Fatalf("updated article: %+v, %v", it, err)
	}
	revs, err := st.s.Items().FindRevisions(st.ctx, it.ID)
	if err != nil || len(revs) != 2 || revs[0].Log != "demo 3" || revs[1].Log != "demo 2" {
		t.Errorf("revisions of the updated article: %d, %v", len(revs), err)
	}
	site, _ = st.s.Config().FindConfig(st.ctx, "site", "site")
	if !strings.Contains(string(site.Body), "staged and shipped") {
		t.Errorf("site document not updated: %s", site.Body)
	}
	tag, _ = st.s.Staged().FindStaged(st.ctx, core.KindTerm, core.LiveStageID, mustID(t, goTagID))
	if !strings.Contains(string(tag.Doc), "Mine.") {
		t.Errorf("the user's tag was overwritten: %s", tag.Doc)
	}
	// And loading version 2 again changes nothing.
	if rep := st.mustLoad(t, demo.Options{FS: fsys}); rep.Changed() {
		t.Errorf("second load of version 2 changed: %s", kinds(rep))
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	st := newSite(t)
	d := mustDemo(t)
	feed := st.rows(t, `SELECT count(*) FROM change_feed`)
	rep := st.mustLoad(t, demo.Options{DryRun: true})
	if !rep.DryRun {
		t.Error("report does not say dry run")
	}
	for kind, n := range wantCounts(d) {
		if got := rep.Count(kind).Created; got != n {
			t.Errorf("dry run, %s: %d would be created, want %d", kind, got, n)
		}
	}
	if got := st.rows(t, `SELECT count(*) FROM change_feed`); got != feed {
		t.Errorf("dry run appended %d changes", got-feed)
	}
}

func TestLoadNeedsPermissions(t *testing.T) {
	t.Parallel()
	st := newSite(t)
	_, err := demo.Load(context.Background(), st.l, demo.Options{})
	if code := core.ErrorCode(err); code != core.EForbidden && code != core.EUnauthorized {
		t.Fatalf("anonymous load: %v (code %q), want forbidden or unauthorized", err, code)
	}
	if n := st.rows(t, `SELECT count(*) FROM item`); n != 0 {
		t.Errorf("anonymous load stored %d items", n)
	}
}

// Two loads at once (two terminals running make run) both succeed and
// leave one copy of everything.
func TestConcurrentLoads(t *testing.T) {
	t.Parallel()
	st := newSite(t)
	d := mustDemo(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := demo.Load(st.ctx, st.l, demo.Options{})
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent load: %v", err)
		}
	}
	for _, q := range []struct {
		table string
		want  int
	}{{"item", len(d.Items)}, {"term", len(d.Terms)}, {"path_alias", len(d.Aliases)}, {"menu_link", len(d.MenuLinks)}} {
		if got := st.rows(t, `SELECT count(*) FROM `+q.table); got != q.want {
			t.Errorf("%s: %d rows, want %d", q.table, got, q.want)
		}
	}
	if rep := st.mustLoad(t, demo.Options{}); rep.Changed() || len(rep.Edited) > 0 {
		t.Errorf("a load after the concurrent ones: %s, edited %+v", kinds(rep), rep.Edited)
	}
}
