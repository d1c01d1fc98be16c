package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/plugin"
	"github.com/trovato/trovato/core/render"
)

// Plugins contribute to pages only through render trees: item_view adds
// nodes to an item's tree, item_view_alter and preprocess rewrite it, and
// route/page_view serve whole pages. Invalid output was already dropped by
// the plugin manager, with a logged reason.

// pluginItemView runs item_view, item_view_alter and preprocess on the
// tree of an item shown in full. Pages using plugins depend on the plugin
// set, so enabling or changing one invalidates them.
func (s *Server) pluginItemView(ctx context.Context, st *reqState, it *core.Item, lang string, article core.Node) core.Node {
	pm := s.k.Plugins
	if pm == nil {
		return article
	}
	s.depend(ctx, st, core.ListTag(core.KindPlugin))
	ctx = s.pluginContext(ctx, st, nil)
	for _, n := range pm.ItemView(ctx, it, "full", lang) {
		article.Children = append(article.Children, n)
	}
	article.Children = core.SortedNodes(article.Children)
	article = pm.ItemViewAlter(ctx, it, "full", article)
	return pm.Preprocess(ctx, "item", article)
}

// pluginContext tells plugins about the request (the request host module
// and item calls read its stage): the previewed stage, or the stage a
// stage server (Options.Stage: a stage's static export) serves.
func (s *Server) pluginContext(ctx context.Context, st *reqState, r *http.Request) context.Context {
	stage := core.StageLive
	switch {
	case st.preview != nil:
		stage = st.preview.Name
	case s.stage != nil:
		stage = s.stage.Name
	}
	req := plugin.Request{Stage: stage}
	if r != nil {
		req.Path, req.Query = r.URL.Path, r.URL.Query()
	}
	return plugin.NewContextWithRequest(ctx, req)
}

// pluginPage serves a path a plugin declared with the route tap; ok is
// false when no plugin serves it. The route's permission is checked
// first; a visitor without it gets the not-found page.
func (s *Server) pluginPage(w http.ResponseWriter, r *http.Request, st *reqState, path string) (bool, error) {
	pm := s.k.Plugins
	if pm == nil {
		return false, nil
	}
	ctx := s.pluginContext(r.Context(), st, r)
	route, params, ok := pm.MatchRoute(ctx, path)
	if !ok {
		return false, nil
	}
	s.depend(ctx, st, core.ListTag(core.KindPlugin))
	if route.Permission != "" {
		if ok, err := s.k.Store.Authorizer().HasPermission(ctx, st.user, route.Permission); err != nil {
			return true, err
		} else if !ok {
			return true, core.Errorf(core.ENotFound, "page not found")
		}
	}
	stage := core.StageLive
	if st.preview != nil {
		stage = st.preview.Name
	}
	page, err := pm.PageView(ctx, route.Plugin, kernel.PageViewInput{Path: path, Route: route.Path, Params: params,
		Query: r.URL.Query(), Stage: stage})
	if err != nil {
		return true, err
	}
	title := page.Title
	if title == "" {
		title = route.Title
	}
	p := render.Page{Title: title, Regions: map[string][]core.Node{"content": {pm.Preprocess(ctx, "page", page.Content)}},
		Suggestions: []string{"page--plugin--" + route.Plugin}, BodyClasses: []string{"page-plugin", "page-plugin--" + route.Plugin}}
	if err := s.frame(ctx, st, &p, path); err != nil {
		return true, err
	}
	return true, s.sendPage(w, r, st, http.StatusOK, p, time.Time{})
}

// Kernel forms and plugins: every kernel form the site renders goes
// through pluginForm (form_alter), and its POST handler asks
// pluginFormValidate (form_validate) before acting. Form ids: user_login,
// user_login_link, user_password (reset request), user_reset, comment.

type formErrorsKey struct{}

// formErrors are form_validate's errors and the submitted values, carried
// in the request's context from a POST handler to the form it renders
// again.
type formErrors struct {
	errs   []core.FieldError
	values map[string][]string
}

// withFormErrors returns r with errs (from pluginFormValidate) for the
// form rendered next: pluginForm shows each beside its field and fills in
// the submitted values.
func withFormErrors(r *http.Request, errs []core.FieldError) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), formErrorsKey{}, &formErrors{errs: errs, values: r.PostForm}))
}

// pluginForm runs form_alter on a kernel form (the plugin manager keeps
// the form's hidden elements, action and method the kernel's). After a
// failed validation (withFormErrors) it puts each error on the element of
// that name (errors naming no element are shown above the fields) and
// refills the submitted values, never into password or hidden elements.
// Forms whose page is shared between visitors must not depend on the
// visitor; the account forms are never stored.
func (s *Server) pluginForm(ctx context.Context, st *reqState, formID string, form core.Node) core.Node {
	if pm := s.k.Plugins; pm != nil {
		form = pm.FormAlter(s.pluginContext(ctx, st, nil), formID, form, nil)
	}
	fe, _ := ctx.Value(formErrorsKey{}).(*formErrors)
	if fe == nil {
		return form
	}
	byName := map[string][]string{}
	for _, e := range fe.errs {
		byName[e.Path] = append(byName[e.Path], e.Message)
	}
	form.Children = fillForm(form.Children, byName, fe.values)
	var top []core.Node
	for _, e := range fe.errs {
		if _, left := byName[e.Path]; left {
			top = append(top, errorNode(e.Message))
			delete(byName, e.Path)
		}
	}
	form.Children = append(top, form.Children...)
	return form
}

// fillForm sets the errors of byName on the controls of that name
// (removing them from byName) and the submitted values.
func fillForm(nodes []core.Node, byName map[string][]string, values map[string][]string) []core.Node {
	out := make([]core.Node, len(nodes))
	for i, n := range nodes {
		if msgs, ok := byName[n.Name]; ok && n.Name != "" && n.Type != core.ElemHidden && n.Type != core.ElemButton {
			n.Error = strings.Join(msgs, " ")
			delete(byName, n.Name)
		}
		if v, ok := values[n.Name]; ok && len(v) > 0 && n.Name != "" {
			switch {
			case n.Type == core.ElemInput && n.InputType != "password", n.Type == core.ElemTextarea:
				n.Value = v[0]
			case n.Type == core.ElemCheckbox:
				n.Checked = v[0] != ""
			case n.Type == core.ElemSelect:
				opts := make([]core.Option, len(n.Options))
				for j, o := range n.Options {
					o.Selected = containsString(v, o.Value)
					opts[j] = o
				}
				n.Options = opts
			}
		}
		if len(n.Children) > 0 {
			n.Children = fillForm(n.Children, byName, values)
		}
		out[i] = n
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pluginFormValidate runs form_validate on a submitted kernel form (its
// parsed r.PostForm) and returns the plugins' errors, nil when there are
// none. The CSRF token and the fields named in withheld (passwords) are
// not shown to plugins.
func (s *Server) pluginFormValidate(r *http.Request, st *reqState, formID string, withheld ...string) []core.FieldError {
	pm := s.k.Plugins
	if pm == nil {
		return nil
	}
	values := map[string]string{}
	for name, v := range r.PostForm {
		if name == CSRFField || containsString(withheld, name) || len(v) == 0 {
			continue
		}
		values[name] = v[0]
	}
	return pm.FormValidate(s.pluginContext(r.Context(), st, r), formID, values)
}

// maxTileTitle bounds a plugin tile's title, in characters.
const maxTileTitle = 200

// pluginTile renders a tile whose content a plugin provides (a tile
// document with content.plugin) through the plugin's tile_view, for the
// page at path. It is what the tiles of a theme region call; ok is false,
// with a logged reason, when the plugin is not enabled, does not serve
// tile_view or fails: the page goes on without the tile.
//
// The tree is sanitized: the plugin manager decoded it strictly (no form
// elements, no full_html, allowed URL schemes, the tree's size limits;
// anything else drops the whole output), and here the title becomes one
// line of at most maxTileTitle characters without control characters, and
// headings inside are demoted below the tile's own title (level 3 or
// deeper). The page depends on the plugin set, so enabling, disabling or
// changing a plugin invalidates it.
func (s *Server) pluginTile(ctx context.Context, st *reqState, t *core.Tile, path, language string) (title string, content core.Node, ok bool) {
	pm := s.k.Plugins
	if pm == nil || t == nil || t.Content.Plugin == nil {
		return "", core.Node{}, false
	}
	src := t.Content.Plugin
	s.depend(ctx, st, core.ListTag(core.KindPlugin))
	cfg := src.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage(`{}`)
	}
	page, err := pm.TileView(s.pluginContext(ctx, st, nil), src.Plugin, kernel.TileViewInput{
		Tile: src.Tile, Region: t.Region, Path: path, Config: cfg, Language: language})
	if err != nil {
		tileProblem(ctx, t, "content.plugin", "the plugin's tile_view failed: "+core.ErrorMessage(err))
		s.log.Warn("tile left out: the plugin's tile_view failed", "tile", t.Name, "plugin", src.Plugin, "reason", core.ErrorMessage(err))
		return "", core.Node{}, false
	}
	return tileTitle(page.Title), demoteHeadings(page.Content, 3), true
}

// tileTitle makes a plugin's tile title one line of plain text.
func tileTitle(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxTileTitle {
		s = string(r[:maxTileTitle-1]) + "…"
	}
	return s
}

// demoteHeadings returns n with every heading at least at level min.
func demoteHeadings(n core.Node, min int) core.Node {
	if n.Type == core.ElemHeading && n.Level < min {
		n.Level = min
	}
	if len(n.Children) > 0 {
		kids := make([]core.Node, len(n.Children))
		for i, c := range n.Children {
			kids[i] = demoteHeadings(c, min)
		}
		n.Children = kids
	}
	if len(n.Items) > 0 {
		items := make([]core.Node, len(n.Items))
		for i, c := range n.Items {
			items[i] = demoteHeadings(c, min)
		}
		n.Items = items
	}
	return n
}
