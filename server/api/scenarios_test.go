package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// TestScenarios walks the API as an editor would, one table, every
// request and response validated against the spec.
func TestScenarios(t *testing.T) {
	e := mustEnv(t, 0)
	e.vars["admin"] = core.AdminUserID.String()
	big := `{"type":"article","title":"` + strings.Repeat("x", 3<<20) + `"}`
	itemCount := func(want int) func(t *testing.T, e *env, b []byte) {
		return func(t *testing.T, e *env, b []byte) {
			var p struct {
				Items []json.RawMessage `json:"items"`
			}
			_ = json.Unmarshal(b, &p)
			if len(p.Items) != want {
				t.Fatalf("%d items, want %d", len(p.Items), want)
			}
		}
	}
	e.run(t, []scenario{
		// Authentication and CSRF.
		{name: "SpecIsPublic", method: "GET", path: "/openapi.json", status: 200, contains: []string{`"openapi":"3.0.3"`}},
		{name: "AnonymousIs401", method: "GET", path: "/items", status: 401, code: core.EUnauthorized},
		{name: "ForgedBearerIs401", method: "GET", path: "/items", user: "forged", status: 401, code: core.EUnauthorized},
		{name: "Session", method: "GET", path: "/session", user: "ed", status: 200, contains: []string{`"name":"ed"`, `"csrf_token"`}},
		{name: "SessionByToken", method: "GET", path: "/session", user: "token", status: 200, contains: []string{`"name":"admin"`, `"token_id"`}},
		{name: "WriteWithoutCSRFIs403", taps: []string{}, method: "POST", path: "/items", user: "ed", noCSRF: true, status: 403, code: core.EForbidden,
			body: `{"type":"article","title":"No token"}`},
		{name: "TokenNeedsNoCSRF", taps: []string{"item_presave", "item_insert"}, method: "POST", path: "/items", user: "token", status: 201,
			body: `{"type":"article","title":"By token","status":"published"}`, contains: []string{`"title":"By token"`}},

		// Items CRUD.
		{name: "CreateItem", taps: []string{"item_presave", "item_insert"}, method: "POST", path: "/items", user: "ed", status: 201,
			body:     `{"type":"article","title":"Hello","status":"published","fields":{"body":"Some *text*."},"log":"first"}`,
			contains: []string{`"title":"Hello"`}, save: func(e *env, m map[string]any) {
				saveVar("item", "id")(e, m)
				saveVar("rev1", "revision_id")(e, m)
			}},
		{name: "CreateItemUnknownField", taps: []string{}, method: "POST", path: "/items", user: "ed", invalid: true, status: 400, code: core.EInvalid,
			body: `{"type":"article","title":"x","colour":"red"}`, contains: []string{`"path":"colour"`}},
		{name: "CreateItemWrongType", method: "POST", path: "/items", user: "ed", invalid: true, status: 400, code: core.EInvalid,
			body: `{"type":"article","title":42}`, contains: []string{`"path":"title"`}},
		{name: "CreateItemInvalidUTF8", method: "POST", path: "/items", user: "ed", invalid: true, status: 400, code: core.EInvalid,
			raw: []byte("{\"type\":\"article\",\"title\":\"\xff\xfe\"}"), ctype: "application/json"},
		{name: "CreateItemTooLarge", taps: []string{}, method: "POST", path: "/items", user: "ed", status: 413, code: core.ETooLarge, body: big},
		{name: "CreateItemBadField", method: "POST", path: "/items", user: "ed", status: 400, code: core.EInvalid,
			body: `{"type":"article","title":"x","fields":{"nope":1}}`, contains: []string{`"fields"`}},
		{name: "CreateItemUnknownType", method: "POST", path: "/items", user: "ed", status: 400, code: core.EInvalid,
			body: `{"type":"nosuch","title":"x"}`},
		{name: "BadInputStoredNothing", method: "GET", path: "/items?type=article", user: "ed", status: 200, check: itemCount(2)},
		{name: "AuthorMayNotCreate", method: "POST", path: "/items", user: "al", status: 403, code: core.EForbidden,
			body: `{"type":"article","title":"x"}`},
		{name: "GetItem", taps: []string{}, method: "GET", path: "/items/{item}", user: "ed", status: 200, contains: []string{`"id":"{item}"`}},
		{name: "GetItemMissing", method: "GET", path: "/items/" + core.NewID().String(), user: "ed", status: 404, code: core.ENotFound},
		{name: "GetItemMalformedID", method: "GET", path: "/items/nope", user: "ed", status: 404, code: core.ENotFound},
		{name: "UpdateItem", taps: []string{"item_presave", "item_update"}, method: "PATCH", path: "/items/{item}", user: "ed", status: 200,
			body:     `{"base_revision_id":"{rev1}","title":"Hello again","log":"second"}`,
			contains: []string{`"title":"Hello again"`}, save: saveVar("rev2", "revision_id")},
		{name: "UpdateItemStaleIs409WithCurrent", taps: []string{}, method: "PATCH", path: "/items/{item}", user: "ed", status: 409, code: core.EConflict,
			body: `{"base_revision_id":"{rev1}","title":"Lost update"}`, contains: []string{`"current"`, `"revision_id":"{rev2}"`, `"title":"Hello again"`}},
		{name: "UpdateItemNeedsBase", method: "PATCH", path: "/items/{item}", user: "ed", invalid: true, status: 400, code: core.EInvalid,
			body: `{"title":"x"}`, contains: []string{`"path":"base_revision_id"`}},
		{name: "UnpublishedItem", method: "POST", path: "/items", user: "ed", status: 201,
			body: `{"type":"article","title":"Secret","status":"unpublished"}`, save: saveVar("secret", "id")},
		{name: "UnpublishedIs404ForAuthor", method: "GET", path: "/items/{secret}", user: "al", status: 404, code: core.ENotFound},
		{name: "ListItemsByStatus", method: "GET", path: "/items?status=unpublished", user: "ed", status: 200, check: itemCount(1)},
		{name: "ListItemsAuthorSeesPublished", method: "GET", path: "/items", user: "al", status: 200, check: itemCount(2)},
		{name: "ListItemsByAuthor", method: "GET", path: "/items?author={admin}", user: "ed", status: 200, check: itemCount(1)},
		{name: "ListItemsBadLimit", method: "GET", path: "/items?limit=5000", user: "ed", invalid: true, status: 400, code: core.EInvalid},
		{name: "ListItemsSorted", method: "GET", path: "/items?sort=-created", user: "ed", status: 200},

		// Revisions.
		{name: "ListRevisions", method: "GET", path: "/items/{item}/revisions", user: "ed", status: 200, check: itemCount(2)},
		{name: "GetRevision", method: "GET", path: "/revisions/{rev1}", user: "ed", status: 200, contains: []string{`"log":"first"`}},
		{name: "DiffRevision", method: "GET", path: "/revisions/{rev2}/diff", user: "ed", status: 200,
			contains: []string{`"from":"{rev1}"`, `"path":"title"`, `"new":"Hello again"`}},
		{name: "DiffRevisionAgainst", method: "GET", path: "/revisions/{rev1}/diff?against={rev2}", user: "ed", status: 200, contains: []string{`"path":"title"`}},
		{name: "RestoreRevision", taps: []string{"item_presave", "item_update"}, method: "POST", path: "/revisions/{rev1}/restore", user: "ed", status: 200, body: `{"log":"back"}`,
			contains: []string{`"title":"Hello"`}, save: saveVar("rev3", "revision_id")},
		{name: "RevisionOfHiddenItemIs404", method: "GET", path: "/items/{secret}/revisions", user: "al", status: 404, code: core.ENotFound},

		// Drafts.
		{name: "NoDraftYet", method: "GET", path: "/items/{item}/draft", user: "ed", status: 404, code: core.ENotFound},
		{name: "Autosave", taps: []string{}, method: "PUT", path: "/items/{item}/draft", user: "ed", status: 200,
			body: `{"doc":{"title":"Half-written","fields":{"body":"Draft text"}}}`, contains: []string{`"base_revision_id":"{rev3}"`}},
		{name: "AutosaveAgain", method: "PUT", path: "/items/{item}/draft", user: "ed", status: 200,
			body: `{"doc":{"title":"Almost written"}}`, contains: []string{`"title":"Almost written"`}},
		{name: "DraftIsNotARevision", method: "GET", path: "/items/{item}/revisions", user: "ed", status: 200, check: itemCount(3)},
		{name: "DraftIsPerUser", method: "GET", path: "/items/{item}/draft", user: "admin", status: 404},
		{name: "GetDraft", method: "GET", path: "/items/{item}/draft", user: "ed", status: 200, contains: []string{`"title":"Almost written"`}},
		{name: "AuthorMayNotDraft", method: "PUT", path: "/items/{item}/draft", user: "al", status: 403, body: `{"doc":{"title":"x"}}`},
		{name: "SaveDraft", taps: []string{"item_presave", "item_update"}, method: "POST", path: "/items/{item}/draft/save", user: "ed", status: 200, body: `{"log":"from draft"}`,
			contains: []string{`"title":"Almost written"`}, save: saveVar("rev4", "revision_id")},
		{name: "DraftGoneAfterSave", method: "GET", path: "/items/{item}/draft", user: "ed", status: 404},
		{name: "StaleDraft", method: "PUT", path: "/items/{item}/draft", user: "ed", status: 200,
			body: `{"base_revision_id":"{rev1}","doc":{"title":"Old base"}}`},
		{name: "SaveStaleDraftIs409", method: "POST", path: "/items/{item}/draft/save", user: "ed", status: 409, code: core.EConflict,
			contains: []string{`"revision_id":"{rev4}"`}},
		{name: "DropDraft", method: "DELETE", path: "/items/{item}/draft", user: "ed", status: 204},

		// Stages.
		{name: "CreateStage", method: "POST", path: "/stages", user: "ed", status: 201, body: `{"name":"spring","label":"Spring"}`,
			save: saveVar("stage", "id")},
		{name: "CreateStageTwiceIs409", method: "POST", path: "/stages", user: "ed", status: 409, body: `{"name":"spring"}`},
		{name: "AuthorCannotSeeStage", method: "GET", path: "/stages/spring", user: "al", status: 404, code: core.ENotFound},
		{name: "AuthorCannotReadInStage", method: "GET", path: "/items?stage=spring", user: "al", status: 404, code: core.ENotFound},
		{name: "ListStages", method: "GET", path: "/stages", user: "ed", status: 200, contains: []string{`"name":"spring"`}},
		{name: "GetStage", method: "GET", path: "/stages/{stage}", user: "ed", status: 200, contains: []string{`"name":"spring"`}},
		{name: "EditInStage", taps: []string{"item_presave", "item_update"}, method: "PATCH", path: "/items/{item}?stage=spring", user: "ed", status: 200,
			body: `{"base_revision_id":"{rev4}","title":"Spring title"}`},
		{name: "LiveUnchanged", method: "GET", path: "/items/{item}", user: "ed", status: 200, contains: []string{`"title":"Almost written"`}},
		{name: "CreateInStage", method: "POST", path: "/items?stage=spring", user: "ed", status: 201, body: `{"type":"article","title":"Spring news","status":"published"}`,
			save: saveVar("springItem", "id")},
		{name: "StageDiff", method: "GET", path: "/stages/spring/diff", user: "ed", status: 200, check: itemCount(2),
			contains: []string{`"action":"update"`, `"action":"create"`}},
		{name: "SetPreview", method: "PUT", path: "/session/preview", user: "ed", status: 200, body: `{"stage":"spring"}`,
			contains: []string{`"preview_stage_id":"{stage}"`}},
		{name: "SetPreviewHiddenStageIs404", method: "PUT", path: "/session/preview", user: "al", status: 404, body: `{"stage":"spring"}`},
		{name: "SetPreviewByTokenIs400", method: "PUT", path: "/session/preview", user: "token", status: 400, body: `{"stage":"spring"}`},
		{name: "ClearPreview", method: "PUT", path: "/session/preview", user: "ed", status: 200, body: `{"stage":null}`},
		{name: "PreviewPage", method: "GET", path: "/stages/spring/preview?path=/item/{item}", user: "ed", status: 200,
			contains: []string{"Spring title"}},
		{name: "PreviewMissingPage", method: "GET", path: "/stages/spring/preview?path=/nope/nothing", user: "ed", status: 404},
		{name: "PreviewBadPath", method: "GET", path: "/stages/spring/preview?path=nope", user: "ed", status: 400},
		{name: "EditorMayNotSchedule", method: "PUT", path: "/stages/spring/schedule", user: "ed", status: 403, body: `{"publish_at":null}`},
		{name: "Schedule", method: "PUT", path: "/stages/spring/schedule", user: "admin", status: 200, body: `{"publish_at":"2031-01-02T03:04:05Z"}`,
			contains: []string{`"publish_at":"2031-01-02T03:04:05Z"`}},
		{name: "Unschedule", method: "PUT", path: "/stages/spring/schedule", user: "admin", status: 200, body: `{"publish_at":null}`},
		{name: "EditorMayNotPublish", method: "POST", path: "/stages/spring/publish", user: "ed", status: 403, body: `{}`},
		{name: "PublishDryRun", method: "POST", path: "/stages/spring/publish", user: "admin", status: 200, body: `{"dry_run":true}`,
			contains: []string{`"dry_run":true`, `"applied":false`}},
		{name: "LiveMovesMeanwhile", method: "PATCH", path: "/items/{item}", user: "ed", status: 200,
			body: `{"base_revision_id":"{rev4}","title":"Live moved"}`},
		{name: "PublishConflictIs409", method: "POST", path: "/stages/spring/publish", user: "admin", status: 409,
			contains: []string{`"problem":"conflict"`, `"applied":false`}},
		{name: "PublishWithChoice", taps: []string{}, method: "POST", path: "/stages/spring/publish", user: "admin", status: 200,
			body: `{"choices":{"item:{item}":"mine"},"message":"spring"}`, contains: []string{`"applied":true`},
			save: saveVar("release", "release.id")},
		{name: "PublishedInLive", method: "GET", path: "/items/{item}", user: "al", status: 200, contains: []string{`"title":"Spring title"`}},
		{name: "BadChoice", method: "POST", path: "/stages/spring/publish", user: "admin", invalid: true, status: 400,
			body: `{"on_conflict":"maybe"}`, contains: []string{`"path":"on_conflict"`}},
		{name: "ListReleases", method: "GET", path: "/releases", user: "admin", status: 200, contains: []string{`"id":"{release}"`}},
		{name: "GetRelease", method: "GET", path: "/releases/{release}", user: "admin", status: 200, contains: []string{`"entries"`}},
		{name: "RollbackDryRun", method: "POST", path: "/releases/{release}/rollback", user: "admin", status: 200, body: `{"dry_run":true}`},
		{name: "Rollback", method: "POST", path: "/releases/{release}/rollback", user: "admin", status: 200, contains: []string{`"applied":true`}},
		{name: "RolledBack", method: "GET", path: "/items/{item}", user: "ed", status: 200, contains: []string{`"title":"Live moved"`}},
		{name: "CreateStage2", method: "POST", path: "/stages", user: "ed", status: 201, body: `{"name":"autumn"}`},
		{name: "Discard", method: "POST", path: "/stages/autumn/discard", user: "ed", status: 200, contains: []string{`"state":"discarded"`}},
		{name: "ClosedStagesListed", method: "GET", path: "/stages?include_closed=true", user: "ed", status: 200, contains: []string{`"name":"autumn"`}},

		// Delete.
		{name: "AuthorMayNotDelete", taps: []string{}, method: "DELETE", path: "/items/{item}", user: "al", status: 403},
		{name: "DeleteHiddenIs404", method: "DELETE", path: "/items/{secret}", user: "al", status: 404},
		{name: "DeleteItem", taps: []string{"item_delete"}, method: "DELETE", path: "/items/{item}", user: "ed", status: 204},
		{name: "DeletedIs404", method: "GET", path: "/items/{item}", user: "ed", status: 404},
	})
}

// TestItemPaging pages through items with a signed cursor.
func TestItemPaging(t *testing.T) {
	e := mustEnv(t, 0)
	for i := range 3 {
		it := &core.Item{Type: "article", Title: "Item " + string(rune('A'+i)), Status: core.StatusPublished}
		if err := e.k.Store.Items().CreateItem(e.admin, core.LiveStageID, it, ""); err != nil {
			t.Fatal(err)
		}
	}
	itemCount := func(want int) func(t *testing.T, e *env, b []byte) {
		return func(t *testing.T, e *env, b []byte) {
			var p struct {
				Items []json.RawMessage `json:"items"`
			}
			_ = json.Unmarshal(b, &p)
			if len(p.Items) != want {
				t.Fatalf("%d items, want %d", len(p.Items), want)
			}
		}
	}
	e.run(t, []scenario{
		{name: "ListItems", method: "GET", path: "/items?type=article&limit=2", user: "ed", status: 200,
			check: itemCount(2), save: saveVar("cursor", "next_cursor")},
		{name: "ListItemsNextPage", method: "GET", path: "/items?type=article&limit=2&cursor={cursor}", user: "ed", status: 200, check: itemCount(1)},
		{name: "ListItemsTamperedCursor", method: "GET", path: "/items?type=article&limit=2&cursor={cursor}x", user: "ed", status: 400,
			code: core.EInvalid, contains: []string{`"path":"cursor"`}},
		{name: "ListItemsCursorOtherFilter", method: "GET", path: "/items?type=page&limit=2&cursor={cursor}", user: "ed", status: 400, code: core.EInvalid},
	})
}
