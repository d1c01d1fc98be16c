package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// runStderr runs the CLI and returns what it wrote to stderr as well.
func (c *cli) runStderr(args ...string) (string, string, error) {
	c.tb.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, env: c.env}
	root := a.root()
	root.SetArgs(append([]string{"--data-dir", c.dataDir, "--database-url", c.dbURL}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	a.close()
	return out.String(), errb.String(), err
}

func (c *cli) themeDir(name string, files map[string]string) string {
	dir := filepath.Join(c.dataDir, name)
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			c.tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			c.tb.Fatal(err)
		}
	}
	return dir
}

func TestCLIThemes(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	page := `<!DOCTYPE html><html lang="{{.Lang}}"><head><title>{{.HeadTitle}}</title></head>
<body>{{.Region "content"}}{{.Region "promo"}}</body></html>
`
	broken := c.themeDir("broken", map[string]string{
		"theme.yaml":          "name: acme\nregions: [content, promo]\n",
		"templates/page.html": strings.Replace(page, `{{.Region "promo"}}`, `{{.Region "promo"`, 1),
	})
	_, err := c.run("theme", "install", broken)
	if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "broken/templates/page.html:2:") || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("broken theme: %v", err)
	}
	if out := c.must("theme", "list"); strings.Contains(out, "acme") || !strings.Contains(out, "default") {
		t.Fatalf("list after a refused install:\n%s", out)
	}
	good := c.themeDir("good", map[string]string{
		"theme.yaml":          "name: acme\nversion: 2.0.0\nregions: [content, promo]\n",
		"templates/page.html": page,
	})
	if out := c.must("theme", "install", good, "--enable"); !strings.Contains(out, "theme acme 2.0.0 installed (enabled") {
		t.Fatalf("install: %s", out)
	}
	out := c.must("theme", "list")
	if !strings.Contains(out, "acme     2.0.0") || !strings.Contains(out, "enabled  content,promo") {
		t.Fatalf("list:\n%s", out)
	}

	// A tile in a region the enabled theme lacks is stored with a warning.
	tiles := c.file("tiles.yaml", "kind: tile\nname: about\nlabel: About\nregion: sidebar\ncontent: {text: {body: \"x\"}}\n---\nkind: tile\nname: promo\nlabel: Promo\nregion: promo\ncontent: {text: {body: \"y\"}}\n")
	_, stderr, err := c.runStderr("tile", "apply", tiles)
	if err != nil || !strings.Contains(stderr, `warning: tile about: theme acme has no region "sidebar"`) || strings.Contains(stderr, "tile promo") {
		t.Fatalf("tile apply: %v\n%s", err, stderr)
	}

	if _, err := c.run("theme", "uninstall", "acme"); core.ErrorCode(err) != core.EConflict {
		t.Fatalf("uninstall enabled: %v", err)
	}
	c.must("theme", "enable", "default")
	if _, stderr, _ := c.runStderr("tile", "apply", tiles); !strings.Contains(stderr, `theme default has no region "promo"`) {
		t.Fatalf("tile apply under the default theme:\n%s", stderr)
	}
	c.must("theme", "uninstall", "acme")
	if _, err := c.run("theme", "enable", "acme"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("enable uninstalled: %v", err)
	}
}
