package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
)

// FrontGather is the gather shown on "/" when the site settings name no
// front page, or name the path of one of this gather's page displays.
const FrontGather = "front"

// siteGathers is every parsed gather document (siteConfig: one query,
// parsed again only when a document's version changed).
func (s *Server) siteGathers(ctx context.Context, st *reqState) ([]*core.Gather, error) {
	cfg, err := s.siteConfig(ctx, st)
	if err != nil {
		return nil, err
	}
	return cfg.gathers, nil
}

// matchGather finds the gather display a path is.
func matchGather(gs []*core.Gather, p string) (*core.Gather, *core.GatherDisplay, []string, int, bool) {
	for _, g := range gs {
		if d, args, page, ok := g.MatchPath(p); ok {
			return g, d, args, page, true
		}
	}
	return nil, nil, nil, 0, false
}

// notAlias serves a path that is no alias: a gather display, else a 301
// to where a former alias went, else 404.
func (s *Server) notAlias(w http.ResponseWriter, r *http.Request, st *reqState, p string) error {
	ctx := r.Context()
	if ok, err := s.special(w, r, st, p); ok {
		return err
	}
	gs, err := s.siteGathers(ctx, st)
	if err != nil {
		return err
	}
	if g, d, args, page, ok := matchGather(gs, p); ok {
		if d.Type == "feed" {
			return s.gatherFeed(w, r, st, g, d, args)
		}
		return s.gatherPage(w, r, st, g, d, args, page, p)
	}
	if base, n, ok := pagedPath(p); ok {
		internal := base
		if _, _, isInternal := parseInternal(base); !isInternal {
			s.dependAliases(ctx, st, []string{base})
			internal, _, err = s.resolveAlias(ctx, st, base)
		}
		if kind, id, ok := parseInternal(internal); err == nil && ok && kind == "term" {
			st.page = n
			return s.termPage(w, r, st, id, base)
		}
	}
	if st.preview == nil {
		ss, err := s.settings(ctx, st)
		if err != nil {
			return err
		}
		s.depend(ctx, st, core.ListTag(core.KindAlias))
		to, err := s.k.Store.FindRedirect(ctx, p, ss.Language)
		if err == nil && to != p {
			return redirect(w, r, to)
		}
		if err != nil && core.ErrorCode(err) != core.ENotFound {
			return err
		}
	}
	if served, err := s.pluginPage(w, r, st, p); served {
		return err
	}
	return core.Errorf(core.ENotFound, "page not found")
}

// pagedPath splits base/page/N (N ≥ 2, canonical digits).
func pagedPath(p string) (string, int, bool) {
	i := strings.LastIndex(p, "/page/")
	if i <= 0 {
		return "", 0, false
	}
	num := p[i+len("/page/"):]
	n, err := strconv.Atoi(num)
	if err != nil || n < 2 || strconv.Itoa(n) != num {
		return "", 0, false
	}
	return p[:i], n, true
}

// frontGather serves "/" from a gather when the settings ask for one:
// front_page empty (the gather named front) or the path of a gather's
// page display. ok is false when "/" is not a gather.
func (s *Server) frontGather(w http.ResponseWriter, r *http.Request, st *reqState, fp string) (bool, error) {
	ctx := r.Context()
	gs, err := s.siteGathers(ctx, st)
	if err != nil {
		return false, err
	}
	if fp == "" || fp == "/" {
		for _, g := range gs {
			if g.Name != FrontGather {
				continue
			}
			for i := range g.Displays {
				if d := &g.Displays[i]; d.Type == "page" {
					return true, s.gatherPage(w, r, st, g, d, nil, 1, "/")
				}
			}
		}
		return false, nil
	}
	g, d, args, page, ok := matchGather(gs, fp)
	if !ok || d.Type != "page" || page != 1 {
		return false, nil
	}
	return true, s.gatherPage(w, r, st, g, d, args, 1, "/")
}

// exposedValues reads the exposed filters' inputs from the query string.
func exposedValues(r *http.Request, filters []core.ExposedFilter) map[string]string {
	q, _ := parseQuery(r.URL.RawQuery)
	out := map[string]string{}
	for _, f := range filters {
		if v := q.Get(f.Name); v != "" {
			out[f.Name] = v
		}
	}
	return out
}

// gatherPage renders page n of a gather's page display at public.
func (s *Server) gatherPage(w http.ResponseWriter, r *http.Request, st *reqState, g *core.Gather, d *core.GatherDisplay, args []string, page int, public string) error {
	ctx := r.Context()
	filters, err := s.exposedFilters(ctx, st, g)
	if err != nil {
		return err
	}
	exposed := exposedValues(r, filters)
	probe := s.dependListing(ctx, st, s.listingTags(ctx, g, exposed))
	if page > core.GatherMaxPage {
		return core.Errorf(core.ENotFound, "page not found")
	}
	res, err := s.runGather(ctx, st, g, core.GatherArgs{PathArgs: args, Exposed: exposed, Page: page, Display: d.Name})
	if err != nil {
		return err
	}
	if page > 1 && page > res.Pages {
		return core.Errorf(core.ENotFound, "page not found")
	}
	s.dependShown(ctx, st, probe, res.Items, true)
	counts, err := s.listingComments(ctx, st, res.Items)
	if err != nil {
		return err
	}
	ss, err := s.settings(ctx, st)
	if err != nil {
		return err
	}
	title := d.Title
	if title == "" {
		title = g.Label
	}
	if title == "" {
		title = g.Name
	}
	self := d.PagePath(args, page)
	if public == "/" && page == 1 {
		self = "/"
	}
	var content []core.Node
	if form := exposedForm(filters, exposed, d.PagePath(args, 1)); form != nil {
		content = append(content, *form)
	}
	content = append(content, teaserList(res.Items, counts, "Nothing to show here yet.")...)
	if pg := pager(res.Page, res.Pages, func(n int) string {
		p := d.PagePath(args, n)
		if n == 1 && public == "/" {
			p = "/"
		}
		p = href(p)
		if r.URL.RawQuery != "" {
			p += "?" + r.URL.RawQuery
		}
		return p
	}); pg != nil {
		content = append(content, *pg)
	}
	var lastMod time.Time
	for _, it := range res.Items {
		if it.ChangedAt.After(lastMod) {
			lastMod = it.ChangedAt
		}
	}
	p := render.Page{
		Title: title, CanonicalURL: ss.canonical(self),
		Regions:     map[string][]core.Node{"content": content},
		Feeds:       gatherFeedLinks(g, args),
		Suggestions: []string{"page--gather--" + g.Name, "page--gather"},
		BodyClasses: []string{"page-gather", "page-gather--" + cssName(g.Name)},
	}
	if public == "/" {
		p.Suggestions = append([]string{"page--front"}, p.Suggestions...)
		p.BodyClasses = append(p.BodyClasses, "page-front")
	}
	if page > 1 {
		p.Title = title + " (page " + strconv.Itoa(page) + ")"
	}
	st.tileGather = g.Name
	if err := s.frame(ctx, st, &p, public, d.PagePath(args, 1)); err != nil {
		return err
	}
	return s.sendPage(w, r, st, http.StatusOK, p, lastMod)
}

// listingTags are the tags a gather's result depends on besides the items
// it shows (core.ListingTag): items:* (a change whose delta is unknown),
// the item set of each of its types and the properties and fields it
// filters and sorts on (exposed: the exposed filters' inputs). A gather whose result depends on more than the
// listed items' own values depends on every item change (item:*): one
// with relationships or a search, and every gather while a plugin extends
// gathers or computes item grants.
func (s *Server) listingTags(ctx context.Context, g *core.Gather, exposed map[string]string) []string {
	anyChange := []string{core.ListTag(core.KindItem)}
	if len(g.Relationships) > 0 {
		return anyChange
	}
	if p := s.k.Plugins; p != nil && (p.Implements(ctx, "gather_extend") || p.Implements(ctx, "item_grants")) {
		return anyChange
	}
	var names []string
	for _, f := range g.Filters {
		if f.Exposed != nil && len(f.Value) == 0 && f.Op != core.OpEmpty && f.Op != core.OpNotEmpty &&
			strings.TrimSpace(exposed[f.Exposed.Name]) == "" {
			continue // an exposed filter left blank is left out
		}
		if f.Relationship != "" || f.Op == core.OpSearch {
			return anyChange
		}
		names = append(names, f.Field)
	}
	if len(g.Sorts) == 0 {
		names = append(names, "sticky", "created") // the default order
	}
	for _, o := range g.Sorts {
		if o.Relationship != "" || o.Field == "rank" {
			return anyChange
		}
		names = append(names, o.Field)
	}
	types := g.Types
	if len(types) == 0 {
		types = []string{core.AllTypes}
	}
	tags := []string{core.ListTag(core.ListingKind)}
	for _, t := range types {
		tags = append(tags, core.ListingTag(t))
		for _, n := range names {
			// An item's id never changes; a change of type is a
			// change of membership.
			if n != "id" && n != "type" {
				tags = append(tags, core.ListingFieldTag(t, n))
			}
		}
	}
	return tags
}

// gatherNeedsArgs reports whether a gather's filters use path arguments.
func gatherNeedsArgs(g *core.Gather) bool { return postgres.GatherUsesPathArgs(g) }

// teaserList is the items as teasers with their comment counts, or a
// note when there are none.
func teaserList(items []*core.Item, counts commentCounts, empty string) []core.Node {
	if len(items) == 0 {
		return []core.Node{{Type: core.ElemParagraph, Attrs: map[string]string{"class": "empty"}, Text: empty}}
	}
	teasers := make([]core.Node, 0, len(items))
	for _, it := range items {
		teasers = append(teasers, counts.withCount(teaser(it, itemPath(it.ID)), it.ID))
	}
	return []core.Node{{Type: core.ElemContainer, Attrs: map[string]string{"class": "teasers"}, Children: teasers}}
}

// exposedForm is a GET form for a gather's exposed filters (no token:
// the page is the same bytes for everyone).
func exposedForm(filters []core.ExposedFilter, values map[string]string, action string) *core.Node {
	if len(filters) == 0 {
		return nil
	}
	var fields []core.Node
	for _, f := range filters {
		label := f.Label
		if label == "" {
			label = f.Name
		}
		if len(f.Options) > 0 && !f.Multiple {
			opts := []core.Option{{Value: "", Label: "Any"}}
			for _, o := range f.Options {
				opts = append(opts, core.Option{Value: o, Label: o, Selected: values[f.Name] == o})
			}
			fields = append(fields, core.Node{Type: core.ElemSelect, Name: f.Name, Label: label, Options: opts})
			continue
		}
		typ := "text"
		switch f.ValueType {
		case "integer", "decimal":
			typ = "number"
		case "date":
			typ = "date"
		}
		if f.Op == core.OpSearch {
			typ = "search"
		}
		fields = append(fields, core.Node{Type: core.ElemInput, InputType: typ, Name: f.Name, Label: label, Value: values[f.Name], MaxLength: 1024})
	}
	fields = append(fields, core.Node{Type: core.ElemButton, Text: "Apply"})
	return &core.Node{Type: core.ElemForm, Method: "get", Action: action, Attrs: map[string]string{"class": "gather-filters", "role": "search"}, Children: fields}
}

// pager links the pages around the current one; link(n) is page n's URL.
func pager(cur, pages int, link func(int) string) *core.Node {
	if pages <= 1 {
		return nil
	}
	var items []core.Node
	if cur > 1 {
		items = append(items, core.Node{Type: core.ElemLink, Href: link(min(cur-1, pages)), Text: "‹ Previous", Attrs: map[string]string{"rel": "prev"}})
	}
	for n := max(1, cur-3); n <= min(pages, cur+3); n++ {
		if n == cur {
			items = append(items, core.Node{Type: core.ElemText, Text: "Page " + strconv.Itoa(n)})
			continue
		}
		items = append(items, core.Node{Type: core.ElemLink, Href: link(n), Text: strconv.Itoa(n)})
	}
	if cur < pages {
		items = append(items, core.Node{Type: core.ElemLink, Href: link(cur + 1), Text: "Next ›", Attrs: map[string]string{"rel": "next"}})
	}
	for i := range items {
		items[i].Weight = i
	}
	return &core.Node{Type: core.ElemContainer, Tag: "nav", Attrs: map[string]string{"class": "pager", "aria-label": "Pages"},
		Children: []core.Node{{Type: core.ElemList, Items: items}}}
}

// gatherFeedLinks are the <link rel="alternate"> of a gather's feeds.
func gatherFeedLinks(g *core.Gather, args []string) []render.FeedLink {
	var out []render.FeedLink
	for i := range g.Displays {
		d := &g.Displays[i]
		if d.Type != "feed" {
			continue
		}
		typ := "application/rss+xml"
		if d.Format == "atom" {
			typ = "application/atom+xml"
		}
		title := d.Title
		if title == "" {
			title = g.Label
		}
		out = append(out, render.FeedLink{Title: title, Href: (&url.URL{Path: d.PagePath(args, 1)}).EscapedPath(), Type: typ})
	}
	return out
}
