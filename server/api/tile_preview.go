package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server"
)

// checkSitePath checks the site path a preview asks for: root-relative,
// not the API's, at most 2048 bytes.
func checkSitePath(path string) error {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") || strings.HasPrefix(path, Prefix+"/") || len(path) > 2048 {
		return core.InvalidFields("The path is not valid.", []core.FieldError{{Path: "path", Message: "must be a site path starting with /"}})
	}
	return nil
}

// sitePage asks the site for path as the caller browses it in stage: in a
// short-lived session of the caller whose preview stage is the stage
// (live: none), deleted once the page is built. ctx is the site request's
// context (it may carry a tile preview).
func (a *API) sitePage(r *http.Request, ctx context.Context, stage core.ID, path string) (*http.Response, error) {
	u := authOf(r).user
	// The preview session carries the caller's session epoch, so the site
	// checks it like any other ("log out everywhere" ends it too).
	var epoch int64
	if !u.IsAnonymous() {
		var err error
		if _, epoch, err = a.k.SessionUsers.Lookup(r.Context(), u.ID); err != nil {
			return nil, err
		}
	}
	sess := &core.Session{UserID: u.ID, PreviewStageID: stage, Epoch: epoch}
	if err := a.sessions.SaveSession(r.Context(), sess); err != nil {
		return nil, err
	}
	defer func() {
		if err := a.sessions.DeleteSession(r.Context(), sess.ID); err != nil {
			a.log.Warn("delete preview session", "err", err)
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, core.InvalidFields("The path is not valid.", []core.FieldError{{Path: "path", Message: "is not a valid URL path"}})
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: sess.ID})
	rec := httptest.NewRecorder()
	a.site.ServeHTTP(rec, req)
	return rec.Result(), nil
}

type tilePreviewRequest struct {
	Tile json.RawMessage `json:"tile"`
	Path string          `json:"path"`
}

// tilePreview is a tile as the site renders it on one page in a stage.
type tilePreview struct {
	Name    string `json:"name"`
	Region  string `json:"region"`
	Path    string `json:"path"`
	Stage   string `json:"stage"`
	Visible bool   `json:"visible"`
	OnPage  bool   `json:"on_page"`
	HTML    string `json:"html"`
	// Errors are why the tile shows nothing, by field path in the tile
	// document: what it refers to is missing, or its source failed.
	Errors []core.FieldError `json:"errors"`
}

// previewStoredTile renders the stored tile {name} on the page at ?path=
// (default /) in ?stage= (config.administer).
func (a *API) previewStoredTile(w http.ResponseWriter, r *http.Request) error {
	stage, name, err := a.previewStage(r)
	if err != nil {
		return err
	}
	if err := a.require(r, core.PermAdministerConfig); err != nil {
		return err
	}
	t, err := a.store.FindTile(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return a.renderTilePreview(w, r, stage, name, t, r.URL.Query().Get("path"))
}

// previewTile renders an unsaved tile document (the tile editor's
// preview) on the page at path in ?stage= (config.administer, as storing
// it would need). A document that does not validate is 400 naming
// tile.FIELD; what it refers to is checked as the site would render it
// (errors in the answer).
func (a *API) previewTile(w http.ResponseWriter, r *http.Request) error {
	stage, name, err := a.previewStage(r)
	if err != nil {
		return err
	}
	var in tilePreviewRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.require(r, core.PermAdministerConfig); err != nil {
		return err
	}
	if len(in.Tile) == 0 || in.Tile[0] != '{' {
		return core.InvalidFields("The tile is not valid.", []core.FieldError{{Path: "tile", Message: "must be a tile document (an object)"}})
	}
	t, err := core.ParseTile(in.Tile)
	if err != nil {
		return prefixFieldPaths(err, "tile")
	}
	return a.renderTilePreview(w, r, stage, name, t, in.Path)
}

// previewStage is ?stage= with its name ("live" for live); a stage the
// caller may not view is not found.
func (a *API) previewStage(r *http.Request) (core.ID, string, error) {
	v := r.URL.Query().Get("stage")
	if v == "" || v == core.StageLive {
		return core.LiveStageID, core.StageLive, nil
	}
	st, err := a.store.Stages().FindStage(r.Context(), v)
	if err != nil {
		return core.NilID, "", hideDenied(err, "stage "+v+" not found")
	}
	return st.ID, st.Name, nil
}

func (a *API) renderTilePreview(w http.ResponseWriter, r *http.Request, stage core.ID, stageName string, t *core.Tile, path string) error {
	if path == "" {
		path = "/"
	}
	if err := checkSitePath(path); err != nil {
		return err
	}
	if a.site == nil {
		return core.Errorf(core.EUnavailable, "Preview is not available in this process.")
	}
	out := tilePreview{Name: t.Name, Region: t.Region, Path: path, Stage: stageName, Errors: []core.FieldError{}}
	if err := a.store.CheckTile(r.Context(), t); err != nil {
		if core.ErrorCode(err) != core.EInvalid {
			return err
		}
		out.Errors = append(out.Errors, core.ErrorFields(err)...)
	}
	ctx, got := server.WithTilePreview(r.Context(), t)
	res, err := a.sitePage(r, ctx, stage, path)
	if err != nil {
		return err
	}
	_ = res.Body.Close()
	switch status := res.StatusCode; {
	case status == http.StatusNotFound:
		return core.Errorf(core.ENotFound, "The site has no page at %s in stage %s.", path, stageName)
	case status >= 300 && status < 400:
		return core.InvalidFields("The path redirects.", []core.FieldError{{Path: "path",
			Message: "redirects to " + res.Header.Get("Location") + "; preview the page it leads to"}})
	case status != http.StatusOK:
		return core.Errorf(core.EUnavailable, "The site answered %d for %s.", status, path)
	}
	if !got.Framed {
		return core.InvalidFields("The path is not a page tiles show on.", []core.FieldError{{Path: "path", Message: "is not an HTML page with regions (a file or a feed)"}})
	}
	out.Visible, out.OnPage, out.HTML = got.Visible, got.OnPage, got.HTML
	for _, p := range got.Problems {
		dup := false
		for _, e := range out.Errors {
			dup = dup || e.Path == p.Path
		}
		if !dup {
			out.Errors = append(out.Errors, p)
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
