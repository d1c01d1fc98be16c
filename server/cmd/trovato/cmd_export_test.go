package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/server/export"
)

// TestCLIExportDeploy runs export and deploy as a user would, then
// publishes a stage while serve's export-and-deploy-on-publish loop runs.
func TestCLIExportDeploy(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("migrate")
	c.must("demo", "load")
	dir, www := filepath.Join(c.dataDir, "out"), filepath.Join(c.dataDir, "www")
	if out := c.must("export", dir); !strings.Contains(out, "(full,") || !strings.Contains(out, "0 removed") {
		t.Fatalf("first export: %q", out)
	}
	if out := c.must("export", dir); !strings.Contains(out, "0 URLs rendered") || !strings.Contains(out, "0 added, 0 changed, 0 removed") {
		t.Fatalf("export without changes: %q", out)
	}
	for _, bad := range [][]string{{"export"}, {"export", dir, "--stage", "launch"}, {"export", dir, "--dynamic-origin", "ftp://x"}, {"deploy", "nowhere"}} {
		if _, err := c.run(bad...); err == nil {
			t.Errorf("trovato %s: no error", strings.Join(bad, " "))
		}
	}
	c.must("config", "apply", c.file("target.yaml", "kind: deploy_target\nname: www\ntype: local\npath: "+www+"\nexport_dir: "+dir+"\non_publish: true\n"))
	dry := c.must("deploy", "www", "--dry-run")
	if !strings.Contains(dry, "upload index.html") || !strings.Contains(dry, "Would deploy") {
		t.Fatalf("dry run: %q", dry)
	}
	if _, err := os.Stat(filepath.Join(www, "index.html")); !os.IsNotExist(err) {
		t.Fatalf("a dry run wrote to the target: %v", err)
	}
	if out := c.must("deploy", "www"); !strings.Contains(out, "0 removed, 0 unchanged") {
		t.Fatalf("deploy: %q", out)
	}
	if out := c.must("deploy", "www"); !strings.Contains(out, "0 uploaded, 0 removed") {
		t.Fatalf("deploy without changes: %q", out)
	}

	// Publishing a stage exports and deploys to the on_publish target.
	a := &app{stdout: os.Stdout, stderr: os.Stderr, dataDir: c.dataDir, databaseURL: c.dbURL}
	defer a.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, err := a.kernel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go deployOnPublish(ctx, k, c.dataDir, 100*time.Millisecond, slog.New(slog.DiscardHandler))
	admin, err := k.AsUser(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the loop has read the feed's head
	m, _, err := export.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var id core.ID
	for _, en := range m.Files {
		if en.URL == "/articles/measuring-page-speed" {
			for _, tag := range en.Tags {
				if v, ok := strings.CutPrefix(tag, "item:"); ok && v != "*" {
					id, _ = core.ParseID(v)
				}
			}
		}
	}
	if id == core.NilID {
		t.Fatal("no item page for /articles/measuring-page-speed")
	}
	st := &core.Stage{Name: "launch"}
	if err := k.Store.Stages().CreateStage(admin, st); err != nil {
		t.Fatal(err)
	}
	title := "Published while serving"
	if _, err := k.Store.Items().UpdateItem(admin, st.ID, id, core.ItemUpdate{Title: &title, Log: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Store.Stages().PublishStage(admin, st.ID, core.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		found := false
		_ = filepath.WalkDir(www, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, "index.html") {
				if b, _ := os.ReadFile(p); strings.Contains(string(b), ">"+title+"</h1>") {
					found = true
				}
			}
			return err
		})
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the published title did not reach the target within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
