package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/trovato/trovato/core"
)

// TestBackupRestore: a backup restores the site as it was; a damaged,
// truncated or foreign archive is refused and the site stays as it is.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.must("category", "vocabulary", "create", "tags")
	c.must("type", "apply", c.file("article.yaml", articleYAML))
	before := c.must("item", "create", "--type", "article", "--title", "Before the backup")
	file := filepath.Join(t.TempDir(), "site.tar")
	out := c.must("backup", file)
	if !strings.Contains(out, "Backed up database") {
		t.Errorf("backup said %q", out)
	}
	if _, err := c.run("backup", file); core.ErrorCode(err) != core.EConflict {
		t.Errorf("backup over an existing file: %v, want ECONFLICT", err)
	}
	c.must("item", "delete", before)
	after := c.must("item", "create", "--type", "article", "--title", "After the backup")

	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-2048] ^= 0xff // inside the dump
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"ErrFlippedByte", flipped, "does not match its checksum"},
		{"ErrTruncated", good[:len(good)/2], "truncated"},
		{"ErrNotAnArchive", []byte("just some text\n"), "not a usable Trovato backup"},
		{"ErrEmpty", nil, "holds no manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.tar")
			if err := os.WriteFile(bad, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := c.run("restore", bad)
			if err == nil || core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want EINVALID %q", err, tc.want)
			}
			if got := c.must("item", "show", after); !strings.Contains(got, "After the backup") {
				t.Errorf("the site changed: %s", got)
			}
		})
	}

	t.Run("ErrInUse", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), c.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := c.run("restore", file); core.ErrorCode(err) != core.EConflict || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("restore while the site is in use: %v, want ECONFLICT", err)
		}
		if got := c.must("item", "show", after); !strings.Contains(got, "After the backup") {
			t.Errorf("the site changed: %s", got)
		}
	})

	out = c.must("restore", file)
	if !strings.Contains(out, "Restored the backup") {
		t.Errorf("restore said %q", out)
	}
	if got := c.must("item", "show", before); !strings.Contains(got, "Before the backup") {
		t.Errorf("the backed-up item is not back: %s", got)
	}
	if _, err := c.run("item", "show", after); core.ErrorCode(err) != core.ENotFound {
		t.Errorf("the item made after the backup survived the restore: %v", err)
	}
}
