package main

import (
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func TestCLITiles(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("config", "apply", c.file("menu.yaml", "kind: menu\nname: main\nlabel: Main\n"))
	good := c.file("tiles.yaml", `kind: tile
name: about
label: About
region: sidebar
weight: -1
visibility: {pages: ["/blog/*", "<front>"], roles: [anonymous]}
content:
  text: {format: markdown, body: "We *write*."}
---
kind: tile
name: nav
label: Sections
region: footer
content: {menu: {menu: main, depth: 1}}
`)
	if out := c.must("tile", "apply", good); !strings.Contains(out, "tile about: version 1") || !strings.Contains(out, "tile nav: version 1") {
		t.Fatalf("apply: %s", out)
	}
	out := c.must("tile", "list")
	for _, want := range []string{"about", "sidebar", "text", "pages /blog/* <front>; roles anonymous", "nav", "menu main", "every page"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if out := c.must("tile", "show", "about"); !strings.HasPrefix(out, "kind: tile\nname: about\n") {
		t.Fatalf("show:\n%s", out)
	}
	// A reference to a missing gather stores nothing, not even the good tile beside it.
	bad := c.file("bad.yaml", `kind: tile
name: first
label: First
region: sidebar
content: {text: {body: "x"}}
---
kind: tile
name: latest
label: Latest
region: sidebar
content: {gather: {gather: nosuch}}
`)
	_, err := c.run("tile", "apply", bad)
	if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "content.gather.gather") {
		t.Fatalf("missing gather: %v", err)
	}
	if _, err := c.run("tile", "show", "first"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("first was stored: %v", err)
	}
	if _, err := c.run("tile", "apply", c.file("wrong.yaml", "kind: tile\nname: x\nlabel: X\nregion: Side\ncontent: {}\n")); core.ErrorCode(err) != core.EInvalid ||
		!strings.Contains(err.Error(), "wrong.yaml:4") {
		t.Fatalf("invalid tile: %v", err)
	}
	if _, err := c.run("tile", "apply", c.file("menu2.yaml", "kind: menu\nname: other\nlabel: Other\n")); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("a menu through tile apply: %v", err)
	}
	c.must("tile", "delete", "about")
	if _, err := c.run("tile", "delete", "about"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("second delete: %v", err)
	}
}
