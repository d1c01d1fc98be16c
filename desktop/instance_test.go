package desktop

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSingleInstance: desktop.lock keeps a second app out of a data
// directory while the first holds it, and is free again once it quit.
// (TestWindow also starts a second app process beside a running one.)
func TestSingleInstance(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := lockInstance(dir)
	if err != nil || first == nil {
		t.Fatalf("first app: %v %v", first, err)
	}
	second, err := lockInstance(dir)
	if err != nil || second != nil {
		t.Fatalf("a second app got the lock: %v %v", second, err)
	}
	if other, err := lockInstance(t.TempDir()); err != nil || other == nil {
		t.Errorf("another data directory is locked too: %v", err)
	} else {
		other.Close()
	}
	first.Close()
	again, err := lockInstance(dir)
	if err != nil || again == nil {
		t.Fatalf("after the first app quit: %v %v", again, err)
	}
	again.Close()
	if _, err := lockInstance(filepath.Join(dir, "missing", "dir")); err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("an unwritable data directory: %v", err)
	}
}

// TestBackupMenu runs File > Back up the site… without the window (the
// function the menu calls): the archive holds the manifest and the dump;
// a folder that cannot be written is one line and leaves no file.
func TestBackupMenu(t *testing.T) {
	t.Parallel()
	a := MustApp(t, false)
	file := filepath.Join(t.TempDir(), "site.tar")
	if msg := a.BackupTo(context.Background(), file); !strings.HasPrefix(msg, "Backed up to "+file) || !strings.Contains(msg, "trovato restore") {
		t.Fatalf("backup: %s", msg)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, ",") != "manifest.json,site.dump" {
		t.Errorf("the archive holds %v", names)
	}
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "site.tar")
	if msg := a.BackupTo(context.Background(), bad); !strings.HasPrefix(msg, "The backup failed: ") || strings.Contains(msg, "\n") {
		t.Errorf("backup into a missing folder: %q", msg)
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a failed backup left a file")
	}
}
