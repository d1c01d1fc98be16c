package demo_test

import (
	"context"
	"encoding/json"
	"testing"

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

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestLoadTwiceChangesNothing(t *testing.T) {
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
