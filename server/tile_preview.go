package server

import (
	"bytes"
	"context"
	"slices"

	"github.com/trovato/trovato/core"
)

// TilePreview is how one tile renders on one page of the site, recorded
// while the site builds that page (the API's tile preview).
type TilePreview struct {
	// Framed: the page was built with its regions (an HTML page); false
	// for a redirect, a file or a feed, where no tile can show.
	Framed bool
	// Visible: the tile's visibility rules (and disabled) select the page
	// for its visitor.
	Visible bool
	// OnPage: the page has the tile in its region (visible, its source
	// gave something, and the page does not show the tile's own gather).
	OnPage bool
	// HTML is the tile's markup in its region, byte for byte what the
	// page holds when OnPage; when the tile is not on this page it is
	// what the tile would render there all the same ("" when its source
	// gives nothing).
	HTML string
	// Problems are why the source gave nothing, by field path in the
	// tile document (content.gather.gather, content.plugin, ...).
	Problems []core.FieldError
}

type tilePreviewKey struct{}

// tileCapture is a tile preview in progress: the tile put on the page in
// place of the stored one of the same name, its node once built.
type tileCapture struct {
	tile *core.Tile
	node *core.Node // built for the preview only (not on the page)
	// index is the tile's place in its region when it is on the page.
	index int
	done  bool // the page's tile loop built it
	out   *TilePreview
}

// WithTilePreview returns a context under which the site, building a page
// in answer to a request made with it, shows t in place of the stored tile
// of the same name (an unsaved definition, or the stored one), and records
// in the returned TilePreview how t renders there. Read it once the
// request is served.
func WithTilePreview(ctx context.Context, t *core.Tile) (context.Context, *TilePreview) {
	out := &TilePreview{}
	return context.WithValue(ctx, tilePreviewKey{}, &tileCapture{tile: t, out: out}), out
}

func tileCaptureOf(ctx context.Context) *tileCapture {
	c, _ := ctx.Value(tilePreviewKey{}).(*tileCapture)
	return c
}

// is reports whether t is the previewed tile.
func (c *tileCapture) is(t *core.Tile) bool { return c != nil && c.tile == t }

// substitute returns the request's tiles with the previewed one in place
// of the stored one of its name, or added in name order when none is
// stored.
func (c *tileCapture) substitute(tiles []*core.Tile) []*core.Tile {
	out := make([]*core.Tile, 0, len(tiles)+1)
	at := -1 // where the previewed tile goes
	for _, t := range tiles {
		if t.Name == c.tile.Name {
			at = len(out)
			continue
		}
		out = append(out, t)
	}
	if at < 0 {
		at = len(out)
		for i, t := range out {
			if t.Name > c.tile.Name {
				at = i
				break
			}
		}
	}
	return slices.Insert(out, at, c.tile)
}

// tileProblem records why the previewed tile's source gave nothing.
func tileProblem(ctx context.Context, t *core.Tile, path, msg string) {
	if c := tileCaptureOf(ctx); c.is(t) {
		c.out.Problems = append(c.out.Problems, core.FieldError{Path: path, Message: msg})
	}
}

// previewHiddenTile builds the previewed tile's node when the page's tile
// loop left it out (not visible there, or the page shows its gather), so
// the preview still shows what it renders.
func (s *Server) previewHiddenTile(ctx context.Context, st *reqState, cfg *siteConfig, current []string) error {
	c := tileCaptureOf(ctx)
	if c == nil || c.done {
		return nil
	}
	c.done = true
	title, body, ok, err := s.tileContent(ctx, st, cfg, c.tile, current)
	if err != nil || !ok {
		return err
	}
	if c.tile.Title != nil {
		title = *c.tile.Title
	}
	n := tileNode(c.tile, title, body, 1)
	c.node = &n
	return nil
}

// placed records that the previewed tile is on the page, at index in its
// region.
func (c *tileCapture) placed(t *core.Tile, index int) {
	if c.is(t) {
		c.done, c.index, c.out.OnPage = true, index, true
	}
}

// finishTilePreview renders the previewed tile's node once the page's
// links carry their aliases (regions are the page's): the bytes its
// region holds.
func (s *Server) finishTilePreview(ctx context.Context, st *reqState, regions map[string][]core.Node) error {
	c := tileCaptureOf(ctx)
	if c == nil {
		return nil
	}
	c.out.Framed = true
	var n core.Node
	switch {
	case c.out.OnPage:
		n = regions[c.tile.Region][c.index]
	case c.node != nil:
		// Not on the page: its links get their aliases here.
		nodes := []core.Node{*c.node}
		if err := s.aliasLinks(ctx, st, map[string][]core.Node{c.tile.Region: nodes}); err != nil {
			return err
		}
		n = nodes[0]
	default:
		return nil
	}
	var b bytes.Buffer
	if err := s.r.RenderNode(ctx, &b, n); err != nil {
		c.out.Problems = append(c.out.Problems, core.FieldError{Path: "content", Message: "does not render: " + core.ErrorMessage(err)})
		return nil
	}
	c.out.HTML = b.String()
	return nil
}
