package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Tile is content placed in a theme region (Drupal's block): a config
// document of kind tile (docs/site.md, core/schemas/tile.schema.json).
type Tile struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Description string `json:"description,omitempty"`
	// Title is the heading above the tile; nil means the source's own
	// title (the gather display's, the menu's label, the plugin's), ""
	// means no heading.
	Title      *string        `json:"title,omitempty"`
	Region     string         `json:"region"`
	Weight     int            `json:"weight,omitempty"`
	Disabled   bool           `json:"disabled,omitempty"`
	Visibility TileVisibility `json:"visibility,omitzero"`
	Content    TileContent    `json:"content"`
	// Version is the config document's version; not part of the document.
	Version int `json:"-"`
}

// TileVisibility selects the pages a tile shows on. Every rule given must
// match; an empty rule matches every page.
type TileVisibility struct {
	Pages  []string `json:"pages,omitempty"`  // path patterns: * any characters, <front>
	Except []string `json:"except,omitempty"` // path patterns the tile never shows on
	Roles  []string `json:"roles,omitempty"`  // the visitor holds one of them
	Types  []string `json:"types,omitempty"`  // the page is an item of one of these types
}

// TileContent is a tile's one source.
type TileContent struct {
	Gather *TileGather `json:"gather,omitempty"`
	Menu   *TileMenu   `json:"menu,omitempty"`
	Text   *TileText   `json:"text,omitempty"`
	Plugin *TilePlugin `json:"plugin,omitempty"`
}

// TileGather lists a gather's first items as links.
type TileGather struct {
	Gather  string `json:"gather"`
	Display string `json:"display,omitempty"`
	Items   int    `json:"items,omitempty"`
}

// TileMenu shows a menu as nested lists.
type TileMenu struct {
	Menu  string `json:"menu"`
	Depth int    `json:"depth,omitempty"` // default 8
}

// TileText is a text block in a text format (plain, markdown,
// filtered_html; default markdown).
type TileText struct {
	Format string `json:"format,omitempty"`
	Body   string `json:"body"`
}

// TilePlugin is a tile a plugin renders through tile_view.
type TilePlugin struct {
	Plugin string          `json:"plugin"`
	Tile   string          `json:"tile"`
	Config json.RawMessage `json:"config,omitempty"`
}

// Source names the tile's content kind: gather, menu, text or plugin.
func (c TileContent) Source() string {
	switch {
	case c.Gather != nil:
		return "gather"
	case c.Menu != nil:
		return "menu"
	case c.Text != nil:
		return "text"
	case c.Plugin != nil:
		return "plugin"
	}
	return ""
}

// ParseTile decodes and validates a tile document. Errors: EInvalid with
// every problem.
func ParseTile(body json.RawMessage) (*Tile, error) {
	doc, err := ParseConfigDoc("tile", body)
	if err != nil {
		return nil, err
	}
	return decodeTile(doc.Body)
}

// TileFromConfig decodes a stored tile document.
func TileFromConfig(d *ConfigDocument) (*Tile, error) {
	t, err := decodeTile(d.Body)
	if err != nil {
		return nil, fmt.Errorf("tile %q: %w", d.Name, err)
	}
	t.Version = d.Version
	return t, nil
}

func decodeTile(body []byte) (*Tile, error) {
	var doc struct {
		Kind string `json:"kind"`
		Tile
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, InvalidFields("invalid tile document", []FieldError{{Path: "(document)", Message: err.Error()}})
	}
	t := doc.Tile
	return &t, nil
}

func checkTileDoc(obj map[string]any) []FieldError {
	t, err := decodeTile(canonicalJSON(obj))
	if err != nil {
		return ErrorFields(err)
	}
	var errs []FieldError
	for _, rule := range []struct {
		path string
		pats []string
	}{{"visibility.pages", t.Visibility.Pages}, {"visibility.except", t.Visibility.Except}} {
		for i, p := range rule.pats {
			if strings.Contains(p, "**") {
				errs = append(errs, FieldError{Path: fmt.Sprintf("%s[%d]", rule.path, i), Message: "use one * (it already matches slashes)"})
			}
		}
	}
	return errs
}

// MatchTilePath reports whether a visibility pattern matches a path: *
// matches any run of characters, slashes included; <front> matches "/".
// Matching is case-sensitive, like paths.
func MatchTilePath(pattern, path string) bool {
	if pattern == "<front>" {
		return path == "/"
	}
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == path
	}
	if !strings.HasPrefix(path, parts[0]) {
		return false
	}
	rest := path[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return len(rest) >= len(last) && strings.HasSuffix(rest, last)
}

// TilePage is what a tile's visibility rules look at.
type TilePage struct {
	Paths    []string // the page's public path, then its internal path
	ItemType string   // the item type of a full item page, else ""
	User     *User
}

// Visible reports whether the tile shows on page p.
func (t *Tile) Visible(p TilePage) bool {
	if t.Disabled {
		return false
	}
	v := t.Visibility
	anyMatch := func(pats []string) bool {
		for _, pat := range pats {
			for _, path := range p.Paths {
				if MatchTilePath(pat, path) {
					return true
				}
			}
		}
		return false
	}
	if len(v.Pages) > 0 && !anyMatch(v.Pages) {
		return false
	}
	if anyMatch(v.Except) {
		return false
	}
	if len(v.Types) > 0 && (p.ItemType == "" || !slices.Contains(v.Types, p.ItemType)) {
		return false
	}
	if len(v.Roles) > 0 {
		u := p.User
		if u == nil {
			u = Anonymous
		}
		ok := false
		for _, r := range v.Roles {
			ok = ok || u.HasRole(r)
		}
		if !ok {
			return false
		}
	}
	return true
}
