package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/render"
)

// gatherArgs are a gather run's arguments.
type gatherArgs struct {
	PathArgs []string          `json:"path_args"`
	Exposed  map[string]string `json:"exposed"`
	Page     int               `json:"page"`
	Display  string            `json:"display"`
}

func (g gatherArgs) core() core.GatherArgs {
	return core.GatherArgs{PathArgs: g.PathArgs, Exposed: g.Exposed, Page: g.Page, Display: g.Display}
}

// gatherPage is one page of a stored gather's results: the list shape
// (items, total, next_cursor) with the gather pager's page numbers.
type gatherPage struct {
	*core.GatherResult
	NextCursor string `json:"next_cursor,omitempty"`
}

// gatherScope is the cursor scope of a gather's results: the gather, a
// fingerprint of its definition, the stage and the run's arguments, so a
// cursor is refused after the gather changed or with other arguments.
func gatherScope(r *http.Request, g *core.Gather, stage core.ID, args core.GatherArgs) string {
	def, _ := json.Marshal(g)
	sum := sha256.Sum256(def)
	scope, _ := json.Marshal(struct {
		Path    string            `json:"path"`
		Def     string            `json:"def"`
		Stage   core.ID           `json:"stage"`
		Display string            `json:"display"`
		Args    []string          `json:"args"`
		Exposed map[string]string `json:"exposed"` // encoding/json sorts the keys
	}{r.URL.Path, hex.EncodeToString(sum[:]), stage, args.Display, args.PathArgs, args.Exposed})
	return string(scope)
}

// runGather runs a stored gather as the caller, in a stage: one page of
// the items the caller may view. Query: cursor and limit (1..200, default
// the gather's page size), or page (the gather's pager, as the site's
// listing pages; page size limit when given), display, arg (repeatable
// path arguments) and exposed filters as x.NAME=value. Errors: ENotFound
// for the gather or a stage the caller may not view; EInvalid naming page,
// limit, cursor (tampered, from another gather, stage or arguments, or
// from before the gather changed), display, exposed.NAME or args[N].
func (a *API) runGather(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	g, err := a.store.FindGather(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	args := core.GatherArgs{PathArgs: q["arg"], Display: q.Get("display"), Exposed: map[string]string{}}
	for k, v := range q {
		if len(k) > 2 && k[:2] == "x." && len(v) > 0 {
			args.Exposed[k[2:]] = v[0]
		}
	}
	perPage := g.PerPage(args.Display)
	args.Limit = perPage
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxPage {
			return core.InvalidFields("The limit is not valid.", []core.FieldError{{Path: "limit", Message: fmt.Sprintf("must be a whole number from 1 to %d", maxPage)}})
		}
		args.Limit = n
	}
	scope := gatherScope(r, g, stage, args)
	switch p, c := q.Get("page"), q.Get("cursor"); {
	case p != "" && c != "":
		return core.InvalidFields("Page by cursor or by page number, not both.", []core.FieldError{{Path: "page", Message: "cannot be combined with cursor"}})
	case p != "":
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > core.GatherMaxPage {
			return core.InvalidFields("The page is not valid.", []core.FieldError{{Path: "page", Message: fmt.Sprintf("must be a whole number from 1 to %d", core.GatherMaxPage)}})
		}
		args.Page, args.Offset = n, (n-1)*args.Limit
	case c != "":
		off, err := a.decodeCursor(scope, c)
		if err != nil {
			return core.InvalidFields("The cursor is not valid for this gather.", []core.FieldError{{Path: "cursor",
				Message: "was tampered with, belongs to another gather, stage, display or arguments, or the gather changed since"}})
		}
		args.Offset = off
	}
	res, err := a.store.Gathers().RunGather(r.Context(), g, stage, args)
	if err != nil {
		return hideDenied(err, "stage not found")
	}
	out := gatherPage{GatherResult: gatherResult(res)}
	listed := res.Total
	if g.Pager.Style == "none" {
		listed = min(listed, perPage) // the first page only
	}
	if next := args.Offset + len(res.Items); len(res.Items) > 0 && next < listed {
		out.NextCursor = a.encodeCursor(scope, next)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func gatherResult(res *core.GatherResult) *core.GatherResult {
	if res.Items == nil {
		res.Items = []*core.Item{}
	}
	return res
}

type gatherPreview struct {
	Gather json.RawMessage `json:"gather"`
	Args   gatherArgs      `json:"args"`
}

// previewGather runs a gather document that is not stored (the gather
// editor's preview); config.administer, as storing it would need.
func (a *API) previewGather(w http.ResponseWriter, r *http.Request) error {
	stage, err := a.stageParam(r)
	if err != nil {
		return err
	}
	var in gatherPreview
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := a.require(r, core.PermAdministerConfig); err != nil {
		return err
	}
	g, err := core.ParseGather(in.Gather)
	if err != nil {
		return prefixFieldPaths(err, "gather")
	}
	res, err := a.store.Gathers().RunGather(r.Context(), g, stage, in.Args.core())
	if err != nil {
		return hideDenied(err, "stage not found")
	}
	writeJSON(w, http.StatusOK, gatherResult(res))
	return nil
}

// prefixFieldPaths puts prefix before the field paths of an EINVALID
// error.
func prefixFieldPaths(err error, prefix string) error {
	fields := core.ErrorFields(err)
	if core.ErrorCode(err) != core.EInvalid || len(fields) == 0 {
		return err
	}
	out := make([]core.FieldError, len(fields))
	for i, f := range fields {
		out[i] = core.FieldError{Path: prefix + "." + f.Path, Message: f.Message}
	}
	return core.InvalidFields(core.ErrorMessage(err), out)
}

type renderRequest struct {
	Format string `json:"format"`
	Text   string `json:"text"`
}

// renderText formats text in a text format, as the site does when it
// renders a field; full_html only for users who hold format.full_html.
func (a *API) renderText(w http.ResponseWriter, r *http.Request) error {
	var in renderRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	trusted := false
	if in.Format == render.FormatFullHTML {
		if err := a.require(r, core.PermUseFullHTML); err != nil {
			return err
		}
		trusted = true
	}
	html, err := a.renderer.FormatText(in.Text, in.Format, trusted)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"html": string(html)})
	return nil
}
