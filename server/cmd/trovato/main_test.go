package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// cli runs trovato commands in-process against one test database.
type cli struct {
	tb      testing.TB
	dataDir string
	dbURL   string
	env     []string
}

func newCLI(tb testing.TB) *cli {
	tb.Helper()
	return &cli{tb: tb, dataDir: tb.TempDir(), dbURL: pgtest.NewDBURL(tb)}
}

func (c *cli) run(args ...string) (string, error) {
	c.tb.Helper()
	var out, errb bytes.Buffer
	a := &app{stdout: &out, stderr: &errb, env: c.env}
	root := a.root()
	root.SetArgs(append([]string{"--data-dir", c.dataDir, "--database-url", c.dbURL}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(context.Background())
	a.close()
	return out.String(), err
}

func (c *cli) must(args ...string) string {
	c.tb.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.tb.Fatalf("trovato %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

func (c *cli) file(name, content string) string {
	p := filepath.Join(c.dataDir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		c.tb.Fatal(err)
	}
	return p
}

const articleYAML = `kind: item_type
name: article
label: Article
fields:
  - {name: body, type: long_text, format: markdown, max_length: 1000}
  - {name: rating, type: integer, min: 1, max: 5}
  - {name: tags, type: term_ref, vocabulary: tags, cardinality: unlimited}
`

func TestCLIContentAndStages(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	// Types need their vocabularies first.
	if _, err := c.run("type", "apply", c.file("article.yaml", articleYAML)); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("apply before the vocabulary exists: %v", err)
	}
	c.must("category", "vocabulary", "create", "tags")
	c.must("type", "apply", c.file("article.yaml", articleYAML))
	if out := c.must("type", "list"); !strings.Contains(out, "article") {
		t.Fatalf("type list = %q", out)
	}
	term := c.must("category", "term", "add", "--vocabulary", "tags", "--name", "go")
	id := c.must("item", "create", "--type", "article", "--title", "Hello", "--field", "body=# Hi", "--field", "rating=3",
		"--field", `tags=[{"id":"`+term+`"}]`)
	if _, err := core.ParseID(id); err != nil {
		t.Fatalf("item create printed %q", id)
	}
	var it core.Item
	if err := json.Unmarshal([]byte(c.must("item", "show", id, "--json")), &it); err != nil || it.Title != "Hello" {
		t.Fatalf("item show --json = %+v, %v", it, err)
	}
	rev1 := it.RevisionID.String()
	rev2 := c.must("item", "update", id, "--title", "Hello again", "--if-revision", rev1)
	if _, err := c.run("item", "update", id, "--title", "Stale", "--if-revision", rev1); core.ErrorCode(err) != core.EConflict {
		t.Fatalf("stale update: %v", err)
	}
	if out := c.must("item", "diff", rev1, rev2); !strings.Contains(out, "Hello again") {
		t.Fatalf("diff = %q", out)
	}
	if out := c.must("item", "revisions", id); strings.Count(out, "\n") != 2 {
		t.Fatalf("revisions = %q", out)
	}
	// Bad input: each a clear error, nothing stored.
	for name, args := range map[string][]string{
		"UnknownType":  {"item", "create", "--type", "nope", "--title", "x"},
		"UnknownField": {"item", "create", "--type", "article", "--title", "x", "--field", "bogus=1"},
		"WrongType":    {"item", "create", "--type", "article", "--title", "x", "--field", "rating=high"},
		"BadID":        {"item", "show", "not-an-id"},
		"UnknownRole":  {"user", "create", "bob", "--role", "wizard"},
		"UnknownUser":  {"--as", "nobody", "item", "list"},
		"BadStage":     {"item", "list", "--stage", "nosuchstage"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := c.run(args...); err == nil {
				t.Fatalf("trovato %v succeeded", args)
			} else if strings.Contains(oneLine(err), "\n") {
				t.Fatal("error is more than one line")
			}
		})
	}
	if out := c.must("item", "list"); !strings.Contains(out, "1 of 1") {
		t.Fatalf("refused commands stored something: %q", out)
	}

	// Stage: edit, diff, publish (exit status reflects the outcome), rollback.
	c.must("stage", "create", "spring")
	c.must("item", "update", id, "--stage", "spring", "--title", "Spring title")
	if out := c.must("item", "show", id); !strings.Contains(out, "Hello again") {
		t.Fatalf("live changed before publish: %q", out)
	}
	if out := c.must("stage", "diff", "spring"); !strings.Contains(out, "Spring title") {
		t.Fatalf("stage diff = %q", out)
	}
	c.must("stage", "create", "autumn")
	c.must("item", "update", id, "--stage", "autumn", "--title", "Autumn title")
	c.must("stage", "publish", "spring", "--dry-run")
	out := c.must("stage", "publish", "spring")
	if !strings.Contains(out, "published: release") {
		t.Fatalf("publish = %q", out)
	}
	if _, err := c.run("stage", "publish", "autumn"); err == nil {
		t.Fatal("publishing a conflicting stage exited 0")
	}
	c.must("stage", "publish", "autumn", "--on-conflict", "mine")
	if out := c.must("item", "show", id); !strings.Contains(out, "Autumn title") {
		t.Fatalf("after publish: %q", out)
	}
	var rels []core.Release
	if err := json.Unmarshal([]byte(c.must("release", "list", "--json")), &rels); err != nil || len(rels) != 2 {
		t.Fatalf("releases = %v, %v", rels, err)
	}
	c.must("release", "rollback", rels[0].ID.String())
	if out := c.must("item", "show", id); !strings.Contains(out, "Spring title") {
		t.Fatalf("after rollback: %q", out)
	}
	if _, err := c.run("stage", "schedule", "spring", "2020-01-01T00:00:00Z"); err == nil {
		t.Fatal("scheduling a published stage succeeded")
	}
	c.must("stage", "create", "later")
	if _, err := c.run("stage", "schedule", "later", "2020-01-01T00:00:00Z"); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("schedule in the past: %v", err)
	}
	if _, err := c.run("stage", "schedule", "later", "tomorrow"); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("unparseable schedule: %v", err)
	}

	// Aliases and menus with the same shape.
	c.must("alias", "add", "/hello", "/item/"+id)
	if _, err := c.run("alias", "add", "/hello", "/item/"+id); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("duplicate alias: %v", err)
	}
	c.must("menu", "create", "main")
	top := c.must("menu", "link", "add", "--menu", "main", "--title", "Home", "--path", "/")
	c.must("menu", "link", "add", "--menu", "main", "--title", "Hello", "--path", "/hello", "--parent", top)
	if out := c.must("menu", "link", "list", "--menu", "main"); strings.Count(out, "\n") != 2 {
		t.Fatalf("menu links = %q", out)
	}
}

func TestCLIUsersRolesConfig(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("user", "create", "alice", "--email", "alice@example.com", "--role", "editor")
	if _, err := c.run("user", "create", "ALICE"); core.ErrorCode(err) != core.EConflict {
		t.Fatalf("duplicate user: %v", err)
	}
	c.must("role", "create", "reviewer", "stage.view_any")
	c.must("role", "grant", "reviewer", "item.article.edit_any")
	if _, err := c.run("role", "grant", "ghost", "stage.view_any"); core.ErrorCode(err) != core.ENotFound {
		t.Fatalf("grant to a missing role: %v", err)
	}
	c.must("user", "add-role", "alice", "reviewer")
	// alice may not administer users.
	if _, err := c.run("--as", "alice", "user", "create", "mallory"); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("alice creating a user: %v", err)
	}
	c.must("user", "block", "alice")
	if _, err := c.run("--as", "alice", "item", "list"); err == nil {
		t.Fatal("a blocked user could act")
	}
	c.must("config", "set", "site/site", "site_name", "My Site")
	if out := c.must("config", "get", "site/site", "site_name"); out != "My Site" {
		t.Fatalf("config get = %q", out)
	}
	if _, err := c.run("config", "set", "site/site", "bogus_key", "1"); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("unknown site key: %v", err)
	}
	dir := filepath.Join(c.dataDir, "export")
	c.must("config", "export", dir)
	c.must("config", "set", "site/site", "site_name", "Changed")
	c.must("config", "import", dir)
	if out := c.must("config", "get", "site/site", "site_name"); out != "My Site" {
		t.Fatalf("after import = %q", out)
	}
	c.must("user", "delete", "alice", "--reassign-to", "admin")
}

func TestCLISettingsErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	toml := filepath.Join(dir, "trovato.toml")
	if err := os.WriteFile(toml, []byte("addr = \"127.0.0.1:9999\"\nbogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	blocker := filepath.Join(dir, "file")
	_ = os.WriteFile(blocker, nil, 0o644)
	for name, tc := range map[string]struct {
		args []string
		env  []string
		want string
	}{
		"UnknownConfigKey":     {[]string{"--data-dir", dir, "migrate", "status"}, nil, "unknown key bogus"},
		"UnknownEnv":           {[]string{"--data-dir", t.TempDir(), "migrate", "status"}, []string{"TROVATO_BOGUS=1"}, "unknown environment variable TROVATO_BOGUS"},
		"BadAddr":              {[]string{"--data-dir", t.TempDir(), "migrate", "status"}, []string{"TROVATO_ADDR=nope"}, "is not HOST:PORT"},
		"DataDirNotWritable":   {[]string{"--data-dir", filepath.Join(blocker, "data"), "migrate", "status"}, nil, "not writable"},
		"DatabaseNotAnswering": {[]string{"--data-dir", t.TempDir(), "--database-url", "postgres://nobody@127.0.0.1:1/x?connect_timeout=2", "migrate", "status"}, nil, "127.0.0.1"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := &app{stdout: &out, stderr: &errb, env: tc.env}
			root := a.root()
			root.SetArgs(tc.args)
			err := root.ExecuteContext(context.Background())
			a.close()
			if err == nil || !strings.Contains(oneLine(err), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}
