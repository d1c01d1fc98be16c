package api_test

import (
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// TestBulkItems changes several items in one request: all of them in one
// transaction, or none, with every refused item named.
func TestBulkItems(t *testing.T) {
	e := mustEnv(t, 0)
	missing := core.NewID().String()
	e.run(t, []scenario{
		{name: "CreateA", method: "POST", path: "/items", user: "ed", status: 201, body: `{"type":"article","title":"A","status":"published"}`,
			save: func(e *env, m map[string]any) { saveVar("a", "id")(e, m); saveVar("arev", "revision_id")(e, m) }},
		{name: "CreateB", method: "POST", path: "/items", user: "ed", status: 201, body: `{"type":"article","title":"B","status":"unpublished"}`,
			save: saveVar("b", "id")},
		{name: "OK", taps: []string{"item_presave", "item_presave", "item_update", "item_update"}, method: "POST", path: "/items/bulk", user: "ed", status: 200,
			body:     `{"items":[{"id":"{a}","base_revision_id":"{arev}","status":"unpublished"},{"id":"{b}","status":"published","sticky":true}],"log":"bulk"}`,
			contains: []string{`"id":"{a}","title":"A"`, `"status":"unpublished"`, `"id":"{b}","title":"B"`, `"status":"published"`}},
		{name: "BothChanged", method: "GET", path: "/items?status=published", user: "ed", status: 200, contains: []string{`"title":"B"`, `"sticky":true`}},
		{name: "ErrStaleAndMissingChangeNothing", taps: []string{"item_presave"}, method: "POST", path: "/items/bulk", user: "ed", status: 400, code: core.EInvalid,
			body:     `{"items":[{"id":"{a}","base_revision_id":"{arev}","status":"published"},{"id":"{b}","status":"unpublished"},{"id":"` + missing + `","status":"published"}]}`,
			contains: []string{`2 of 3 items cannot be changed; none was changed`, `"path":"items[0]"`, `"path":"items[2]"`, `changed since revision`},
			check: func(t *testing.T, e *env, body []byte) {
				if strings.Contains(string(body), `"path":"items[1]"`) {
					t.Fatalf("the good item is named as refused: %s", body)
				}
			}},
		{name: "NothingWasApplied", method: "GET", path: "/items/{b}", user: "ed", status: 200, contains: []string{`"status":"published"`}},
		{name: "ErrConflictIs409", method: "POST", path: "/items/bulk", user: "ed", status: 409, code: core.EConflict,
			body: `{"items":[{"id":"{a}","base_revision_id":"{arev}","status":"published"}]}`, contains: []string{`"path":"items[0]"`}},
		{name: "ErrForbidden", method: "POST", path: "/items/bulk", user: "al", status: 403, code: core.EForbidden,
			body: `{"items":[{"id":"{b}","status":"unpublished"}]}`, contains: []string{`"path":"items[0]"`}},
		{name: "ErrEmpty", method: "POST", path: "/items/bulk", user: "ed", invalid: true, status: 400, code: core.EInvalid,
			body: `{"items":[]}`, contains: []string{`"path":"items"`}},
		{name: "ErrDeleteAndChange", method: "POST", path: "/items/bulk", user: "ed", status: 400, code: core.EInvalid,
			body: `{"items":[{"id":"{a}","delete":true,"status":"published"}]}`, contains: []string{`"path":"items[0]"`}},
		{name: "ErrNoChange", method: "POST", path: "/items/bulk", user: "ed", status: 400, code: core.EInvalid,
			body: `{"items":[{"id":"{a}"}]}`, contains: []string{`"path":"items[0]"`}},
		{name: "ErrTwice", method: "POST", path: "/items/bulk", user: "ed", status: 400, code: core.EInvalid,
			body: `{"items":[{"id":"{a}","delete":true},{"id":"{a}","status":"published"}]}`, contains: []string{`"path":"items[1].id"`}},
		{name: "ErrUnknownKey", method: "POST", path: "/items/bulk", user: "ed", invalid: true, status: 400, code: core.EInvalid,
			body: `{"items":[{"id":"{a}","colour":"red"}]}`},
		{name: "Delete", taps: []string{"item_delete", "item_delete"}, method: "POST", path: "/items/bulk", user: "ed", status: 200,
			body: `{"items":[{"id":"{a}","delete":true},{"id":"{b}","delete":true}]}`, contains: []string{`"deleted":true`}},
		{name: "Deleted", method: "GET", path: "/items/{b}", user: "ed", status: 404, code: core.ENotFound},
	})
}
