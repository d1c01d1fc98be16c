package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
)

// TestTileDocuments manages tile documents through the API.
func TestTileDocuments(t *testing.T) {
	e := mustEnv(t, 0)
	recent := `{"kind":"gather","name":"recent","label":"Recent","displays":[{"name":"side","type":"tile","items":1}]}`
	tile := `{"kind":"tile","name":"latest","label":"Latest","region":"sidebar","visibility":{"pages":["/blog/*"]},"content":{"gather":{"gather":"recent","display":"side"}}}`
	e.run(t, []scenario{
		{name: "PutGather", method: "PUT", path: "/gathers/recent", user: "admin", status: 200, body: `{"body":` + recent + `}`},
		{name: "PutTile", method: "PUT", path: "/tiles/latest", user: "admin", status: 200, body: `{"body":` + tile + `}`,
			contains: []string{`"kind":"tile"`, `"version":1`}},
		{name: "PutTileMissingGather", method: "PUT", path: "/tiles/x", user: "admin", status: 400, code: "invalid",
			body:     `{"body":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"gather":{"gather":"nosuch"}}}}`,
			contains: []string{`"path":"body.content.gather.gather"`}},
		{name: "PutTileInvalid", method: "PUT", path: "/tiles/x", user: "admin", status: 400, code: "invalid",
			body:     `{"body":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"text":{"body":"a"},"menu":{"menu":"main"}}}}`,
			contains: []string{`"path":"body.content"`}},
		{name: "PutTileNameMismatch", method: "PUT", path: "/tiles/other", user: "admin", status: 400, code: "invalid", body: `{"body":` + tile + `}`},
		{name: "PutTileStaleVersion", method: "PUT", path: "/tiles/latest", user: "admin", status: 409,
			body: `{"if_version":7,"body":` + tile + `}`},
		{name: "EditorMayNotPutTile", method: "PUT", path: "/tiles/latest", user: "ed", status: 403, body: `{"body":` + tile + `}`},
		{name: "ListTiles", method: "GET", path: "/tiles", user: "admin", status: 200, contains: []string{`"name":"latest"`}},
		{name: "EditorMayNotListTiles", method: "GET", path: "/tiles", user: "ed", status: 403},
		{name: "GetTile", method: "GET", path: "/tiles/latest", user: "admin", status: 200, contains: []string{`"region":"sidebar"`}},
		{name: "GetMissingTile", method: "GET", path: "/tiles/nosuch", user: "admin", status: 404},
		{name: "TileSourcesOfTheGather", method: "GET", path: "/tile-sources", user: "admin", status: 200,
			contains: []string{`"source":"gather","gather":"recent","name":"side"`}},
		{name: "DeleteTile", method: "DELETE", path: "/tiles/latest", user: "admin", status: 204},
		{name: "DeleteMissingTile", method: "DELETE", path: "/tiles/latest", user: "admin", status: 404},
	})
}

// TestTilePreview renders stored and unsaved tiles through the site, in
// live and in a stage, and holds the answer to the bytes the page has.
func TestTilePreview(t *testing.T) {
	e := mustEnv(t, 0)
	recent := `{"kind":"gather","name":"recent","label":"Recent","displays":[{"name":"side","type":"tile","items":5}]}`
	latest := `{"kind":"tile","name":"latest","label":"Latest","region":"sidebar","visibility":{"pages":["/"]},"content":{"gather":{"gather":"recent","display":"side"}}}`
	note := `{"kind":"tile","name":"note","label":"Note","region":"sidebar","content":{"text":{"body":"Hello *tile* & <script>alert(1)</script>"}}}`
	var preview struct {
		HTML    string `json:"html"`
		Visible bool   `json:"visible"`
		OnPage  bool   `json:"on_page"`
		Errors  []struct {
			Path string `json:"path"`
		} `json:"errors"`
	}
	// onSitePage: the preview's html is non-empty and byte for byte in
	// the page the site serves the admin at path (live).
	onSitePage := func(path string) func(t *testing.T, e *env, b []byte) {
		return func(t *testing.T, e *env, b []byte) {
			if err := json.Unmarshal(b, &preview); err != nil {
				t.Fatal(err)
			}
			if preview.HTML == "" || !preview.OnPage || !preview.Visible {
				t.Fatalf("preview not on the page: %s", b)
			}
			req := httptest.NewRequest("GET", path, nil)
			req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: e.cookies["admin"]})
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), preview.HTML) {
				t.Fatalf("the page at %s (%d) does not hold the preview's html %q", path, rec.Code, preview.HTML)
			}
		}
	}
	// notOnPage: the tile is not on this page, its html is still given.
	notOnPage := func(t *testing.T, e *env, b []byte) {
		if err := json.Unmarshal(b, &preview); err != nil {
			t.Fatal(err)
		}
		if preview.Visible || preview.OnPage || !strings.Contains(preview.HTML, "tile--latest") {
			t.Fatalf("want an html not on the page: %s", b)
		}
	}
	noHTML := func(t *testing.T, e *env, b []byte) {
		if err := json.Unmarshal(b, &preview); err != nil {
			t.Fatal(err)
		}
		if preview.HTML != "" || preview.OnPage {
			t.Fatalf("want no html: %s", b)
		}
	}
	e.run(t, []scenario{
		{name: "PutGather", method: "PUT", path: "/gathers/recent", user: "admin", status: 200, body: `{"body":` + recent + `}`},
		{name: "CreateItem", method: "POST", path: "/items", user: "ed", status: 201,
			body: `{"type":"article","title":"Tiled news","status":"published"}`, save: func(e *env, m map[string]any) {
				saveVar("item", "id")(e, m)
				saveVar("rev", "revision_id")(e, m)
			}},
		{name: "AliasTheItem", method: "POST", path: "/aliases", user: "ed", status: 201, body: `{"doc":{"alias":"/news/tiled","path":"/item/{item}"}}`},
		{name: "PutTile", method: "PUT", path: "/tiles/latest", user: "admin", status: 200, body: `{"body":` + latest + `}`},

		// A stored tile, live.
		{name: "PreviewStored", method: "GET", path: "/tiles/latest/preview?path=/", user: "admin", status: 200,
			contains: []string{`"name":"latest"`, `"region":"sidebar"`, `"stage":"live"`, `"errors":[]`, `Tiled news`, `tile--latest`, `href=\"/news/tiled\"`},
			check:    onSitePage("/")},
		{name: "PreviewStoredDefaultPath", method: "GET", path: "/tiles/latest/preview", user: "admin", status: 200,
			contains: []string{`"path":"/"`, `"on_page":true`}},
		{name: "PreviewStoredWhereHidden", method: "GET", path: "/tiles/latest/preview?path=/news/tiled", user: "admin", status: 200,
			contains: []string{`Tiled news`, `href=\"/news/tiled\"`}, check: notOnPage},
		{name: "PreviewRedirectingPath", method: "GET", path: "/tiles/latest/preview?path=/item/{item}", user: "admin", status: 400, code: core.EInvalid,
			contains: []string{`"path":"path"`, `redirects to /news/tiled`}},

		// In a stage: the stage's title; live keeps its own.
		{name: "CreateStage", method: "POST", path: "/stages", user: "ed", status: 201, body: `{"name":"winter"}`},
		{name: "EditInStage", method: "PATCH", path: "/items/{item}?stage=winter", user: "ed", status: 200,
			body: `{"base_revision_id":"{rev}","title":"Winter news"}`},
		{name: "PreviewInStage", method: "GET", path: "/tiles/latest/preview?stage=winter&path=/", user: "admin", status: 200,
			contains: []string{`"stage":"winter"`, `Winter news`, `"on_page":true`}},
		{name: "LiveUnchanged", method: "GET", path: "/tiles/latest/preview?stage=live&path=/", user: "admin", status: 200,
			contains: []string{`Tiled news`}},

		// An unsaved tile.
		{name: "PreviewUnsaved", method: "POST", path: "/tile-preview", user: "admin", status: 200,
			body:     `{"tile":` + note + `,"path":"/"}`,
			contains: []string{`"name":"note"`, `\u003cem\u003etile\u003c/em\u003e`, `tile--text`}, check: formatted},
		{name: "PreviewUnsavedInStage", method: "POST", path: "/tile-preview?stage=winter", user: "admin", status: 200,
			body:     `{"tile":{"kind":"tile","name":"latest","label":"Latest","region":"footer","content":{"gather":{"gather":"recent"}}}}`,
			contains: []string{`"region":"footer"`, `Winter news`, `"on_page":true`}},
		{name: "PreviewUnsavedDisabled", method: "POST", path: "/tile-preview", user: "admin", status: 200,
			body:  `{"tile":{"kind":"tile","name":"latest","label":"Latest","region":"sidebar","disabled":true,"content":{"gather":{"gather":"recent","display":"side"}}}}`,
			check: notOnPage},
		{name: "PreviewUnsavedMissingGather", method: "POST", path: "/tile-preview", user: "admin", status: 200,
			body:     `{"tile":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"gather":{"gather":"nosuch"}}}}`,
			contains: []string{`"errors":[{"path":"content.gather.gather"`}, check: noHTML},
		{name: "PreviewUnsavedMissingDisplay", method: "POST", path: "/tile-preview", user: "admin", status: 200,
			body:     `{"tile":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"gather":{"gather":"recent","display":"nosuch"}}}}`,
			contains: []string{`"path":"content.gather.display"`}, check: noHTML},
		{name: "PreviewUnsavedMissingMenu", method: "POST", path: "/tile-preview", user: "admin", status: 200,
			body:     `{"tile":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"menu":{"menu":"nosuch"}}}}`,
			contains: []string{`"path":"content.menu.menu"`}, check: noHTML},
		{name: "PreviewUnsavedMissingPlugin", method: "POST", path: "/tile-preview", user: "admin", status: 200,
			body:     `{"tile":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"plugin":{"plugin":"nosuch","tile":"t"}}}}`,
			contains: []string{`"path":"content.plugin"`}, check: noHTML},

		// Bad input.
		{name: "PreviewUnknownTile", method: "GET", path: "/tiles/nosuch/preview", user: "admin", status: 404, code: core.ENotFound},
		{name: "PreviewInvalidTile", method: "POST", path: "/tile-preview", user: "admin", status: 400, code: core.EInvalid,
			body:     `{"tile":{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"text":{"body":"a"},"menu":{"menu":"main"}}}}`,
			contains: []string{`"path":"tile.content"`}},
		{name: "PreviewTileNotAnObject", method: "POST", path: "/tile-preview", user: "admin", invalid: true, status: 400, code: core.EInvalid,
			body: `{"tile":"latest"}`, contains: []string{`"path":"tile"`}},
		{name: "PreviewUnknownField", method: "POST", path: "/tile-preview", user: "admin", invalid: true, status: 400, code: core.EInvalid,
			body: `{"tile":` + note + `,"colour":"red"}`, contains: []string{`"path":"colour"`}},
		{name: "PreviewNoTile", method: "POST", path: "/tile-preview", user: "admin", invalid: true, status: 400, code: core.EInvalid,
			body: `{"path":"/"}`, contains: []string{`"path":"tile"`}},
		{name: "PreviewBadPath", method: "GET", path: "/tiles/latest/preview?path=nope", user: "admin", status: 400, code: core.EInvalid,
			contains: []string{`"path":"path"`}},
		{name: "PreviewAPIPath", method: "POST", path: "/tile-preview", user: "admin", status: 400, code: core.EInvalid,
			body: `{"tile":` + note + `,"path":"/api/v1/items"}`, contains: []string{`"path":"path"`}},
		{name: "PreviewMissingPage", method: "GET", path: "/tiles/latest/preview?path=/nope/nothing", user: "admin", status: 404, code: core.ENotFound},
		{name: "PreviewNotAPage", method: "GET", path: "/tiles/latest/preview?path=/robots.txt", user: "admin", status: 400, code: core.EInvalid,
			contains: []string{`"path":"path"`}},
		{name: "PreviewMissingStage", method: "GET", path: "/tiles/latest/preview?stage=nosuch", user: "admin", status: 404, code: core.ENotFound},
		{name: "PreviewHiddenStageIs404", method: "GET", path: "/tiles/latest/preview?stage=winter", user: "al", status: 404, code: core.ENotFound},
		{name: "PreviewUnsavedHiddenStageIs404", method: "POST", path: "/tile-preview?stage=winter", user: "al", status: 404, code: core.ENotFound,
			body: `{"tile":` + note + `}`},
		{name: "EditorMayNotPreview", method: "GET", path: "/tiles/latest/preview?stage=winter", user: "ed", status: 403, code: core.EForbidden},
		{name: "AuthorMayNotPreviewUnsaved", method: "POST", path: "/tile-preview", user: "al", status: 403, code: core.EForbidden,
			body: `{"tile":` + note + `}`},
		{name: "TokenWithoutConfigIs403", method: "GET", path: "/tiles/latest/preview", user: "token", status: 403, code: core.EForbidden},
		{name: "PreviewWithoutCSRFIs403", method: "POST", path: "/tile-preview", user: "admin", noCSRF: true, status: 403, code: core.EForbidden,
			body: `{"tile":` + note + `}`},
		{name: "AnonymousPreviewIs401", method: "GET", path: "/tiles/latest/preview", status: 401, code: core.EUnauthorized},
		{name: "AnonymousUnsavedIs401", method: "POST", path: "/tile-preview", status: 401, code: core.EUnauthorized,
			body: `{"tile":` + note + `}`},
		{name: "NothingStored", method: "GET", path: "/tiles", user: "admin", status: 200, check: func(t *testing.T, e *env, b []byte) {
			if strings.Contains(string(b), `"name":"note"`) || strings.Contains(string(b), `"name":"x"`) || strings.Contains(string(b), `"footer"`) {
				t.Fatalf("a preview stored its tile: %s", b)
			}
		}},
	})
}

// formatted checks an unsaved text tile's html: its markdown rendered,
// no script passed through.
func formatted(t *testing.T, e *env, b []byte) {
	var p struct {
		HTML string `json:"html"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.HTML == "" {
		t.Fatalf("no html: %s", b)
	}
	if !strings.Contains(p.HTML, "<em>tile</em>") || strings.Contains(p.HTML, "<script") {
		t.Fatalf("html %q", p.HTML)
	}
}
