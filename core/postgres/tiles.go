package postgres

import (
	"context"
	"fmt"

	"github.com/trovato/trovato/core"
)

// FindConfigsOfKinds lists the documents of several kinds in one query,
// ordered by kind and name.
func (c *Config) FindConfigsOfKinds(ctx context.Context, kinds ...string) ([]*core.ConfigDocument, error) {
	rows, err := c.s.pool.Query(ctx, `SELECT `+configColumns+` FROM config_doc WHERE kind = ANY($1) ORDER BY kind, name`, kinds)
	if err != nil {
		return nil, fmt.Errorf("find config: %w", TranslateError(err))
	}
	defer rows.Close()
	var out []*core.ConfigDocument
	for rows.Next() {
		d, err := scanConfig(rows)
		if err != nil {
			return nil, fmt.Errorf("find config: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// FindTile returns a stored tile. ENOTFOUND when there is none.
func (s *Store) FindTile(ctx context.Context, name string) (*core.Tile, error) {
	d, err := s.Config().FindConfig(ctx, "tile", name)
	if err != nil {
		if core.ErrorCode(err) == core.ENotFound {
			return nil, core.Errorf(core.ENotFound, "tile %q not found", name)
		}
		return nil, err
	}
	return core.TileFromConfig(d)
}

// FindTiles lists the stored tiles by name. A document that does not
// parse is an error naming it.
func (s *Store) FindTiles(ctx context.Context) ([]*core.Tile, error) {
	docs, err := s.Config().FindConfigs(ctx, "tile")
	if err != nil {
		return nil, err
	}
	out := make([]*core.Tile, 0, len(docs))
	for _, d := range docs {
		t, err := core.TileFromConfig(d)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// CheckTile checks what a tile refers to against the stored config: its
// gather exists, takes no path arguments and has the named display; its
// menu exists. Plugin tiles are checked when they render (plugins come
// and go at run time). Errors: EInvalid naming the field.
func (s *Store) CheckTile(ctx context.Context, t *core.Tile) error {
	bad := func(path, format string, args ...any) error {
		return core.InvalidFields("the tile refers to something that does not exist", []core.FieldError{{Path: path, Message: fmt.Sprintf(format, args...)}})
	}
	c := t.Content
	switch {
	case c.Gather != nil:
		g, err := s.FindGather(ctx, c.Gather.Gather)
		if core.ErrorCode(err) == core.ENotFound {
			return bad("content.gather.gather", "no gather %q (see: trovato gather list)", c.Gather.Gather)
		} else if err != nil {
			return err
		}
		if GatherUsesPathArgs(g) {
			return bad("content.gather.gather", "gather %q takes path arguments, which a tile cannot give", g.Name)
		}
		if d := c.Gather.Display; d != "" && g.Display(d) == nil {
			return bad("content.gather.display", "gather %q has no display %q", g.Name, d)
		}
	case c.Menu != nil:
		if _, err := s.Config().FindConfig(ctx, "menu", c.Menu.Menu); core.ErrorCode(err) == core.ENotFound {
			return bad("content.menu.menu", "no menu %q", c.Menu.Menu)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// GatherUsesPathArgs reports whether a gather's filters use path
// arguments ({arg0}…): such a gather can only run at its page's path.
func GatherUsesPathArgs(g *core.Gather) bool {
	for _, f := range g.Filters {
		v := f.Value
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if _, ok := core.GatherPathArg(string(v)); ok {
			return true
		}
	}
	return false
}
