package export

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestManifestLog: an incremental export appends one line to the log
// instead of writing the manifest; reading folds the lines in; a torn
// last line is ignored (and cut by the next append), lines of another
// base are skipped, and the base is written again once the log outgrows
// a quarter of it.
func TestManifestLog(t *testing.T) {
	dir := t.TempDir()
	hash := func(i int) string { return fmt.Sprintf("%064x", i) }
	m := newManifest()
	for i := range 400 {
		m.Files[fmt.Sprintf("p%d/index.html", i)] = &Entry{URL: fmt.Sprintf("/p%d", i), Kind: KindPage, SHA256: hash(i), Size: 10,
			Tags: []string{"config:*", fmt.Sprintf("item:%d", i)}, Links: []string{"/", fmt.Sprintf("/p%d", (i+1)%400)}}
	}
	m.Cursor = 1
	if base, err := saveManifest(dir, newManifest(), m, true); err != nil || base == nil {
		t.Fatalf("full: %v %v", base == nil, err)
	}
	read := func() *Manifest {
		t.Helper()
		got, found, err := ReadManifest(dir)
		if err != nil || !found {
			t.Fatalf("read: %v %v", found, err)
		}
		return got
	}
	same := func(got, want *Manifest) {
		t.Helper()
		if got.Cursor != want.Cursor || got.Stage != want.Stage || !reflect.DeepEqual(got.Files, want.Files) {
			t.Fatalf("read back cursor %d files %d, want cursor %d files %d", got.Cursor, len(got.Files), want.Cursor, len(want.Files))
		}
	}
	same(read(), m)
	baseInfo, _ := os.Stat(filepath.Join(dir, ManifestFile))

	// One page changed (with a new tag), one added, one removed.
	edit := func(old *Manifest, i int) *Manifest {
		next := &Manifest{Version: manifestVersion, Cursor: old.Cursor + 1, Files: map[string]*Entry{}}
		for p, en := range old.Files {
			next.Files[p] = en
		}
		next.Files["p1/index.html"] = &Entry{URL: "/p1", Kind: KindPage, SHA256: hash(1000 + i), Size: 11, Tags: []string{"config:*", fmt.Sprintf("new:%d", i)}}
		next.Files[fmt.Sprintf("n%d/index.html", i)] = &Entry{URL: fmt.Sprintf("/n%d", i), Kind: KindPage, SHA256: hash(2000 + i), Size: 12}
		delete(next.Files, fmt.Sprintf("p%d/index.html", 100+i))
		return next
	}
	old := read()
	next := edit(old, 0)
	if base, err := saveManifest(dir, old, next, false); err != nil || base != nil {
		t.Fatalf("incremental wrote a base (%v) or failed: %v", base != nil, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, ManifestFile)); !fi.ModTime().Equal(baseInfo.ModTime()) || fi.Size() != baseInfo.Size() {
		t.Error("the base was written again for one change")
	}
	same(read(), next)

	// A torn last line is ignored, and cut before the next line.
	logPath := filepath.Join(dir, ManifestLogFile)
	f, _ := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"gen":"x","cursor":99,"set":{"a`)
	f.Close()
	same(read(), next)
	old = read()
	next = edit(old, 1)
	if _, err := saveManifest(dir, old, next, false); err != nil {
		t.Fatal(err)
	}
	same(read(), next)

	// Lines of another base are skipped; a damaged line is an error.
	raw, _ := os.ReadFile(logPath)
	os.WriteFile(logPath, append([]byte(`{"gen":"another","cursor":7,"del":["p1/index.html"]}`+"\n"), raw...), 0o644)
	same(read(), next)
	os.WriteFile(logPath, append(append([]byte(nil), raw...), "not json\n"...), 0o644)
	if _, _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("a damaged log line: %v", err)
	}
	os.WriteFile(logPath, raw, 0o644)

	// The log grows until a quarter of the base (at least compactMin),
	// then the base is written again and the log removed.
	defer func(n int64) { compactMin = n }(compactMin)
	compactMin = 1 << 10
	compacted := false
	for i := 2; i < 200 && !compacted; i++ {
		old = read()
		next = edit(old, i)
		base, err := saveManifest(dir, old, next, false)
		if err != nil {
			t.Fatal(err)
		}
		if base != nil {
			compacted = true
			if _, err := os.Stat(logPath); !os.IsNotExist(err) {
				t.Errorf("the log is still there after a compaction: %v", err)
			}
		}
		same(read(), next)
	}
	if !compacted {
		t.Error("the log was never compacted")
	}
}
