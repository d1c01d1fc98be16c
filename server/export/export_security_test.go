package export

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A file name with a line break would be two names in rsync's
// --files-from list (and --delete-missing-args would delete the second
// one on the target): control characters never become file paths.
func TestOutputPathControlCharacters(t *testing.T) {
	for _, p := range []string{"/a%0Ab", "/a%0D%0Ab", "/x%0A..", "/tab%09name", "/del%7F", "/files/h/a%0A-rf.png"} {
		if rel, ok := outputPath(p, true); ok {
			t.Errorf("outputPath(%q) = %q, ok; want refused", p, rel)
		}
	}
	for _, p := range []string{"/caf%C3%A9", "/a%20b", "/-leading-dash"} {
		if _, ok := outputPath(p, true); !ok {
			t.Errorf("outputPath(%q) refused; want a file name", p)
		}
	}
	if _, err := decodeManifest([]byte(`{"version":1,"files":{"a\nb/index.html":{"url":"/a","kind":"page","sha256":"` + strings.Repeat("0", 64) + `"}}}`)); err == nil {
		t.Error("a manifest naming a file with a line break was accepted")
	}
}

// An rsync destination is never read as an option: a deploy_target path
// starting with '-' (--log-file=..., -e cmd) is refused before rsync runs.
func TestRsyncDestinationIsNotAnOption(t *testing.T) {
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skip("no rsync")
	}
	dir := t.TempDir()
	logFile := filepath.Join(dir, "injected")
	if _, _, err := ParseTarget([]byte(`{"kind":"deploy_target","name":"x","type":"rsync","path":"--log-file=` + logFile + `"}`)); err == nil {
		t.Error("ParseTarget accepted an rsync path starting with '-'")
	}
	r := &RsyncTarget{Dest: "--log-file=" + logFile}
	if _, err := r.ReadManifest(context.Background(), DeployManifestFile); err == nil {
		t.Error("an rsync target whose destination starts with '-' was used")
	}
	if m, _ := filepath.Glob(logFile + "*"); len(m) > 0 {
		t.Errorf("rsync took the destination as an option and wrote %v", m)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
}

// A deploy folder whose subfolder is a symlink (planted by whoever may
// write there, with a manifest naming files under it) must not make a
// deploy write or delete files outside the folder.
func TestLocalTargetSymlinkedFolder(t *testing.T) {
	ctx := context.Background()
	target, outside, src := t.TempDir(), t.TempDir(), t.TempDir()
	victim := filepath.Join(outside, "victim.html")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(target, "sub")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "sub", "new.html"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	l := &LocalTarget{Dir: target}
	if err := l.Remove(ctx, []string{"sub/victim.html"}); err == nil {
		t.Error("Remove through a symlinked folder succeeded")
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("a file outside the deploy folder was removed: %v", err)
	}
	if err := l.Upload(ctx, src, []string{"sub/new.html"}); err == nil {
		t.Error("Upload through a symlinked folder succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new.html")); err == nil {
		t.Fatal("a file was written outside the deploy folder")
	}
}
