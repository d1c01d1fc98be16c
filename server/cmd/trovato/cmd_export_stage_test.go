package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIExportStage exports an open stage with --stage: the stage's edit,
// no preview banner; a published stage is refused.
func TestCLIExportStage(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("migrate")
	c.must("demo", "load")
	c.must("stage", "create", "spring")
	const article = "01900000-0000-7000-8000-000000000207" // /articles/measuring-page-speed
	c.must("item", "update", article, "--stage", "spring", "--title", "Spring title")
	dir := filepath.Join(c.dataDir, "spring")
	if out := c.must("export", dir, "--stage", "spring"); !strings.Contains(out, "(full,") {
		t.Fatalf("stage export: %q", out)
	}
	page, err := os.ReadFile(filepath.Join(dir, "articles", "measuring-page-speed", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(page); !strings.Contains(s, "Spring title") || strings.Contains(s, "/_preview/exit") {
		t.Errorf("the stage's page lacks its edit or carries the preview banner")
	}
	c.must("stage", "publish", "spring")
	if out, err := c.run("export", dir, "--stage", "spring"); err == nil || !strings.Contains(out+err.Error(), "published") {
		t.Errorf("export of a published stage: %q %v", out, err)
	}
}
