package server

import (
	"context"
	"strings"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/render"
)

// MainMenu is the menu shown in the navigation region.
const MainMenu = "main"

// frame adds what every page has around its content: the site name and
// language, the signed-in menu island, the main menu with the active
// trail, breadcrumbs, the tiles the page shows (tiles.go) and the
// preview banner. current are the paths that
// mean this page (its public path and its internal path).
func (s *Server) frame(ctx context.Context, st *reqState, p *render.Page, current ...string) error {
	ss, err := s.settings(ctx, st)
	if err != nil {
		return err
	}
	p.SiteName = ss.Name
	p.IslandOrigin = ss.IslandOrigin
	if p.Lang == "" {
		p.Lang = ss.Language
	}
	if p.Regions == nil {
		p.Regions = map[string][]core.Node{}
	}
	p.Regions["header"] = append(p.Regions["header"], userMenuIsland())
	menu, trail, err := s.mainMenu(ctx, st, current)
	if err != nil {
		return err
	}
	if menu != nil {
		p.Regions["navigation"] = append(p.Regions["navigation"], *menu)
	}
	front := false
	for _, c := range current {
		front = front || c == "/"
	}
	if !front {
		p.Regions["highlighted"] = append(p.Regions["highlighted"], breadcrumb(trail, p.Title))
	}
	p.Regions["footer"] = append(p.Regions["footer"], core.Node{Type: core.ElemParagraph, Text: "Powered by Trovato"})
	if err := s.tiles(ctx, st, p, current); err != nil {
		return err
	}
	if st.preview != nil {
		label := st.preview.Label
		if label == "" {
			label = st.preview.Name
		}
		p.Preview = &render.Preview{Stage: label, ExitURL: "/_preview/exit"}
	}
	if err := s.aliasLinks(ctx, st, p.Regions); err != nil {
		return err
	}
	return s.finishTilePreview(ctx, st, p.Regions) // tile_preview.go
}

// userMenuIsland is the same placeholder on every page: a link to sign
// in, replaced by the signed-in menu from /_island/user-menu.
func userMenuIsland() core.Node {
	return core.Node{Type: core.ElemIsland, Name: "user-menu", Href: "/user/login", Text: "Sign in",
		Attrs: map[string]string{"class": "user-menu"}}
}

type menuEntry struct {
	link     core.MenuLink
	href     string
	children []*menuEntry
	parent   *menuEntry
	active   bool
}

// crumb is one step of the active trail.
type crumb struct{ title, href string }

// mainMenu builds the main menu as nested lists, marks the link of the
// current page (aria-current) and its ancestors, and returns the trail
// above the current page for the breadcrumbs. Links keep their internal
// paths; aliasLinks rewrites them with the rest of the page.
func (s *Server) mainMenu(ctx context.Context, st *reqState, current []string) (*core.Node, []crumb, error) {
	if err := s.ensureLoaded(ctx, st); err != nil {
		return nil, nil, err
	}
	if len(st.data.MenuLinks) == 0 {
		return nil, nil, nil
	}
	n, trail := menuTree(st.data.MenuLinks, current, 8)
	n.Attrs = map[string]string{"class": "menu menu--main"}
	return &n, trail, nil
}

// menuTree builds a menu's links as nested lists, at most depth levels,
// marking the current page's link and its ancestors; trail is the path
// above the current page.
func menuTree(links []*core.MenuLink, current []string, depth int) (core.Node, []crumb) {
	byID := make(map[core.ID]*menuEntry, len(links))
	entries := make([]*menuEntry, len(links))
	for i, l := range links {
		entries[i] = &menuEntry{link: *l, href: l.Path}
		byID[l.ID] = entries[i]
	}
	var roots []*menuEntry
	var active *menuEntry
	for _, e := range entries {
		for _, c := range current {
			if active == nil && c == e.link.Path {
				e.active, active = true, e
			}
		}
		if e.link.ParentID != nil && byID[*e.link.ParentID] != nil {
			e.parent = byID[*e.link.ParentID]
			e.parent.children = append(e.parent.children, e)
		} else {
			roots = append(roots, e)
		}
	}
	inTrail := map[*menuEntry]bool{}
	var trail []crumb
	if active != nil {
		for e := active.parent; e != nil && !inTrail[e]; e = e.parent {
			inTrail[e] = true
			trail = append([]crumb{{title: e.link.Title, href: e.href}}, trail...)
		}
	}
	return menuList(roots, inTrail, 0, depth), trail
}

// aliasLinks replaces the internal paths (/item/ID, /term/ID) that links
// in the trees point to with their aliases in the request's stage, in one
// query for the whole page.
func (s *Server) aliasLinks(ctx context.Context, st *reqState, regions map[string][]core.Node) error {
	seen := map[string]bool{}
	var paths []string
	visit := func(n *core.Node) {
		if n.Type != core.ElemLink {
			return
		}
		p, _, _ := strings.Cut(n.Href, "#") // /item/ID#comments
		if !seen[p] {
			if _, _, ok := parseInternal(p); ok {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	for _, nodes := range regions {
		walkNodes(nodes, visit)
	}
	if len(paths) == 0 {
		return nil
	}
	s.dependAliases(ctx, st, paths)
	aliases, err := s.aliasesOf(ctx, st, paths)
	if err != nil || len(aliases) == 0 {
		return err
	}
	for _, nodes := range regions {
		walkNodes(nodes, func(n *core.Node) {
			if n.Type == core.ElemLink {
				p, frag, hasFrag := strings.Cut(n.Href, "#")
				if a, ok := aliases[p]; ok {
					n.Href = href(a)
					if hasFrag {
						n.Href += "#" + frag
					}
				}
			}
		})
	}
	return nil
}

// walkNodes calls fn on every node of the trees, depth first.
func walkNodes(nodes []core.Node, fn func(*core.Node)) {
	for i := range nodes {
		n := &nodes[i]
		fn(n)
		walkNodes(n.Children, fn)
		walkNodes(n.Items, fn)
		for _, rows := range [][]core.Row{n.Head, n.Body} {
			for r := range rows {
				for c := range rows[r].Cells {
					walkNodes(rows[r].Cells[c].Children, fn)
				}
			}
		}
	}
}

// menuList renders one level of the menu.
func menuList(entries []*menuEntry, inTrail map[*menuEntry]bool, depth, maxDepth int) core.Node {
	list := core.Node{Type: core.ElemList, Attrs: map[string]string{"class": "menu"}}
	for i, e := range entries {
		link := core.Node{Type: core.ElemLink, Href: e.href, Text: e.link.Title}
		switch {
		case e.active:
			link.Attrs = map[string]string{"aria-current": "page", "class": "is-active"}
		case inTrail[e]:
			link.Attrs = map[string]string{"class": "is-active-trail"}
		}
		item := link
		if len(e.children) > 0 && depth+1 < maxDepth {
			item = core.Node{Type: core.ElemContainer, Children: []core.Node{link, menuList(e.children, inTrail, depth+1, maxDepth)}}
		}
		item.Weight = i
		list.Items = append(list.Items, item)
	}
	return list
}

// breadcrumb is Home, the menu trail above the page, then the page.
func breadcrumb(trail []crumb, title string) core.Node {
	items := []core.Node{{Type: core.ElemLink, Href: "/", Text: "Home"}}
	for _, c := range trail {
		items = append(items, core.Node{Type: core.ElemLink, Href: c.href, Text: c.title})
	}
	if title != "" {
		items = append(items, core.Node{Type: core.ElemText, Text: title})
	}
	for i := range items {
		items[i].Weight = i
	}
	return core.Node{Type: core.ElemContainer, Tag: "nav", Attrs: map[string]string{"class": "breadcrumb", "aria-label": "Breadcrumb"},
		Children: []core.Node{{Type: core.ElemList, Ordered: true, Items: items}}}
}
