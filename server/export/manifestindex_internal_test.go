package export

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestManifestIndex: a base is written with its binary index, which reads
// back as the JSON base does (then the log); an index of another base
// (the base edited or replaced), a damaged or a missing one is ignored and
// the JSON read.
func TestManifestIndex(t *testing.T) {
	dir := t.TempDir()
	m := newManifest()
	m.Cursor, m.Stage = 7, "spring"
	for i := range 50 {
		en := &Entry{URL: fmt.Sprintf("/p%d", i), Kind: indexKinds[i%len(indexKinds)], SHA256: fmt.Sprintf("%064x", i), Size: int64(i),
			Tags: []string{"config:*", fmt.Sprintf("item:%d", i)}, Links: []string{"/", fmt.Sprintf("/p%d", (i+1)%50)}}
		if i%7 == 0 {
			en.Tags, en.Links, en.Target = nil, nil, "/p1"
		}
		m.Files[fmt.Sprintf("p%d/index.html", i)] = en
	}
	if _, err := saveManifest(dir, newManifest(), m, true); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, w, err := decodeManifestTable(raw)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, ManifestFile))
	idx, strs, gen, err := readIndex(dir, fi)
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	if !reflect.DeepEqual(idx.Files, fromJSON.Files) || idx.Cursor != 7 || idx.Stage != "spring" || idx.Version != manifestVersion ||
		gen != w.Gen || !reflect.DeepEqual(strs, w.Strings) {
		t.Fatalf("the index reads another manifest than the JSON base")
	}
	// An incremental export's log line applies over the index.
	old, _, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	next := &Manifest{Version: manifestVersion, Cursor: 8, Stage: "spring", Files: map[string]*Entry{}}
	for p, en := range old.Files {
		next.Files[p] = en
	}
	next.Files["p1/index.html"] = &Entry{URL: "/p1", Kind: KindPage, SHA256: fmt.Sprintf("%064x", 999), Tags: []string{"new:1"}}
	delete(next.Files, "p2/index.html")
	if base, err := saveManifest(dir, old, next, false); err != nil || base != nil {
		t.Fatalf("incremental: base %v, %v", base != nil, err)
	}
	if got, _, err := ReadManifest(dir); err != nil || !reflect.DeepEqual(got.Files, next.Files) || got.Cursor != 8 {
		t.Fatalf("index and log: %v", err)
	}

	// The base edited by hand (another size and time): the index is stale.
	edited := append([]byte(nil), raw...)
	edited = append(edited[:len(edited)-1], ' ', '}')
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), edited, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(filepath.Join(dir, ManifestFile))
	if _, _, _, err := readIndex(dir, fi); err != errStaleIndex {
		t.Fatalf("an index of another base: %v", err)
	}
	// The same size, another time.
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, ManifestFile), later, later); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(filepath.Join(dir, ManifestFile))
	if _, _, _, err := readIndex(dir, fi); err != errStaleIndex {
		t.Fatalf("an index of another base (time): %v", err)
	}
	if got, _, err := ReadManifest(dir); err != nil || !reflect.DeepEqual(got.Files, next.Files) {
		t.Fatalf("the JSON base and log: %v", err)
	}

	// A damaged index: any byte changed is caught by its checksum.
	if _, err := saveManifest(dir, newManifest(), m, true); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(filepath.Join(dir, ManifestFile))
	ix, _ := os.ReadFile(filepath.Join(dir, ManifestIndexFile))
	for _, at := range []int{len(indexMagic) + 3, len(ix) / 2, len(ix) - 1} {
		bad := append([]byte(nil), ix...)
		bad[at] ^= 0x20
		if err := os.WriteFile(filepath.Join(dir, ManifestIndexFile), bad, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(filepath.Join(dir, ManifestFile), fi.ModTime(), fi.ModTime())
		if _, _, _, err := readIndex(dir, fi); err == nil {
			t.Fatalf("byte %d changed: read", at)
		}
		if got, _, err := ReadManifest(dir); err != nil || !reflect.DeepEqual(got.Files, m.Files) {
			t.Fatalf("byte %d changed: the JSON base not read: %v", at, err)
		}
	}
	// Missing: the JSON base.
	os.Remove(filepath.Join(dir, ManifestIndexFile))
	if got, _, err := ReadManifest(dir); err != nil || !reflect.DeepEqual(got.Files, m.Files) {
		t.Fatalf("no index: %v", err)
	}
}
