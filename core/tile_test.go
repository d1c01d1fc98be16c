package core_test

import (
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func TestMatchTilePath(t *testing.T) {
	for _, tc := range []struct {
		pat, path string
		want      bool
	}{
		{"<front>", "/", true},
		{"<front>", "/x", false},
		{"/about", "/about", true},
		{"/about", "/about/x", false},
		{"/blog/*", "/blog/a/b", true},
		{"/blog/*", "/blog", false},
		{"/blog*", "/blog", true},
		{"*", "/anything", true},
		{"/a/*/edit", "/a/1/2/edit", true},
		{"/a/*/edit", "/a/1/2/view", false},
		{"/a*b*c", "/abc", true},
		{"/a*b*c", "/acb", false},
		{"/x*x", "/x", false},
	} {
		if got := core.MatchTilePath(tc.pat, tc.path); got != tc.want {
			t.Errorf("MatchTilePath(%q, %q) = %v, want %v", tc.pat, tc.path, got, tc.want)
		}
	}
}

func TestParseTile(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		wantErr    string
	}{
		{"OK", `{"kind":"tile","name":"about","label":"About","region":"sidebar","content":{"text":{"body":"Hi"}},
			"visibility":{"pages":["/blog/*","<front>"],"roles":["anonymous"],"types":["article"]}}`, ""},
		{"TwoSources", `{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"text":{"body":"Hi"},"menu":{"menu":"main"}}}`, "content"},
		{"NoSource", `{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{}}`, "content"},
		{"BadRegion", `{"kind":"tile","name":"x","label":"X","region":"Side Bar","content":{"menu":{"menu":"main"}}}`, "region"},
		{"BadPattern", `{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"menu":{"menu":"main"}},"visibility":{"pages":["blog"]}}`, "visibility.pages[0]"},
		{"DoubleStar", `{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"menu":{"menu":"main"}},"visibility":{"except":["/a/**"]}}`, "visibility.except[0]"},
		{"FullHTML", `{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"text":{"format":"full_html","body":"<script>"}}}`, "content.text.format"},
		{"UnknownKey", `{"kind":"tile","name":"x","label":"X","region":"sidebar","content":{"menu":{"menu":"main","colour":1}}}`, "colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tile, err := core.ParseTile([]byte(tc.body))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tile.Content.Source() != "text" || tile.Region != "sidebar" {
					t.Fatalf("parsed %+v", tile)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			found := false
			for _, f := range core.ErrorFields(err) {
				found = found || strings.Contains(f.Path, tc.wantErr)
			}
			if !found {
				t.Fatalf("no problem at %s: %v", tc.wantErr, core.ErrorFields(err))
			}
		})
	}
}

func TestTileVisible(t *testing.T) {
	editor := &core.User{ID: core.NewID(), Name: "ed", Roles: []string{"editor"}}
	tile := core.Tile{Visibility: core.TileVisibility{Pages: []string{"/blog/*"}, Except: []string{"/blog/secret"},
		Roles: []string{"editor"}, Types: []string{"article"}}}
	for _, tc := range []struct {
		name string
		page core.TilePage
		want bool
	}{
		{"OK", core.TilePage{Paths: []string{"/blog/a"}, ItemType: "article", User: editor}, true},
		{"InternalPath", core.TilePage{Paths: []string{"/x", "/blog/b"}, ItemType: "article", User: editor}, true},
		{"OtherPath", core.TilePage{Paths: []string{"/news/a"}, ItemType: "article", User: editor}, false},
		{"Except", core.TilePage{Paths: []string{"/blog/secret"}, ItemType: "article", User: editor}, false},
		{"Anonymous", core.TilePage{Paths: []string{"/blog/a"}, ItemType: "article"}, false},
		{"OtherType", core.TilePage{Paths: []string{"/blog/a"}, ItemType: "page", User: editor}, false},
		{"NotAnItem", core.TilePage{Paths: []string{"/blog/a"}, User: editor}, false},
	} {
		if got := tile.Visible(tc.page); got != tc.want {
			t.Errorf("%s: Visible = %v, want %v", tc.name, got, tc.want)
		}
	}
	tile.Disabled = true
	if tile.Visible(core.TilePage{Paths: []string{"/blog/a"}, ItemType: "article", User: editor}) {
		t.Error("a disabled tile shows")
	}
}
