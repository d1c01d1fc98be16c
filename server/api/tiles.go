package api

import (
	"encoding/json"
	"net/http"

	"github.com/trovato/trovato/core"
)

// tileRoutes serve tile documents (config.administer): the same shapes as
// every config kind, with PUT checking that the gather or menu a tile
// shows exists; previews (tile_preview.go); and the sources a tile can
// show.
func (a *API) tileRoutes() {
	a.handle("GET", "/tiles", func(w http.ResponseWriter, r *http.Request) error { return a.listConfigKind(w, r, "tile") })
	a.handle("GET", "/tiles/{name}", func(w http.ResponseWriter, r *http.Request) error { return a.getConfigKind(w, r, "tile") })
	a.handle("PUT", "/tiles/{name}", a.putTile)
	a.handle("DELETE", "/tiles/{name}", func(w http.ResponseWriter, r *http.Request) error { return a.deleteConfigKind(w, r, "tile") })
	a.handle("GET", "/tiles/{name}/preview", a.previewStoredTile)
	a.handle("POST", "/tile-preview", a.previewTile)
	a.handle("GET", "/tile-sources", a.listTileSources)
}

// putTile stores a tile document after checking what it refers to.
func (a *API) putTile(w http.ResponseWriter, r *http.Request) error {
	var in configPut
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Body) == 0 || in.Body[0] != '{' {
		return core.InvalidFields("The document is not valid.", []core.FieldError{{Path: "body", Message: "must be an object"}})
	}
	if err := a.require(r, core.PermAdministerConfig); err != nil {
		return err
	}
	body, err := core.CheckConfigDocument("tile", r.PathValue("name"), in.Body)
	if err != nil {
		return prefixFieldPaths(err, "body")
	}
	t, err := core.ParseTile(body)
	if err != nil {
		return prefixFieldPaths(err, "body")
	}
	if err := a.store.CheckTile(r.Context(), t); err != nil {
		return prefixFieldPaths(err, "body")
	}
	doc, err := a.store.Config().PutConfig(r.Context(), "tile", t.Name, json.RawMessage(body), in.IfVersion)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doc)
	return nil
}

// tileSource is what a tile document can show besides menus and text: a
// gather display of type tile, or a tile a plugin declares (tile_info).
type tileSource struct {
	Source  string `json:"source"` // gather or plugin
	Gather  string `json:"gather,omitempty"`
	Plugin  string `json:"plugin,omitempty"`
	Name    string `json:"name"`
	Label   string `json:"label"`
	Items   int    `json:"items,omitempty"`
	Island  bool   `json:"island,omitempty"`
	Preview string `json:"preview,omitempty"` // the API route that runs a gather tile
}

// listTileSources lists gather tile displays (run one with
// GET /gathers/{name}/results?display=) and plugin tiles.
func (a *API) listTileSources(w http.ResponseWriter, r *http.Request) error {
	if err := a.require(r, core.PermAdministerConfig); err != nil {
		return err
	}
	p, err := a.pageOf(r, scopeOf(r))
	if err != nil {
		return err
	}
	docs, err := a.store.Config().FindConfigs(r.Context(), "gather")
	if err != nil {
		return err
	}
	out := []tileSource{}
	for _, d := range docs {
		g, err := core.GatherFromConfig(d)
		if err != nil {
			continue // a stored gather today's code cannot read: not offered
		}
		for _, disp := range g.Displays {
			if disp.Type != "tile" {
				continue
			}
			label := disp.Title
			if label == "" {
				label = g.Label
			}
			out = append(out, tileSource{Source: "gather", Gather: g.Name, Name: disp.Name, Label: label, Items: disp.Items,
				Preview: Prefix + "/gathers/" + g.Name + "/results?display=" + disp.Name})
		}
	}
	for _, pt := range a.k.Plugins.Tiles(r.Context()) {
		out = append(out, tileSource{Source: "plugin", Plugin: pt.Plugin, Name: pt.Name, Label: pt.Label, Island: pt.Island})
	}
	writeJSON(w, http.StatusOK, pageSlice(a, p, out))
	return nil
}
