package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

// TestCLIAuditsAndEditAny: role and permission changes, publishes and
// rollbacks made with the CLI are in the audit log; an editor without
// edit_any cannot update another author's item with --as.
func TestCLIAuditsAndEditAny(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("category", "vocabulary", "create", "tags")
	c.must("type", "apply", c.file("article.yaml", articleYAML))
	theirs := c.must("item", "create", "--type", "article", "--title", "Admin's")

	c.must("role", "create", "writer", "item.article.create", "item.article.edit_own", "content.access")
	c.must("role", "grant", "writer", "stage.view_any")
	c.must("role", "revoke", "writer", "stage.view_any")
	c.must("user", "create", "alice", "--email", "alice@example.com")
	c.must("user", "add-role", "alice", "writer")

	if _, err := c.run("--as", "alice", "item", "update", theirs, "--title", "Taken over"); err == nil {
		t.Fatal("alice updated another author's item without edit_any")
	} else if code := core.ErrorCode(err); code != core.EForbidden && code != core.ENotFound {
		t.Fatalf("alice updating admin's item: %v", err)
	}
	if out := c.must("item", "show", theirs); !strings.Contains(out, "Admin's") || strings.Contains(out, "Taken over") {
		t.Fatalf("the item changed: %s", out)
	}
	mine := c.must("--as", "alice", "item", "create", "--type", "article", "--title", "Alice's")
	c.must("--as", "alice", "item", "update", mine, "--title", "Alice's, edited")

	c.must("stage", "create", "spring")
	c.must("item", "update", theirs, "--stage", "spring", "--title", "Spring title")
	c.must("stage", "publish", "spring")
	rel := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f-]{27}`).FindString(c.must("release", "list"))
	if rel == "" {
		t.Fatal("no release")
	}
	c.must("release", "rollback", rel)

	out := c.must("audit", "--limit", "100")
	for _, want := range []string{"role.create", "role.grant", "role.revoke", "user.role_add", "stage.publish", "release.rollback", "role/writer", "user/alice", "stage/spring"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %s:\n%s", want, out)
		}
	}
}
