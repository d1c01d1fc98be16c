package main

import (
	"context"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
)

// TestCLIComments moderates a comment with the CLI: list the queue,
// approve, edit, unpublish, delete, each audited; refused without
// comments.administer and for bad input.
func TestCLIComments(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("category", "vocabulary", "create", "tags")
	c.must("type", "apply", c.file("article.yaml", articleYAML))
	item := c.must("item", "create", "--type", "article", "--title", "Talked about")
	c.must("user", "create", "bob", "--email", "bob@example.com")

	ctx := context.Background()
	cfg := kernel.DefaultConfig(c.dataDir)
	cfg.DatabaseURL = c.dbURL
	k, err := kernel.New(ctx, cfg, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := k.AsUser(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	itemID, err := core.ParseID(item)
	if err != nil {
		t.Fatalf("item create printed %q", item)
	}
	cm := &postgres.Comment{ItemID: itemID, Body: "Bob's first thought"}
	err = k.Store.CreateComment(bob, cm)
	k.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := cm.ID.String()

	if out := c.must("comment", "list", "--status", "pending"); !strings.Contains(out, id) || !strings.Contains(out, "bob") || !strings.Contains(out, "Talked about") {
		t.Fatalf("queue:\n%s", out)
	}
	if _, err := c.run("--as", "bob", "comment", "list"); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("bob listing the queue: %v", err)
	}
	if _, err := c.run("--as", "bob", "comment", "approve", id); core.ErrorCode(err) != core.EForbidden {
		t.Fatalf("bob approving: %v", err)
	}
	c.must("comment", "approve", id)
	if out := c.must("--json", "comment", "list", "--status", "published"); !strings.Contains(out, `"id": "`+id) {
		t.Fatalf("published:\n%s", out)
	}
	c.must("comment", "edit", id, "--body", "Bob's thought, trimmed by a moderator")
	if out := c.must("comment", "show", id); !strings.Contains(out, "trimmed by a moderator") || !strings.Contains(out, "status:  published") {
		t.Fatalf("show:\n%s", out)
	}
	c.must("comment", "unpublish", id)
	c.must("comment", "delete", id)
	for _, bad := range []struct {
		args []string
		code string
	}{
		{[]string{"comment", "show", id}, core.ENotFound},
		{[]string{"comment", "delete", id}, core.ENotFound},
		{[]string{"comment", "approve", "nope"}, core.EInvalid},
		{[]string{"comment", "list", "--status", "spam"}, core.EInvalid},
		{[]string{"comment", "list", "--item", "nope"}, core.EInvalid},
		{[]string{"comment", "list", "--limit", "100000"}, core.EInvalid},
	} {
		if _, err := c.run(bad.args...); core.ErrorCode(err) != bad.code {
			t.Errorf("trovato %s: %v, want %s", strings.Join(bad.args, " "), err, bad.code)
		}
	}
	out := c.must("audit", "--action", "comment.")
	for _, want := range []string{"comment.publish", "comment.update", "comment.unpublish", "comment.delete", "comment:" + id} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %s:\n%s", want, out)
		}
	}
}
