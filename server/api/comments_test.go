package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

// TestCommentModeration walks the moderation queue through the API: list
// by status, read, edit, approve, unpublish, delete; every change audited,
// none allowed without comments.administer.
func TestCommentModeration(t *testing.T) {
	e := mustEnv(t, 0)
	it := &core.Item{Type: "article", Title: "Discussed", Status: core.StatusPublished}
	if err := e.k.Store.Items().CreateItem(e.admin, core.LiveStageID, it, ""); err != nil {
		t.Fatal(err)
	}
	al := core.NewContextWithClientAddr(core.NewContextWithUser(context.Background(), e.users["al"]), "198.51.100.4")
	c := &postgres.Comment{ItemID: it.ID, Body: "First!"}
	if err := e.k.Store.CreateComment(al, c); err != nil {
		t.Fatal(err)
	}
	e.vars["comment"], e.vars["citem"] = c.ID.String(), it.ID.String()
	count := func(want int) func(t *testing.T, e *env, b []byte) {
		return func(t *testing.T, e *env, b []byte) {
			var p struct {
				Items []json.RawMessage `json:"items"`
			}
			_ = json.Unmarshal(b, &p)
			if len(p.Items) != want {
				t.Fatalf("%d comments, want %d: %s", len(p.Items), want, b)
			}
		}
	}
	e.run(t, []scenario{
		{name: "QueueNeedsModerator", method: "GET", path: "/comments", user: "al", status: 403, code: core.EForbidden},
		{name: "QueueNeedsSignIn", method: "GET", path: "/comments", status: 401, code: core.EUnauthorized},
		{name: "ApproveNeedsModerator", method: "POST", path: "/comments/{comment}/approve", user: "al", status: 403, code: core.EForbidden},
		{name: "Pending", method: "GET", path: "/comments?status=pending", user: "admin", status: 200, check: count(1),
			contains: []string{`"id":"{comment}"`, `"item_title":"Discussed"`, `"author_name":"al"`, `"client_addr":"198.51.100.4"`, `"anonymous":false`}},
		{name: "PublishedNone", method: "GET", path: "/comments?status=published", user: "admin", status: 200, check: count(0)},
		{name: "ByItem", method: "GET", path: "/comments?item={citem}", user: "admin", status: 200, check: count(1)},
		{name: "BadStatus", method: "GET", path: "/comments?status=spam", user: "admin", invalid: true, status: 400, code: core.EInvalid},
		{name: "BadItem", method: "GET", path: "/comments?item=nope", user: "admin", status: 400, code: core.EInvalid},
		{name: "Get", method: "GET", path: "/comments/{comment}", user: "admin", status: 200, contains: []string{`"body":"First!"`, `"status":"pending"`}},
		{name: "GetMalformedID", method: "GET", path: "/comments/nope", user: "admin", status: 404, code: core.ENotFound},
		{name: "ApproveWithoutCSRF", method: "POST", path: "/comments/{comment}/approve", user: "admin", noCSRF: true, status: 403, code: core.EForbidden},
		{name: "Approve", method: "POST", path: "/comments/{comment}/approve", user: "admin", status: 200, contains: []string{`"status":"published"`}},
		{name: "PublishedOne", method: "GET", path: "/comments?status=published", user: "admin", status: 200, check: count(1)},
		{name: "Edit", method: "PATCH", path: "/comments/{comment}", user: "admin", status: 200, body: `{"body":"First (edited)."}`,
			contains: []string{`"body":"First (edited)."`, `"status":"published"`}},
		{name: "EditEmpty", method: "PATCH", path: "/comments/{comment}", user: "admin", invalid: true, status: 400, code: core.EInvalid, body: `{"body":""}`},
		{name: "EditUnknownField", method: "PATCH", path: "/comments/{comment}", user: "admin", invalid: true, status: 400, code: core.EInvalid, body: `{"colour":"red"}`},
		{name: "EditBadStatus", method: "PATCH", path: "/comments/{comment}", user: "admin", invalid: true, status: 400, code: core.EInvalid, body: `{"status":"spam"}`},
		{name: "EditTooLong", method: "PATCH", path: "/comments/{comment}", user: "admin", invalid: true, status: 400, code: core.EInvalid,
			body: `{"body":"` + strings.Repeat("x", postgres.CommentMaxBytes+1) + `"}`},
		{name: "Unpublish", method: "POST", path: "/comments/{comment}/unpublish", user: "admin", status: 200, contains: []string{`"status":"pending"`}},
		{name: "DeleteNeedsModerator", method: "DELETE", path: "/comments/{comment}", user: "al", status: 403, code: core.EForbidden},
		{name: "Delete", method: "DELETE", path: "/comments/{comment}", user: "admin", status: 204},
		{name: "DeletedIs404", method: "GET", path: "/comments/{comment}", user: "admin", status: 404, code: core.ENotFound},
		{name: "DeleteAgainIs404", method: "DELETE", path: "/comments/{comment}", user: "admin", status: 404, code: core.ENotFound},
		{name: "ApproveMissingIs404", method: "POST", path: "/comments/" + core.NewID().String() + "/approve", user: "admin", status: 404, code: core.ENotFound},
		{name: "Audited", method: "GET", path: "/audit?object=comment:{comment}", user: "admin", status: 200,
			contains: []string{`"action":"comment.publish"`, `"action":"comment.update"`, `"action":"comment.unpublish"`, `"action":"comment.delete"`}},
	})
}
