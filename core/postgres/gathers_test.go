package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

const eventType = `{"kind":"item_type","name":"event","label":"Event","fields":[
	{"name":"subtitle","type":"text"},
	{"name":"score","type":"decimal","scale":2},
	{"name":"day","type":"date"},
	{"name":"starts","type":"datetime"},
	{"name":"featured","type":"boolean"},
	{"name":"contact","type":"email"},
	{"name":"site","type":"link"},
	{"name":"venue","type":"item_ref","target_types":["article"]},
	{"name":"section","type":"term_ref","vocabulary":"tags"},
	{"name":"labels","type":"text","cardinality":"unlimited"}]}`

// gatherSite is a small site with every field type, a term tree, item
// references two steps deep and one item by another author.
type gatherSite struct {
	s                  *postgres.Store
	admin, writer      context.Context
	now                time.Time
	ids                map[string]core.ID // item title -> id
	root, child, grand core.ID            // terms: root > child > grand
}

func mustGatherSite(t *testing.T) *gatherSite {
	t.Helper()
	s, admin := MustSite(t)
	mustPut(t, admin, s, "item_type", "event", eventType)
	gs := &gatherSite{s: s, admin: admin, writer: mustUser(t, s, "writer"), now: time.Now().UTC(), ids: map[string]core.ID{}}
	term := func(name string, parent core.ID) core.ID {
		doc := `{"vocabulary":"tags","name":"` + name + `"}`
		if parent != core.NilID {
			doc = `{"vocabulary":"tags","name":"` + name + `","parents":["` + parent.String() + `"]}`
		}
		d, err := s.Staged().PutStaged(admin, core.KindTerm, core.LiveStageID, core.NilID, json.RawMessage(doc), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	gs.root = term("root", core.NilID)
	gs.child = term("child", gs.root)
	gs.grand = term("grand", gs.child)
	ref := func(title string) string { return `{"id":"@` + title + `"}` } // resolved when created
	tag := func(id core.ID) string { return `{"id":"` + id.String() + `"}` }
	type spec struct {
		typ, title, status, lang, fields string
		age                              int // days
		promote, sticky                  bool
		author                           core.ID
	}
	for _, sp := range []spec{
		{typ: "article", title: "Alpha", lang: "en", age: 2, promote: true, fields: `{"rating":5,"body":"Running shoes reviewed","tags":[` + tag(gs.child) + `]}`},
		{typ: "article", title: "Bravo", age: 40, sticky: true, fields: `{"rating":3,"body":"plain","tags":[` + tag(gs.root) + `],"related":[` + ref("Alpha") + `]}`},
		{typ: "article", title: "Charlie", age: 1, fields: `{"rating":1,"related":[` + ref("Alpha") + `]}`},
		{typ: "article", title: "Delta", status: core.StatusUnpublished, age: 3, fields: `{"rating":4,"related":[` + ref("Bravo") + `]}`},
		{typ: "article", title: "Golf", age: 5, author: core.UserFromContext(gs.writer).ID, fields: `{}`},
		{typ: "event", title: "Echo", lang: "en", age: 10, fields: `{"subtitle":"Summer fair","score":"12.50","day":"2026-05-01","starts":"2026-05-01T10:00:00Z",
			"featured":true,"contact":"a@example.org","site":{"url":"https://example.org"},"venue":` + ref("Alpha") + `,"section":` + tag(gs.root) + `,"labels":["red","blue"]}`},
		{typ: "event", title: "Foxtrot", age: 20, fields: `{"subtitle":"Winter","score":"3.00","day":"2026-01-10","featured":false,"venue":` + ref("Bravo") +
			`,"section":` + tag(gs.grand) + `,"labels":["green"]}`},
	} {
		for title, id := range gs.ids {
			sp.fields = strings.ReplaceAll(sp.fields, "@"+title, id.String())
		}
		it := &core.Item{Type: sp.typ, Title: sp.title, Status: sp.status, Language: sp.lang, Promote: sp.promote, Sticky: sp.sticky,
			AuthorID: sp.author, CreatedAt: gs.now.Add(-time.Duration(sp.age) * 24 * time.Hour), Fields: json.RawMessage(sp.fields)}
		if err := s.Items().CreateItem(admin, core.LiveStageID, it, ""); err != nil {
			t.Fatalf("create %s: %v", sp.title, err)
		}
		gs.ids[sp.title] = it.ID
	}
	return gs
}

func mustGather(t testing.TB, body string) *core.Gather {
	t.Helper()
	g, err := core.ParseGather(json.RawMessage(body))
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return g
}

func titlesOf(items []*core.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Title
	}
	return out
}

// runTitles runs a gather (sorted by title unless it sorts) and returns
// the titles of its first page, checking the total against them.
func (gs *gatherSite) runTitles(t *testing.T, ctx context.Context, stage core.ID, body string, args core.GatherArgs) []string {
	t.Helper()
	g := mustGather(t, body)
	if len(g.Sorts) == 0 {
		g.Sorts = []core.GatherSort{{Field: "title"}}
	}
	g.Pager.PerPage = 100
	res, err := gs.s.RunGather(ctx, g, stage, args)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if res.Total != len(res.Items) {
		t.Fatalf("total %d for %d items %v", res.Total, len(res.Items), titlesOf(res.Items))
	}
	return titlesOf(res.Items)
}

func gatherJSON(types string, filters ...string) string {
	return `{"kind":"gather","name":"t","label":"T","types":[` + types + `],"filters":[` + strings.Join(filters, ",") + `]}`
}

func TestGatherFilters(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	id := func(title string) string { return gs.ids[title].String() }
	both, art, ev := `"article","event"`, `"article"`, `"event"`
	for name, tc := range map[string]struct {
		types, filter string
		args          core.GatherArgs
		ctx           context.Context
		want          string
	}{
		"StatusPublished":     {both, `{"field":"status","op":"eq","value":"published"}`, core.GatherArgs{}, nil, "Alpha Bravo Charlie Echo Foxtrot Golf"},
		"StatusUnpublished":   {both, `{"field":"status","op":"ne","value":"published"}`, core.GatherArgs{}, nil, "Delta"},
		"TitleContains":       {both, `{"field":"title","op":"contains","value":"HA"}`, core.GatherArgs{}, nil, "Alpha Charlie"},
		"TitleNe":             {art, `{"field":"title","op":"ne","value":"Alpha"}`, core.GatherArgs{}, nil, "Bravo Charlie Delta Golf"},
		"TitleIn":             {both, `{"field":"title","op":"in","value":["Alpha","Echo"]}`, core.GatherArgs{}, nil, "Alpha Echo"},
		"TitleRange":          {both, `{"field":"title","op":"lt","value":"C"}`, core.GatherArgs{}, nil, "Alpha Bravo"},
		"IntegerGe":           {art, `{"field":"rating","op":"ge","value":3}`, core.GatherArgs{}, nil, "Alpha Bravo Delta"},
		"IntegerLt":           {art, `{"field":"rating","op":"lt","value":3}`, core.GatherArgs{}, nil, "Charlie"},
		"IntegerLe":           {art, `{"field":"rating","op":"le","value":3}`, core.GatherArgs{}, nil, "Bravo Charlie"},
		"IntegerGt":           {art, `{"field":"rating","op":"gt","value":4}`, core.GatherArgs{}, nil, "Alpha"},
		"IntegerEmpty":        {art, `{"field":"rating","op":"empty"}`, core.GatherArgs{}, nil, "Golf"},
		"IntegerNotEmpty":     {art, `{"field":"rating","op":"not_empty"}`, core.GatherArgs{}, nil, "Alpha Bravo Charlie Delta"},
		"IntegerIn":           {art, `{"field":"rating","op":"in","value":[1,5]}`, core.GatherArgs{}, nil, "Alpha Charlie"},
		"IntegerNotIn":        {art, `{"field":"rating","op":"not_in","value":[1,5]}`, core.GatherArgs{}, nil, "Bravo Delta Golf"},
		"DecimalGt":           {ev, `{"field":"score","op":"gt","value":"5"}`, core.GatherArgs{}, nil, "Echo"},
		"DecimalEq":           {ev, `{"field":"score","op":"eq","value":3}`, core.GatherArgs{}, nil, "Foxtrot"},
		"DateLe":              {ev, `{"field":"day","op":"le","value":"2026-02-01"}`, core.GatherArgs{}, nil, "Foxtrot"},
		"DateTimeGe":          {ev, `{"field":"starts","op":"ge","value":"2026-04-01T00:00:00Z"}`, core.GatherArgs{}, nil, "Echo"},
		"BooleanEq":           {ev, `{"field":"featured","op":"eq","value":true}`, core.GatherArgs{}, nil, "Echo"},
		"BooleanNeOtherTypes": {both, `{"field":"featured","op":"ne","value":true}`, core.GatherArgs{}, nil, "Alpha Bravo Charlie Delta Foxtrot Golf"},
		"Email":               {ev, `{"field":"contact","op":"eq","value":"a@example.org"}`, core.GatherArgs{}, nil, "Echo"},
		"Link":                {ev, `{"field":"site","op":"eq","value":"https://example.org"}`, core.GatherArgs{}, nil, "Echo"},
		"ItemRef":             {ev, `{"field":"venue","op":"eq","value":"` + id("Alpha") + `"}`, core.GatherArgs{}, nil, "Echo"},
		"MultiEq":             {ev, `{"field":"labels","op":"eq","value":"blue"}`, core.GatherArgs{}, nil, "Echo"},
		"MultiContains":       {ev, `{"field":"labels","op":"contains","value":"ee"}`, core.GatherArgs{}, nil, "Foxtrot"},
		"MultiNe":             {ev, `{"field":"labels","op":"ne","value":"blue"}`, core.GatherArgs{}, nil, "Foxtrot"},
		"CategoryDeep":        {ev, `{"field":"section","op":"category","value":"` + gs.root.String() + `"}`, core.GatherArgs{}, nil, "Echo Foxtrot"},
		"CategoryShallow":     {ev, `{"field":"section","op":"category","value":"` + gs.root.String() + `","descendants":false}`, core.GatherArgs{}, nil, "Echo"},
		"CategoryMulti":       {art, `{"field":"tags","op":"category","value":"` + gs.root.String() + `"}`, core.GatherArgs{}, nil, "Alpha Bravo"},
		"CategoryChild":       {art, `{"field":"tags","op":"category","value":"{arg0}"}`, core.GatherArgs{PathArgs: []string{gs.child.String()}}, nil, "Alpha"},
		"CategoryUnknownTerm": {art, `{"field":"tags","op":"category","value":"` + core.NewID().String() + `"}`, core.GatherArgs{}, nil, ""},
		"CreatedRelative":     {both, `{"field":"created","op":"ge","value":"now-4d"}`, core.GatherArgs{}, nil, "Alpha Charlie Delta"},
		"CreatedBefore":       {both, `{"field":"created","op":"lt","value":"now-15d"}`, core.GatherArgs{}, nil, "Bravo Foxtrot"},
		"ChangedBackdated":    {both, `{"field":"changed","op":"lt","value":"now-15d"}`, core.GatherArgs{}, nil, "Bravo Foxtrot"},
		"CurrentUser":         {both, `{"field":"author","op":"eq","value":"{current_user}"}`, core.GatherArgs{}, gs.writer, "Golf"},
		"CurrentUserAdmin":    {art, `{"field":"author","op":"ne","value":"{current_user}"}`, core.GatherArgs{}, nil, "Golf"},
		"PathArg":             {both, `{"field":"title","op":"eq","value":"{arg0}"}`, core.GatherArgs{PathArgs: []string{"Bravo"}}, nil, "Bravo"},
		"Promote":             {both, `{"field":"promote","op":"eq","value":true}`, core.GatherArgs{}, nil, "Alpha"},
		"Sticky":              {both, `{"field":"sticky","op":"eq","value":true}`, core.GatherArgs{}, nil, "Bravo"},
		"Language":            {both, `{"field":"language","op":"eq","value":"en"}`, core.GatherArgs{}, nil, "Alpha Echo"},
		"Type":                {both, `{"field":"type","op":"eq","value":"event"}`, core.GatherArgs{}, nil, "Echo Foxtrot"},
		"ID":                  {both, `{"field":"id","op":"in","value":["` + id("Golf") + `","` + id("Echo") + `"]}`, core.GatherArgs{}, nil, "Echo Golf"},
		"FullText":            {both, `{"field":"search","op":"search","value":"run"}`, core.GatherArgs{}, nil, "Alpha"},
		"FullTextStopWords":   {both, `{"field":"search","op":"search","value":"the"}`, core.GatherArgs{}, nil, ""},
		"ExposedDefault":      {art, `{"field":"rating","op":"ge","value":5,"exposed":{"name":"min","label":"Min"}}`, core.GatherArgs{}, nil, "Alpha"},
		"ExposedGiven": {art, `{"field":"rating","op":"ge","value":5,"exposed":{"name":"min","label":"Min"}}`,
			core.GatherArgs{Exposed: map[string]string{"min": "3"}}, nil, "Alpha Bravo Delta"},
		"ExposedBlank": {art, `{"field":"rating","op":"ge","exposed":{"name":"min","label":"Min"}}`,
			core.GatherArgs{Exposed: map[string]string{"min": " "}}, nil, "Alpha Bravo Charlie Delta Golf"},
		"ExposedList": {art, `{"field":"rating","op":"in","exposed":{"name":"r","label":"R"}}`,
			core.GatherArgs{Exposed: map[string]string{"r": "1, 3"}}, nil, "Bravo Charlie"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := tc.ctx
			if ctx == nil {
				ctx = gs.admin
			}
			got := strings.Join(gs.runTitles(t, ctx, core.LiveStageID, gatherJSON(tc.types, tc.filter), tc.args), " ")
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGatherRelationships(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	for name, tc := range map[string]struct{ body, want string }{
		"FilterDepth1": {`{"kind":"gather","name":"t","label":"T","types":["article"],
			"relationships":[{"name":"rel","field":"related"}],
			"filters":[{"field":"title","op":"eq","value":"Alpha","relationship":"rel"}]}`, "Bravo Charlie"},
		"FilterDepth2": {`{"kind":"gather","name":"t","label":"T","types":["event"],
			"relationships":[{"name":"v","field":"venue"},{"name":"r","field":"related","from":"v"}],
			"filters":[{"field":"title","op":"eq","value":"Alpha","relationship":"r"}]}`, "Foxtrot"},
		"FilterRelatedField": {`{"kind":"gather","name":"t","label":"T","types":["event"],
			"relationships":[{"name":"v","field":"venue"}],
			"filters":[{"field":"rating","op":"ge","value":4,"relationship":"v"}]}`, "Echo"},
		"SortDepth1": {`{"kind":"gather","name":"t","label":"T","types":["article"],
			"relationships":[{"name":"rel","field":"related"}],
			"sorts":[{"field":"title","relationship":"rel"},{"field":"title"}]}`, "Bravo Charlie Delta Alpha Golf"},
		"SortDepth2": {`{"kind":"gather","name":"t","label":"T","types":["event"],
			"relationships":[{"name":"v","field":"venue"},{"name":"r","field":"related","from":"v"}],
			"sorts":[{"field":"title","relationship":"r","direction":"desc"},{"field":"title"}]}`, "Foxtrot Echo"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := strings.Join(gs.runTitles(t, gs.admin, core.LiveStageID, tc.body, core.GatherArgs{}), " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGatherSorts(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	for name, tc := range map[string]struct{ types, sorts, want string }{
		"Default":        {`"article"`, ``, "Bravo Charlie Alpha Delta Golf"},
		"TitleDesc":      {`"article"`, `{"field":"title","direction":"desc"}`, "Golf Delta Charlie Bravo Alpha"},
		"CreatedAsc":     {`"article","event"`, `{"field":"created"}`, "Bravo Foxtrot Echo Golf Delta Alpha Charlie"},
		"FieldDesc":      {`"article"`, `{"field":"rating","direction":"desc"}`, "Alpha Delta Bravo Charlie Golf"},
		"DecimalAsc":     {`"event"`, `{"field":"score"}`, "Foxtrot Echo"},
		"StickyThenName": {`"article"`, `{"field":"sticky","direction":"desc"},{"field":"title"}`, "Bravo Alpha Charlie Delta Golf"},
		"Promote":        {`"article"`, `{"field":"promote","direction":"desc"},{"field":"title","direction":"desc"}`, "Alpha Golf Delta Charlie Bravo"},
		"Changed":        {`"article"`, `{"field":"changed"}`, "Bravo Golf Delta Alpha Charlie"},
	} {
		t.Run(name, func(t *testing.T) {
			body := `{"kind":"gather","name":"t","label":"T","types":[` + tc.types + `],"sorts":[` + tc.sorts + `]}`
			g := mustGather(t, body)
			g.Pager.PerPage = 100
			res, err := gs.s.RunGather(gs.admin, g, core.LiveStageID, core.GatherArgs{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(titlesOf(res.Items), " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGatherPager(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	g := mustGather(t, `{"kind":"gather","name":"t","label":"T","sorts":[{"field":"title"}],"pager":{"per_page":3},
		"displays":[{"name":"tile","type":"tile","items":2}]}`)
	for name, tc := range map[string]struct {
		args               core.GatherArgs
		want               string
		total, page, pages int
	}{
		"First":        {core.GatherArgs{Page: 1}, "Alpha Bravo Charlie", 7, 1, 3},
		"Zero":         {core.GatherArgs{}, "Alpha Bravo Charlie", 7, 1, 3},
		"Last":         {core.GatherArgs{Page: 3}, "Golf", 7, 3, 3},
		"BeyondTheEnd": {core.GatherArgs{Page: 4}, "", 7, 4, 3},
		"FarBeyond":    {core.GatherArgs{Page: 10000}, "", 7, 10000, 3},
		"Display":      {core.GatherArgs{Page: 2, Display: "tile"}, "Charlie Delta", 7, 2, 4},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := gs.s.RunGather(gs.admin, g, core.LiveStageID, tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(titlesOf(res.Items), " "); got != tc.want || res.Total != tc.total || res.Page != tc.page || res.Pages != tc.pages {
				t.Errorf("got %q total %d page %d/%d; want %q total %d page %d/%d", got, res.Total, res.Page, res.Pages, tc.want, tc.total, tc.page, tc.pages)
			}
		})
	}
	// No total (a tile): the page without a count.
	for page, want := range map[int]string{1: "Alpha Bravo Charlie", 3: "Golf", 4: ""} {
		res, err := gs.s.RunGather(gs.admin, g, core.LiveStageID, core.GatherArgs{Page: page, NoTotal: true})
		if err != nil || strings.Join(titlesOf(res.Items), " ") != want || res.Total != 0 || res.Pages != 1 {
			t.Fatalf("no total, page %d = %+v, %v", page, res, err)
		}
	}
	// Style none: only the first page.
	g.Pager.Style = "none"
	res, err := gs.s.RunGather(gs.admin, g, core.LiveStageID, core.GatherArgs{Page: 2})
	if err != nil || len(res.Items) != 0 || res.Total != 7 || res.Pages != 1 {
		t.Fatalf("style none page 2 = %+v, %v", res, err)
	}
}

func TestGatherBadInput(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	exposed := mustGather(t, gatherJSON(`"article"`, `{"field":"rating","op":"ge","exposed":{"name":"min","label":"Min"}}`))
	for name, tc := range map[string]struct {
		g    string
		args core.GatherArgs
		path string
	}{
		"PageNegative":      {gatherJSON(`"article"`), core.GatherArgs{Page: -1}, "page"},
		"PageAbsurd":        {gatherJSON(`"article"`), core.GatherArgs{Page: 1 << 40}, "page"},
		"UnknownExposed":    {gatherJSON(`"article"`), core.GatherArgs{Exposed: map[string]string{"evil": "1"}}, "exposed.evil"},
		"ExposedWrongType":  {"", core.GatherArgs{Exposed: map[string]string{"min": "abc"}}, "exposed.min"},
		"ExposedInjection":  {"", core.GatherArgs{Exposed: map[string]string{"min": "1; DROP TABLE item"}}, "exposed.min"},
		"ValueWrongType":    {gatherJSON(`"article"`, `{"field":"rating","op":"eq","value":"high"}`), core.GatherArgs{}, "filters[0].value"},
		"DecimalWrongType":  {gatherJSON(`"event"`, `{"field":"score","op":"eq","value":"1e5"}`), core.GatherArgs{}, "filters[0].value"},
		"DateWrongType":     {gatherJSON(`"event"`, `{"field":"day","op":"eq","value":"yesterday"}`), core.GatherArgs{}, "filters[0].value"},
		"TermNotAnID":       {gatherJSON(`"article"`, `{"field":"tags","op":"category","value":"{arg0}"}`), core.GatherArgs{PathArgs: []string{"news"}}, "args[0]"},
		"MissingPathArg":    {gatherJSON(`"article"`, `{"field":"title","op":"eq","value":"{arg1}"}`), core.GatherArgs{PathArgs: []string{"x"}}, "args[1]"},
		"UnknownField":      {gatherJSON(`"article"`, `{"field":"colour","op":"eq","value":"red"}`), core.GatherArgs{}, "filters[0].field"},
		"UnknownType":       {gatherJSON(`"nosuch"`), core.GatherArgs{}, "types[0]"},
		"OpForType":         {gatherJSON(`"article"`, `{"field":"rating","op":"contains","value":"1"}`), core.GatherArgs{}, "filters[0].op"},
		"CategoryNotTerm":   {gatherJSON(`"article"`, `{"field":"rating","op":"category","value":"1"}`), core.GatherArgs{}, "filters[0].op"},
		"RelationshipNoRef": {`{"kind":"gather","name":"t","label":"T","types":["article"],"relationships":[{"name":"r","field":"rating"}],"filters":[{"field":"title","op":"eq","value":"x","relationship":"r"}]}`, core.GatherArgs{}, "filters[0].relationship"},
		"SortMultiValued":   {`{"kind":"gather","name":"t","label":"T","types":["article"],"sorts":[{"field":"tags"}]}`, core.GatherArgs{}, "sorts[0].field"},
		"SearchTooLong":     {gatherJSON(`"article"`, `{"field":"search","op":"search","exposed":{"name":"q","label":"Q"}}`), core.GatherArgs{Exposed: map[string]string{"q": strings.Repeat("x", 2000)}}, "exposed.q"},
		"BadUTF8":           {gatherJSON(`"article"`, `{"field":"title","op":"eq","value":"{arg0}"}`), core.GatherArgs{PathArgs: []string{"a\xffb"}}, "args[0]"},
		"NulInSearch":       {gatherJSON(`"article"`, `{"field":"search","op":"search","exposed":{"name":"q","label":"Q"}}`), core.GatherArgs{Exposed: map[string]string{"q": "a\x00b"}}, "exposed.q"},
		"DisplayUnknown":    {gatherJSON(`"article"`), core.GatherArgs{Display: "nope"}, "display"},
	} {
		t.Run(name, func(t *testing.T) {
			g := exposed
			if tc.g != "" {
				g = mustGather(t, tc.g)
			}
			_, err := gs.s.RunGather(gs.admin, g, core.LiveStageID, tc.args)
			wantCode(t, err, core.EInvalid)
			if fe := core.ErrorFields(err); len(fe) == 0 || fe[0].Path != tc.path {
				t.Fatalf("fields = %v, want path %s", fe, tc.path)
			}
		})
	}
	// CheckGather finds the same problems without running.
	for name, tc := range map[string]struct{ g, path string }{
		"UnknownType":  {gatherJSON(`"nosuch"`), "types[0]"},
		"UnknownField": {gatherJSON(`"article"`, `{"field":"colour","op":"eq","value":"red"}`), "filters[0].field"},
		"WrongType":    {gatherJSON(`"article"`, `{"field":"rating","op":"eq","value":"high"}`), "filters[0].value"},
		"OpForType":    {gatherJSON(`"article"`, `{"field":"rating","op":"contains","value":"1"}`), "filters[0].op"},
		"SortMulti":    {`{"kind":"gather","name":"t","label":"T","types":["article"],"sorts":[{"field":"tags"}]}`, "sorts[0].field"},
	} {
		t.Run("Check"+name, func(t *testing.T) {
			err := gs.s.Gathers().CheckGather(gs.admin, mustGather(t, tc.g))
			wantCode(t, err, core.EInvalid)
			if fe := core.ErrorFields(err); len(fe) == 0 || fe[0].Path != tc.path {
				t.Fatalf("fields = %v, want path %s", fe, tc.path)
			}
		})
	}
	if err := gs.s.Gathers().CheckGather(gs.admin, mustGather(t, gatherJSON(`"article","event"`,
		`{"field":"rating","op":"in","value":[1,2]}`, `{"field":"tags","op":"category","value":"{arg0}"}`,
		`{"field":"author","op":"eq","value":"{current_user}"}`, `{"field":"day","op":"le","value":"now+1w"}`))); err != nil {
		t.Fatal(err)
	}
	_, err := gs.s.FindGather(gs.admin, "nosuch")
	wantCode(t, err, core.ENotFound)
	_, err = gs.s.Config().PutConfig(gs.admin, "gather", "bad", json.RawMessage(`{"kind":"gather","name":"bad","label":"Bad","filters":[{"field":"rating","op":"between","value":1}]}`), 0)
	wantCode(t, err, core.EInvalid)
	_, err = gs.s.RunGather(gs.admin, nil, core.LiveStageID, core.GatherArgs{})
	wantCode(t, err, core.ENotFound)
}

func TestGatherAccessAndStages(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	s, admin := gs.s, gs.admin
	member := mustUser(t, s, "member")
	outsider := mustUser(t, s, "outsider")
	club := &core.Item{Type: "article", Title: "Club news", Status: core.StatusUnpublished, Fields: json.RawMessage(`{"rating":5}`)}
	if err := s.Items().CreateItem(admin, core.LiveStageID, club, ""); err != nil {
		t.Fatal(err)
	}
	s.SetGrantsProvider(clubGrants{member: core.UserFromContext(member).ID})
	if _, err := s.RebuildGrants(admin); err != nil {
		t.Fatal(err)
	}
	body := gatherJSON(`"article"`, `{"field":"rating","op":"ge","value":3}`)
	for name, tc := range map[string]struct {
		ctx  context.Context
		want string
	}{
		"Admin":     {admin, "Alpha Bravo Club news Delta"},
		"Member":    {member, "Alpha Bravo Club news"},
		"Outsider":  {outsider, "Alpha Bravo"},
		"Anonymous": {context.Background(), "Alpha Bravo"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := strings.Join(gs.runTitles(t, tc.ctx, core.LiveStageID, body, core.GatherArgs{}), " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Counts and pagers agree with what each user sees.
	g := mustGather(t, body)
	g.Pager.PerPage = 1
	for ctx, want := range map[context.Context]int{admin: 4, member: 3, outsider: 2} {
		res, err := s.RunGather(ctx, g, core.LiveStageID, core.GatherArgs{Page: 2})
		if err != nil || res.Total != want || res.Pages != want || len(res.Items) != 1 {
			t.Fatalf("page 2 = %+v, %v; want total %d", res, err, want)
		}
	}

	// Relationships read only items the user may list: Pointer refers to
	// the unpublished Delta.
	mustItem(t, admin, s, core.LiveStageID, "Pointer", `{"related":[{"id":"`+gs.ids["Delta"].String()+`"}]}`)
	rel := `{"kind":"gather","name":"t","label":"T","types":["article"],"relationships":[{"name":"r","field":"related"}],
		"filters":[{"field":"title","op":"eq","value":"Delta","relationship":"r"}]}`
	if got := strings.Join(gs.runTitles(t, admin, core.LiveStageID, rel, core.GatherArgs{}), " "); got != "Pointer" {
		t.Fatalf("admin through relationship: %q", got)
	}
	if got := strings.Join(gs.runTitles(t, outsider, core.LiveStageID, rel, core.GatherArgs{}), " "); got != "" {
		t.Fatalf("outsider reads an unpublished item through a relationship: %q", got)
	}

	// A stage: Alpha's rating lowered, Bravo deleted, Hotel created, a new
	// term under child; live is unchanged.
	st := mustStage(t, admin, s, "next")
	if _, err := s.Items().UpdateItem(admin, st.ID, gs.ids["Alpha"], core.ItemUpdate{Fields: json.RawMessage(`{"rating":1}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Items().DeleteItem(admin, st.ID, gs.ids["Bravo"]); err != nil {
		t.Fatal(err)
	}
	newTerm, err := s.Staged().PutStaged(admin, core.KindTerm, st.ID, core.NilID, json.RawMessage(`{"vocabulary":"tags","name":"staged","parents":["`+gs.child.String()+`"]}`), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	hotel := &core.Item{Type: "article", Title: "Hotel", Language: "en", Fields: json.RawMessage(`{"rating":5,"body":"Jumping horses","tags":[{"id":"` + newTerm.ID.String() + `"}]}`)}
	if err := s.Items().CreateItem(admin, st.ID, hotel, ""); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		stage core.ID
		body  string
		want  string
	}{
		"StageRating":   {st.ID, body, "Club news Delta Hotel"},
		"LiveRating":    {core.LiveStageID, body, "Alpha Bravo Club news Delta"},
		"StageCategory": {st.ID, gatherJSON(`"article"`, `{"field":"tags","op":"category","value":"`+gs.root.String()+`"}`), "Alpha Hotel"},
		"LiveCategory":  {core.LiveStageID, gatherJSON(`"article"`, `{"field":"tags","op":"category","value":"`+gs.root.String()+`"}`), "Alpha Bravo"},
		"StageSearch":   {st.ID, gatherJSON(`"article"`, `{"field":"search","op":"search","value":"jump"}`), "Hotel"},
		"LiveSearch":    {core.LiveStageID, gatherJSON(`"article"`, `{"field":"search","op":"search","value":"jump"}`), ""},
		"StageChanged":  {st.ID, gatherJSON(`"article"`, `{"field":"changed","op":"ge","value":"now-1h"}`), "Alpha Club news Hotel Pointer"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := strings.Join(gs.runTitles(t, admin, tc.stage, tc.body, core.GatherArgs{}), " "); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// A stage the user may not view.
	_, err = s.RunGather(outsider, mustGather(t, body), st.ID, core.GatherArgs{})
	if code := core.ErrorCode(err); code != core.EForbidden && code != core.ENotFound {
		t.Fatalf("outsider in stage: %v", err)
	}
}

// extender adds a filter and a sort, as a plugin's gather_extend tap would.
type extender struct{}

func (extender) ExtendGather(ctx context.Context, g *core.Gather, _ core.GatherArgs) ([]core.GatherFilter, []core.GatherSort, error) {
	if g.Name != "t" {
		return nil, nil, nil
	}
	return []core.GatherFilter{{Field: "rating", Op: core.OpGe, Value: json.RawMessage(`3`)}},
		[]core.GatherSort{{Field: "rating", Direction: "desc"}}, nil
}

type badExtender struct{}

func (badExtender) ExtendGather(ctx context.Context, g *core.Gather, _ core.GatherArgs) ([]core.GatherFilter, []core.GatherSort, error) {
	return []core.GatherFilter{{Field: "title", Op: "'; DROP TABLE item; --", Value: json.RawMessage(`1`)}}, nil, nil
}

func TestGatherExtend(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	g := mustGather(t, gatherJSON(`"article"`))
	res, err := gs.s.Gathers().WithExtender(extender{}).RunGather(gs.admin, g, core.LiveStageID, core.GatherArgs{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(titlesOf(res.Items), " "); got != "Alpha Delta Bravo" {
		t.Fatalf("extended = %q", got)
	}
	if len(g.Filters) != 0 {
		t.Fatal("the extender changed the stored gather")
	}
	_, err = gs.s.Gathers().WithExtender(badExtender{}).RunGather(gs.admin, g, core.LiveStageID, core.GatherArgs{})
	wantCode(t, err, core.EInvalid)
}

func TestGatherExposedFilters(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	g := mustGather(t, gatherJSON(`"article","event"`,
		`{"field":"rating","op":"ge","exposed":{"name":"min","label":"Minimum"}}`,
		`{"field":"section","op":"category","exposed":{"name":"section","label":"Section"}}`,
		`{"field":"status","op":"in","exposed":{"name":"status","label":"Status"}}`,
		`{"field":"search","op":"search","exposed":{"name":"q","label":"Search"}}`))
	got, err := gs.s.Gathers().ExposedFilters(gs.admin, g)
	if err != nil {
		t.Fatal(err)
	}
	want := []core.ExposedFilter{
		{Name: "min", Label: "Minimum", Field: "rating", Op: "ge", ValueType: "integer"},
		{Name: "section", Label: "Section", Field: "section", Op: "category", ValueType: "term_ref", Vocabulary: "tags"},
		{Name: "status", Label: "Status", Field: "status", Op: "in", ValueType: "status", Options: []string{"published", "unpublished"}, Multiple: true},
		{Name: "q", Label: "Search", Field: "search", Op: "search", ValueType: "search"},
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Fatalf("exposed = %s\nwant %s", a, b)
	}
}

// TestGatherDocuments applies the example gathers and runs each.
func TestGatherDocuments(t *testing.T) {
	t.Parallel()
	gs := mustGatherSite(t)
	mustPut(t, gs.admin, gs.s, "item_type", "page", `{"kind":"item_type","name":"page","label":"Page","fields":[{"name":"body","type":"long_text"}]}`)
	files, _ := filepath.Glob("../testdata/gathers/*.yaml")
	if len(files) == 0 {
		t.Fatal("no example gathers")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := core.ParseConfigFile(f, data)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if _, err := gs.s.Config().PutConfig(gs.admin, d.Kind, d.Name, d.Body, 0); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			g, err := gs.s.FindGather(gs.admin, d.Name)
			if err != nil {
				t.Fatal(err)
			}
			// Export and import give the same document.
			y, err := core.MarshalConfigYAML(d)
			if err != nil {
				t.Fatal(err)
			}
			back, err := core.ParseConfigFile(d.Name+".yaml", y)
			if err != nil || len(back) != 1 || string(back[0].Body) != string(d.Body) {
				t.Fatalf("%s: round trip = %v, %v\n%s", d.Name, back, err, y)
			}
			args := core.GatherArgs{PathArgs: []string{gs.root.String()}}
			if _, err := gs.s.RunGather(gs.writer, g, core.LiveStageID, args); err != nil {
				t.Fatalf("%s: %v", d.Name, err)
			}
		}
	}
	g, _ := gs.s.FindGather(gs.admin, "front")
	res, err := gs.s.RunGather(context.Background(), g, core.LiveStageID, core.GatherArgs{})
	if err != nil || strings.Join(titlesOf(res.Items), " ") != "Alpha" {
		t.Fatalf("front = %v, %v", res, err)
	}
}

// BenchmarkGather measures gathers and search on 10,000 articles of about
// 2.5 KB: the front page (first page and a deep page), a field filter with a
// field sort, a category page, and a search.
func BenchmarkGather(b *testing.B) {
	s := MustStore(b)
	ctx := asAdmin(b, s)
	mustPut(b, ctx, s, "vocabulary", "tags", `{"kind":"vocabulary","name":"tags","label":"Tags"}`)
	mustPut(b, ctx, s, "item_type", "article", `{"kind":"item_type","name":"article","label":"Article","fields":[
		{"name":"body","type":"long_text","format":"markdown"},{"name":"rating","type":"integer"},
		{"name":"tags","type":"term_ref","vocabulary":"tags","cardinality":"unlimited"}]}`)
	var terms []core.ID
	for i := 0; i < 10; i++ {
		d, err := s.Staged().PutStaged(ctx, core.KindTerm, core.LiveStageID, core.NilID, json.RawMessage(fmt.Sprintf(`{"vocabulary":"tags","name":"t%d"}`, i)), nil, "")
		if err != nil {
			b.Fatal(err)
		}
		terms = append(terms, d.ID)
	}
	const n = 10000
	words := []string{"garden", "running", "kitchen", "travel", "music", "history", "science", "football", "painting", "cooking"}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				body := strings.Repeat(fmt.Sprintf("Paragraph about %s and %s number %d. ", words[i%10], words[(i/10)%10], i), 30)
				f, _ := json.Marshal(map[string]any{"body": body, "rating": i%5 + 1, "tags": []map[string]string{{"id": terms[i%10].String()}}})
				it := &core.Item{Type: "article", Title: fmt.Sprintf("Article %d about %s", i, words[i%10]), Language: "en", Promote: i%3 == 0, Fields: f}
				if err := s.Items().CreateItem(ctx, core.LiveStageID, it, ""); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	b.Logf("created %d items in %v", n, time.Since(start))
	if _, err := s.IndexSearch(ctx); err != nil { // serve's indexer does this after commit
		b.Fatal(err)
	}
	anon := context.Background()
	front := mustGather(b, `{"kind":"gather","name":"front","label":"Front","types":["article"],
		"filters":[{"field":"status","op":"eq","value":"published"},{"field":"promote","op":"eq","value":true}],
		"sorts":[{"field":"sticky","direction":"desc"},{"field":"created","direction":"desc"}]}`)
	rated := mustGather(b, `{"kind":"gather","name":"rated","label":"Rated","types":["article"],
		"filters":[{"field":"rating","op":"ge","value":4}],"sorts":[{"field":"rating","direction":"desc"},{"field":"title"}]}`)
	category := mustGather(b, `{"kind":"gather","name":"cat","label":"Cat","types":["article"],
		"filters":[{"field":"tags","op":"category","value":"{arg0}"}]}`)
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"FrontPage1", func() error {
			_, err := s.RunGather(anon, front, core.LiveStageID, core.GatherArgs{Page: 1})
			return err
		}},
		{"FrontPage300", func() error {
			_, err := s.RunGather(anon, front, core.LiveStageID, core.GatherArgs{Page: 300})
			return err
		}},
		{"FieldFilterSort", func() error {
			_, err := s.RunGather(anon, rated, core.LiveStageID, core.GatherArgs{Page: 2})
			return err
		}},
		{"Category", func() error {
			_, err := s.RunGather(anon, category, core.LiveStageID, core.GatherArgs{PathArgs: []string{terms[3].String()}})
			return err
		}},
		{"Search", func() error { _, err := s.Search(anon, "running garden", core.LiveStageID, 1); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

func TestGatherPaths(t *testing.T) {
	t.Parallel()
	g := mustGather(t, `{"kind":"gather","name":"t","label":"T","displays":[
		{"name":"page","type":"page","path":"/category/{arg0}"},
		{"name":"feed","type":"feed","format":"atom","path":"/category/{arg0}/feed"},
		{"name":"home","type":"page","path":"/home"},
		{"name":"tile","type":"tile"}]}`)
	for name, tc := range map[string]struct {
		path, display, args string
		page                int
		ok                  bool
	}{
		"Page":        {"/category/news", "page", "news", 1, true},
		"Paged":       {"/category/news/page/3", "page", "news", 3, true},
		"Feed":        {"/category/news/feed", "feed", "news", 1, true},
		"Home":        {"/home", "home", "", 1, true},
		"HomePaged":   {"/home/page/2", "home", "", 2, true},
		"BadPage":     {"/home/page/x", "", "", 0, false},
		"ZeroPage":    {"/home/page/0", "", "", 0, false},
		"PaddedPage":  {"/home/page/02", "", "", 0, false},
		"FeedNoPager": {"/category/news/feed/page/2", "", "", 0, false},
		"Other":       {"/about", "", "", 0, false},
		"EmptyArg":    {"/category/", "", "", 0, false},
	} {
		t.Run(name, func(t *testing.T) {
			d, args, page, ok := g.MatchPath(tc.path)
			if ok != tc.ok || (ok && (d.Name != tc.display || strings.Join(args, ",") != tc.args || page != tc.page)) {
				t.Fatalf("MatchPath(%s) = %v %v %d %v", tc.path, d, args, page, ok)
			}
		})
	}
	d := g.Display("page")
	if p := d.PagePath([]string{"news"}, 1); p != "/category/news" {
		t.Fatal(p)
	}
	if p := d.PagePath([]string{"news"}, 4); p != "/category/news/page/4" {
		t.Fatal(p)
	}
}

// TestGatherTimeout: a run is bounded by the statement timeout. 10,000
// projection rows are copied in by SQL (enough work for any machine to
// exceed a millisecond).
func TestGatherTimeout(t *testing.T) {
	t.Parallel()
	s, admin := MustSite(t)
	mustItem(t, admin, s, core.LiveStageID, "seed", `{"rating":3,"body":"Paragraph about running."}`)
	if _, err := s.Pool().Exec(admin, `INSERT INTO item (id, type, title, status, author_id, created_at, changed_at, promote, sticky, language, tgroup_id, fields, revision_id, type_version)
		SELECT gen_random_uuid(), type, title || g::text, status, author_id, created_at, changed_at, promote, sticky, language, tgroup_id,
			jsonb_set(fields, '{rating}', to_jsonb(g % 5 + 1)), revision_id, type_version
		FROM item, generate_series(1, 10000) g`); err != nil {
		t.Fatal(err)
	}
	g := mustGather(t, gatherJSON(`"article"`, `{"field":"rating","op":"ge","value":2}`))
	g.Sorts = []core.GatherSort{{Field: "rating", Direction: "desc"}, {Field: "title"}}
	gs := s.Gathers()
	gs.Timeout = time.Millisecond
	_, err := gs.RunGather(admin, g, core.LiveStageID, core.GatherArgs{})
	wantCode(t, err, core.EUnavailable)
	_, err = gs.Search(admin, "paragraph | running", core.LiveStageID, 1)
	wantCode(t, err, core.EInvalid)
	// The default bound lets the same run finish.
	res, err := s.RunGather(admin, g, core.LiveStageID, core.GatherArgs{Page: 3})
	if err != nil || res.Total != 8001 || len(res.Items) != 10 {
		t.Fatalf("run = %+v, %v", res, err)
	}
}
