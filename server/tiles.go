package server

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
)

// siteConfig is the parsed gathers and tiles one request uses, read in
// one query.
type siteConfig struct {
	gathers []*core.Gather
	tiles   []*core.Tile
}

// parsedCache keeps parsed gather and tile documents by name and config
// version, so a page parses (and validates against its schema) only the
// documents that changed since the last request.
type parsedCache struct {
	mu      sync.Mutex
	gathers map[string]*core.Gather
	tiles   map[string]*core.Tile
}

// siteConfig reads every gather and tile document once per request and
// parses those whose version the cache does not hold. A document that
// does not parse is skipped and logged.
func (s *Server) siteConfig(ctx context.Context, st *reqState) (*siteConfig, error) {
	if st.config != nil {
		return st.config, nil
	}
	s.depend(ctx, st, core.ListTag(core.KindConfig))
	docs, err := s.gatherTileDocs(ctx, st)
	if err != nil {
		return nil, err
	}
	out := &siteConfig{}
	c := &s.parsed
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gathers == nil {
		c.gathers, c.tiles = map[string]*core.Gather{}, map[string]*core.Tile{}
	}
	seen := map[string]bool{}
	for _, d := range docs {
		seen[d.Kind+"/"+d.Name] = true
		switch d.Kind {
		case "gather":
			g := c.gathers[d.Name]
			if g == nil || g.Version != d.Version {
				if g, err = core.GatherFromConfig(d); err != nil {
					s.log.Warn("gather does not parse; skipped", "gather", d.Name, "reason", core.ErrorMessage(err))
					continue
				}
				c.gathers[d.Name] = g
			}
			out.gathers = append(out.gathers, g)
		case "tile":
			t := c.tiles[d.Name]
			if t == nil || t.Version != d.Version {
				if t, err = core.TileFromConfig(d); err != nil {
					s.log.Warn("tile does not parse; skipped", "tile", d.Name, "reason", core.ErrorMessage(err))
					continue
				}
				c.tiles[d.Name] = t
			}
			out.tiles = append(out.tiles, t)
		}
	}
	for name := range c.gathers {
		if !seen["gather/"+name] {
			delete(c.gathers, name)
		}
	}
	for name := range c.tiles {
		if !seen["tile/"+name] {
			delete(c.tiles, name)
		}
	}
	st.config = out
	return out, nil
}

// tiles places every tile whose visibility rules select this page in
// its region, after the region's other nodes, ordered by weight and name.
// current are the page's paths (public, then internal); st.tileType is a
// full item page's type and st.tileGather the gather a gather page shows
// (tiles of that gather are left out there). A tile whose source is gone
// or fails is left out and logged; the page goes on.
func (s *Server) tiles(ctx context.Context, st *reqState, p *render.Page, current []string) error {
	cfg, err := s.siteConfig(ctx, st)
	if err != nil {
		return err
	}
	page := core.TilePage{Paths: current, ItemType: st.tileType, User: st.user}
	all, preview := cfg.tiles, tileCaptureOf(ctx) // tile_preview.go
	if preview != nil {
		all = preview.substitute(all)
	}
	var shown []*core.Tile
	for _, t := range all {
		if t.Visible(page) {
			shown = append(shown, t)
			if preview.is(t) {
				preview.out.Visible = true
			}
		}
	}
	sort.SliceStable(shown, func(i, j int) bool { return shown[i].Weight < shown[j].Weight })
	if p.Regions == nil {
		p.Regions = map[string][]core.Node{}
	}
	for _, t := range shown {
		if t.Content.Gather != nil && t.Content.Gather.Gather == st.tileGather {
			continue
		}
		s.depend(ctx, st, core.EntityTag(core.KindConfig, "tile/"+t.Name))
		title, body, ok, err := s.tileContent(ctx, st, cfg, t, current)
		if err != nil {
			return err
		}
		if preview.is(t) {
			preview.done = true
		}
		if !ok {
			continue
		}
		if t.Title != nil {
			title = *t.Title
		}
		p.Regions[t.Region] = append(p.Regions[t.Region], tileNode(t, title, body, len(p.Regions[t.Region])+1))
		preview.placed(t, len(p.Regions[t.Region])-1)
	}
	return s.previewHiddenTile(ctx, st, cfg, current)
}

// tileNode wraps a tile's content: a section with its heading, or a
// plain container without one.
func tileNode(t *core.Tile, title string, body []core.Node, weight int) core.Node {
	n := core.Node{Type: core.ElemContainer, Weight: weight,
		Attrs: map[string]string{"class": "tile tile--" + cssName(t.Name) + " tile--" + t.Content.Source()}}
	if title != "" {
		n.Tag = "section"
		id := "tile-" + cssName(t.Name) + "-title"
		n.Attrs["aria-labelledby"] = id
		n.Children = append(n.Children, core.Node{Type: core.ElemHeading, Level: 2, Text: title, Attrs: map[string]string{"id": id}})
	}
	n.Children = append(n.Children, body...)
	return n
}

var reNotIDChar = regexp.MustCompile(`[^a-z0-9-]+`)

// tileIDPrefix is the id_prefix of a text tile's headings and footnotes:
// "tile-", the name in id characters, "-"; at most 32 characters.
func tileIDPrefix(name string) string {
	p := "tile-" + strings.Trim(reNotIDChar.ReplaceAllString(name, "-"), "-")
	if len(p) > 31 {
		p = strings.TrimRight(p[:31], "-")
	}
	return p + "-"
}

// tileContent renders one tile's source. ok is false when the tile shows
// nothing (an empty listing, a missing source: logged).
func (s *Server) tileContent(ctx context.Context, st *reqState, cfg *siteConfig, t *core.Tile, current []string) (title string, body []core.Node, ok bool, err error) {
	c := t.Content
	switch {
	case c.Gather != nil:
		var g *core.Gather
		for _, cand := range cfg.gathers {
			if cand.Name == c.Gather.Gather {
				g = cand
			}
		}
		if g == nil || postgres.GatherUsesPathArgs(g) {
			tileProblem(ctx, t, "content.gather.gather", "the gather is missing or takes path arguments")
			s.log.Warn("tile left out: its gather is missing or takes path arguments", "tile", t.Name, "gather", c.Gather.Gather)
			return "", nil, false, nil
		}
		title = g.Label
		run := g
		if c.Gather.Display != "" {
			d := g.Display(c.Gather.Display)
			if d == nil {
				tileProblem(ctx, t, "content.gather.display", "the gather has no such display")
				s.log.Warn("tile left out: no such gather display", "tile", t.Name, "gather", g.Name, "display", c.Gather.Display)
				return "", nil, false, nil
			}
			if d.Title != "" {
				title = d.Title
			}
		}
		// A tile shows one page and no count: the database stops at the
		// page's end (the five latest of 10,000 articles: five rows read
		// through an index, not all of them counted).
		args := core.GatherArgs{Display: c.Gather.Display, NoTotal: true}
		if c.Gather.Items > 0 {
			cp := *g
			cp.Pager.PerPage = c.Gather.Items
			cp.Displays = nil
			run = &cp
			args.Display = ""
		}
		probe := s.dependListing(ctx, st, s.listingTags(ctx, run, nil))
		res, err := s.runGather(ctx, st, run, args)
		if err != nil {
			tileProblem(ctx, t, "content.gather.gather", "the gather failed: "+core.ErrorMessage(err))
			s.log.Warn("tile left out", "tile", t.Name, "gather", g.Name, "reason", core.ErrorMessage(err))
			return "", nil, false, nil
		}
		s.dependShown(ctx, st, probe, res.Items, true)
		if len(res.Items) == 0 {
			return "", nil, false, nil
		}
		links := make([]core.Node, 0, len(res.Items))
		for _, it := range res.Items {
			links = append(links, core.Node{Type: core.ElemLink, Href: itemPath(it.ID), Text: it.Title})
		}
		return title, []core.Node{{Type: core.ElemList, Items: links}}, true, nil
	case c.Menu != nil:
		var links []*core.MenuLink
		if err := s.ensureLoaded(ctx, st); err != nil {
			return "", nil, false, err
		}
		if c.Menu.Menu == MainMenu {
			links = st.data.MenuLinks
		} else if links, err = s.menuLinks(ctx, st, c.Menu.Menu); err != nil {
			return "", nil, false, err
		}
		if len(links) == 0 {
			return "", nil, false, nil
		}
		depth := c.Menu.Depth
		if depth == 0 {
			depth = 8
		}
		n, _ := menuTree(links, current, depth)
		n.Attrs = map[string]string{"class": "menu menu--" + cssName(c.Menu.Menu)}
		return t.Label, []core.Node{n}, true, nil
	case c.Text != nil:
		format := c.Text.Format
		if format == "" {
			format = render.FormatMarkdown
		}
		return t.Label, []core.Node{{Type: core.ElemText, Format: format, Text: c.Text.Body, IDPrefix: tileIDPrefix(t.Name)}}, true, nil
	case c.Plugin != nil:
		ss, err := s.settings(ctx, st)
		if err != nil {
			return "", nil, false, err
		}
		path := ""
		if len(current) > 0 {
			path = current[0]
		}
		title, body, ok := s.pluginTile(ctx, st, t, path, ss.Language) // server/plugins.go
		if !ok {
			return "", nil, false, nil
		}
		return title, []core.Node{body}, true, nil
	}
	return "", nil, false, nil
}
