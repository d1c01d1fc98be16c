package server

import (
	"context"
	"net/http"
	"time"

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
// and item calls read its stage).
func (s *Server) pluginContext(ctx context.Context, st *reqState, r *http.Request) context.Context {
	stage := core.StageLive
	if st.preview != nil {
		stage = st.preview.Name
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
