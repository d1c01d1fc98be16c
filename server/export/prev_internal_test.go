package export

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// TestPrevExport: what an incremental export reads of the previous one
// through the index (entries by path, by URL, by tag, the redirects, the
// count) is what the whole manifest says, before and after a log line; a
// log line keeps an entry's lists by reference when they did not change;
// an index of an older format is read as missing and written again.
func TestPrevExport(t *testing.T) {
	dir := t.TempDir()
	m := newManifest()
	m.Cursor = 3
	for i := range 50 {
		en := &Entry{URL: fmt.Sprintf("/p%d", i), Kind: indexKinds[i%len(indexKinds)], SHA256: fmt.Sprintf("%064x", i), Size: int64(i),
			Tags: []string{"config:*", fmt.Sprintf("item:%d", i%7)}, Links: []string{"/", fmt.Sprintf("/p%d", (i+1)%50)}}
		if i%11 == 0 {
			en.Tags = []string{"*"}
		}
		m.Files[fmt.Sprintf("p%d/index.html", i)] = en
	}
	if _, err := saveManifest(dir, newManifest(), m, true); err != nil {
		t.Fatal(err)
	}
	// check compares what prev answers with want, entry by entry.
	check := func(t *testing.T, prev *prevExport, want *Manifest) {
		t.Helper()
		if prev.count != len(want.Files) {
			t.Errorf("count %d, want %d", prev.count, len(want.Files))
		}
		all, err := prev.all()
		if err != nil || !reflect.DeepEqual(all.Files, want.Files) || all.Cursor != want.Cursor {
			t.Fatalf("all: %v", err)
		}
		for rel, en := range want.Files {
			if got, err := prev.get(rel); err != nil || !reflect.DeepEqual(got, en) {
				t.Errorf("get(%s) = %+v, %v", rel, got, err)
			}
			if r, got, err := prev.atURL(en.URL); err != nil || r != rel || !reflect.DeepEqual(got, en) {
				t.Errorf("atURL(%s) = %s %+v, %v", en.URL, r, got, err)
			}
		}
		if got, _ := prev.get("nowhere/index.html"); got != nil {
			t.Errorf("a path not there: %+v", got)
		}
		if _, got, _ := prev.atURL("/nowhere"); got != nil {
			t.Errorf("a URL not there: %+v", got)
		}
		for _, tag := range []string{"item:3", "new:1", "config:*", "absent"} {
			wantStale := map[string]*Entry{}
			for rel, en := range want.Files {
				if (en.Kind == KindPage || en.Kind == KindRedirect) && (slices.Contains(en.Tags, tag) || slices.Contains(en.Tags, "*")) {
					wantStale[rel] = en
				}
			}
			if got, err := prev.stale(map[string]bool{tag: true}); err != nil || !reflect.DeepEqual(got, wantStale) {
				t.Errorf("stale(%s): %d entries, want %d (%v)", tag, len(got), len(wantStale), err)
			}
		}
		wantRedirects := map[string]*Entry{}
		for rel, en := range want.Files {
			if en.Kind == KindRedirect {
				wantRedirects[rel] = en
			}
		}
		if got, err := prev.redirects(); err != nil || !reflect.DeepEqual(got, wantRedirects) {
			t.Errorf("redirects: %v, %v", got, err)
		}
	}
	prev, found, err := openPrev(dir)
	if err != nil || !found || prev.idx == nil {
		t.Fatalf("open: found %v, index %v, %v", found, prev != nil && prev.idx != nil, err)
	}
	check(t, prev, m)

	// A log line: p1's bytes change (its lists do not), p50 is new with a
	// new tag, p2 goes, p3 becomes a redirect.
	changes := map[string]*Entry{
		"p1/index.html":  {URL: "/p1", Kind: KindAsset, SHA256: fmt.Sprintf("%064x", 1001), Size: 9, Tags: m.Files["p1/index.html"].Tags, Links: m.Files["p1/index.html"].Links},
		"p50/index.html": {URL: "/p50", Kind: KindPage, SHA256: fmt.Sprintf("%064x", 1050), Tags: []string{"new:1"}, Links: []string{"/p0"}},
		"p2/index.html":  nil,
		"p3/index.html":  {URL: "/p3", Kind: KindRedirect, SHA256: fmt.Sprintf("%064x", 1003), Tags: []string{"new:1"}, Target: "/p4"},
	}
	e := &Exporter{}
	n, err := e.saveChanges(t.Context(), dir, "", prev, changes, 4)
	if err != nil || n != 50 {
		t.Fatalf("save: %d files, %v", n, err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, ManifestLogFile))
	if !bytes.Contains(log, []byte(`"p1/index.html":{"url":"/p1","kind":"asset","sha256":"`+fmt.Sprintf("%064x", 1001)+`","size":9,"same":true}`)) {
		t.Errorf("p1's lists are written again: %s", log)
	}
	want := &Manifest{Version: manifestVersion, Cursor: 4, Files: map[string]*Entry{}}
	for rel, en := range m.Files {
		want.Files[rel] = en
	}
	for rel, en := range changes {
		want.set(rel, en)
	}
	if got, _, err := ReadManifest(dir); err != nil || !reflect.DeepEqual(got.Files, want.Files) || got.Cursor != 4 {
		t.Fatalf("ReadManifest after the line: %v", err)
	}
	if prev, _, err = openPrev(dir); err != nil || prev.idx == nil {
		t.Fatalf("open after the line: %v", err)
	}
	check(t, prev, want)

	// An index of version 1 is not read; the JSON base is, and the index
	// is written again.
	ix := filepath.Join(dir, ManifestIndexFile)
	raw, _ := os.ReadFile(ix)
	if err := os.WriteFile(ix, append([]byte("trovato-export-index 1\n"), raw[len(indexMagic):]...), 0o644); err != nil {
		t.Fatal(err)
	}
	if prev, _, err = openPrev(dir); err != nil || prev.idx != nil {
		t.Fatalf("a version 1 index was read: %v", err)
	}
	check(t, prev, want)
	if prev, _, err = openPrev(dir); err != nil || prev.idx == nil {
		t.Fatalf("the index was not written again: %v", err)
	}
	check(t, prev, want)
}

// TestUnreachable: what prevExport.unreachable finds through the index is
// what reach finds over the whole manifest (the manifest read without its
// index), for random link graphs with a log and changes over them.
func TestUnreachable(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for round := range 40 {
		dir := t.TempDir()
		n := 5 + r.IntN(60)
		url := func(i int) string { return fmt.Sprintf("/p%d", i) }
		rel := func(i int) string { return fmt.Sprintf("p%d/index.html", i) }
		entry := func(i int) *Entry {
			en := &Entry{URL: url(i), Kind: KindPage, SHA256: fmt.Sprintf("%064x", r.IntN(1000)), Tags: []string{"t"}}
			switch r.IntN(10) {
			case 0:
				en.Kind = KindExtra
			case 1:
				en.Kind = KindRedirect
			}
			for range r.IntN(4) {
				en.Links = append(en.Links, url(r.IntN(n+10))) // some lead nowhere
			}
			return en
		}
		m := newManifest()
		for i := range n {
			m.Files[rel(i)] = entry(i)
		}
		if _, err := saveManifest(dir, newManifest(), m, true); err != nil {
			t.Fatal(err)
		}
		// A log line, then changes over it: some entries replaced,
		// removed or new.
		shuffle := func() map[string]*Entry {
			ch := map[string]*Entry{}
			for range r.IntN(8) {
				i := r.IntN(n + 5)
				if r.IntN(3) == 0 {
					ch[rel(i)] = nil
				} else {
					ch[rel(i)] = entry(i)
				}
			}
			return ch
		}
		prev, _, err := openPrev(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := (&Exporter{}).saveChanges(t.Context(), dir, "", prev, shuffle(), 2); err != nil {
			t.Fatal(err)
		}
		prev, _, err = openPrev(dir)
		if err != nil || prev.idx == nil {
			t.Fatalf("open: %v", err)
		}
		changes := shuffle()
		roots := []string{url(0), url(r.IntN(n)), "/nowhere"}

		// The reference: reach over the whole manifest (what a manifest
		// read without its index gets).
		all, err := prev.all()
		if err != nil {
			t.Fatal(err)
		}
		want, err := (&prevExport{m: all, count: len(all.Files)}).unreachable(changes, roots)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		got, err := prev.unreachable(changes, roots)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("round %d, through the index: %v, want %v (%v)", round, got, want, err)
		}
	}
}
