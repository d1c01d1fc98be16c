package api

import (
	"encoding/json"
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

// runGather runs a stored gather as the caller, in a stage: the items the
// caller may view, one page. Query: page, display, arg (repeatable path
// arguments) and exposed filters as x.NAME=value.
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
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return core.InvalidFields("The page is not valid.", []core.FieldError{{Path: "page", Message: "must be a whole number from 1"}})
		}
		args.Page = n
	}
	for k, v := range q {
		if len(k) > 2 && k[:2] == "x." && len(v) > 0 {
			args.Exposed[k[2:]] = v[0]
		}
	}
	res, err := a.store.Gathers().RunGather(r.Context(), g, stage, args)
	if err != nil {
		return hideDenied(err, "stage not found")
	}
	writeJSON(w, http.StatusOK, gatherResult(res))
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
