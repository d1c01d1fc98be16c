package api_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// TestGatherResultsPaging pages a stored gather's results by the signed
// cursor every list uses, and by the gather's own page numbers.
func TestGatherResultsPaging(t *testing.T) {
	e := mustEnv(t, 0)
	for _, title := range []string{"E", "C", "A", "D", "B"} {
		if err := e.k.Store.Items().CreateItem(e.admin, core.LiveStageID, &core.Item{Type: "article", Title: title, Status: core.StatusPublished}, ""); err != nil {
			t.Fatal(err)
		}
	}
	abc := func(dir string) string {
		return `{"body":{"kind":"gather","name":"abc","label":"ABC","types":["article"],
			"filters":[{"field":"status","op":"eq","value":"published"},{"field":"title","op":"contains","exposed":{"name":"q","label":"Title"}}],
			"sorts":[{"field":"title","direction":"` + dir + `"}],"pager":{"per_page":2},"displays":[{"name":"side","type":"tile","items":1}]}}`
	}
	firsts := `{"body":{"kind":"gather","name":"firsts","label":"Firsts","types":["article"],"sorts":[{"field":"title"}],"pager":{"per_page":3,"style":"none"}}}`
	// titles checks the page's items in order and whether it has a next
	// cursor.
	titles := func(next bool, want ...string) func(t *testing.T, e *env, b []byte) {
		return func(t *testing.T, e *env, b []byte) {
			var p struct {
				Items []struct {
					Title string `json:"title"`
				} `json:"items"`
				NextCursor *string `json:"next_cursor"`
			}
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range p.Items {
				got = append(got, it.Title)
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("items %v, want %v", got, want)
			}
			if (p.NextCursor != nil) != next {
				t.Fatalf("next_cursor %v, want one: %v", p.NextCursor, next)
			}
		}
	}
	// forge keeps a cursor's signature but moves its offset.
	forge := func(name, from string) func(e *env, m map[string]any) {
		return func(e *env, m map[string]any) {
			payload, sig, _ := strings.Cut(e.vars[from], ".")
			b, err := base64.RawURLEncoding.DecodeString(payload)
			if err != nil {
				e.t.Fatal(err)
			}
			var c map[string]any
			if err := json.Unmarshal(b, &c); err != nil {
				e.t.Fatal(err)
			}
			c["o"] = 4
			b, _ = json.Marshal(c)
			e.vars[name] = base64.RawURLEncoding.EncodeToString(b) + "." + sig
		}
	}
	badCursor := []string{`"path":"cursor"`}
	e.run(t, []scenario{
		{name: "PutGathers", method: "PUT", path: "/gathers/abc", user: "admin", status: 200, body: abc("asc")},
		{name: "PutOtherGather", method: "PUT", path: "/gathers/firsts", user: "admin", status: 200, body: firsts},
		{name: "CreateStage", method: "POST", path: "/stages", user: "ed", status: 201, body: `{"name":"spring"}`},

		{name: "FirstPage", method: "GET", path: "/gathers/abc/results?limit=2", user: "al", status: 200,
			contains: []string{`"total":5`, `"page":1`, `"pages":3`, `"per_page":2`}, check: titles(true, "A", "B"), save: func(e *env, m map[string]any) {
				saveVar("c1", "next_cursor")(e, m)
				forge("forged", "c1")(e, m)
			}},
		{name: "DefaultLimitIsPerPage", method: "GET", path: "/gathers/abc/results", user: "al", status: 200, check: titles(true, "A", "B")},
		{name: "DefaultLimitOfDisplay", method: "GET", path: "/gathers/abc/results?display=side", user: "al", status: 200,
			contains: []string{`"per_page":1`}, check: titles(true, "A")},
		{name: "NextPage", method: "GET", path: "/gathers/abc/results?limit=2&cursor={c1}", user: "al", status: 200,
			contains: []string{`"page":2`}, check: titles(true, "C", "D"), save: saveVar("c2", "next_cursor")},
		{name: "LastPageHasNoNextCursor", method: "GET", path: "/gathers/abc/results?limit=2&cursor={c2}", user: "al", status: 200,
			check: titles(false, "E")},
		{name: "LimitMayChange", method: "GET", path: "/gathers/abc/results?limit=3&cursor={c1}", user: "al", status: 200,
			check: titles(false, "C", "D", "E")},
		{name: "CursorOfAnotherUserPages", method: "GET", path: "/gathers/abc/results?limit=2&cursor={c1}", user: "token", status: 200,
			check: titles(true, "C", "D")},

		// Refused cursors: 400 at cursor, nothing run.
		{name: "TamperedSignature", method: "GET", path: "/gathers/abc/results?cursor={c1}x", user: "al", status: 400, code: core.EInvalid, contains: badCursor},
		{name: "TamperedOffset", method: "GET", path: "/gathers/abc/results?cursor={forged}", user: "al", status: 400, code: core.EInvalid, contains: badCursor},
		{name: "CursorFromAnotherGather", method: "GET", path: "/gathers/firsts/results?cursor={c1}", user: "al", status: 400, code: core.EInvalid, contains: badCursor},
		{name: "CursorFromAnotherStage", method: "GET", path: "/gathers/abc/results?stage=spring&cursor={c1}", user: "ed", status: 400, code: core.EInvalid, contains: badCursor},
		{name: "CursorFromAnotherDisplay", method: "GET", path: "/gathers/abc/results?display=side&cursor={c1}", user: "al", status: 400, code: core.EInvalid, contains: badCursor},
		{name: "CursorFromOtherFilters", method: "GET", path: "/gathers/abc/results?x.q=A&cursor={c1}", user: "al", status: 400, code: core.EInvalid, contains: badCursor},
		{name: "CursorFromOtherArgs", method: "GET", path: "/gathers/abc/results?arg=x&cursor={c1}", user: "al", status: 400, code: core.EInvalid, contains: badCursor},
		{name: "ChangeGather", method: "PUT", path: "/gathers/abc", user: "admin", status: 200, body: abc("desc")},
		{name: "CursorFromBeforeTheChange", method: "GET", path: "/gathers/abc/results?limit=2&cursor={c1}", user: "al", status: 400, code: core.EInvalid,
			contains: []string{`"path":"cursor"`, `the gather changed since`}},
		{name: "NewCursorAfterChange", method: "GET", path: "/gathers/abc/results?limit=4", user: "al", status: 200,
			check: titles(true, "E", "D", "C", "B"), save: saveVar("c3", "next_cursor")},
		{name: "NewCursorPages", method: "GET", path: "/gathers/abc/results?limit=4&cursor={c3}", user: "al", status: 200, check: titles(false, "A")},

		// Limit bounds.
		{name: "LimitZero", method: "GET", path: "/gathers/abc/results?limit=0", user: "al", invalid: true, status: 400, code: core.EInvalid, contains: []string{`"path":"limit"`}},
		{name: "LimitTooLarge", method: "GET", path: "/gathers/abc/results?limit=201", user: "al", invalid: true, status: 400, code: core.EInvalid, contains: []string{`"path":"limit"`}},
		{name: "LimitNotANumber", method: "GET", path: "/gathers/abc/results?limit=two", user: "al", invalid: true, status: 400, code: core.EInvalid, contains: []string{`"path":"limit"`}},
		{name: "LimitOne", method: "GET", path: "/gathers/abc/results?limit=1", user: "al", status: 200, check: titles(true, "E")},
		{name: "LimitMax", method: "GET", path: "/gathers/abc/results?limit=200", user: "al", status: 200, contains: []string{`"pages":1`},
			check: titles(false, "E", "D", "C", "B", "A")},

		// The gather's own page numbers still work, and answer a cursor.
		{name: "Page2", method: "GET", path: "/gathers/abc/results?page=2", user: "al", status: 200,
			contains: []string{`"page":2`, `"pages":3`}, check: titles(true, "C", "B"), save: saveVar("p2", "next_cursor")},
		{name: "CursorAfterPage2", method: "GET", path: "/gathers/abc/results?cursor={p2}", user: "al", status: 200, check: titles(false, "A")},
		{name: "PageWithLimit", method: "GET", path: "/gathers/abc/results?page=2&limit=3", user: "al", status: 200, check: titles(false, "B", "A")},
		{name: "PageBeyondTheEnd", method: "GET", path: "/gathers/abc/results?page=9", user: "al", status: 200, contains: []string{`"total":5`}, check: titles(false)},
		{name: "PageAndCursor", method: "GET", path: "/gathers/abc/results?page=2&cursor={p2}", user: "al", status: 400, code: core.EInvalid, contains: []string{`"path":"page"`}},
		{name: "PageZero", method: "GET", path: "/gathers/abc/results?page=0", user: "al", invalid: true, status: 400, code: core.EInvalid, contains: []string{`"path":"page"`}},

		// A pager of style none lists the first page only.
		{name: "NonePagerFirst", method: "GET", path: "/gathers/firsts/results?limit=2", user: "al", status: 200,
			check: titles(true, "A", "B"), save: saveVar("n1", "next_cursor")},
		{name: "NonePagerEndsAtPerPage", method: "GET", path: "/gathers/firsts/results?limit=2&cursor={n1}", user: "al", status: 200,
			contains: []string{`"total":5`}, check: titles(false, "C")},
		{name: "NonePagerPage2", method: "GET", path: "/gathers/firsts/results?page=2", user: "al", status: 200, check: titles(false)},
	})
}
