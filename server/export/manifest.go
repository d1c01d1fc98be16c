package export

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/trovato/trovato/core"
)

// ManifestFile is the manifest's name inside the export folder. Deploys
// skip it; static servers may serve it (it holds nothing secret).
const ManifestFile = ".trovato-export.json"

// manifestVersion changes when the manifest's meaning does; an export
// finding another version renders everything again. Version 2 is version
// 1 with every tag and link written once, in a string table; version 3
// writes an entry's indexes as one string (packedIndexes).
const manifestVersion = 3

// Entry kinds.
const (
	KindPage     = "page"     // a rendered URL: HTML, XML, text
	KindFile     = "file"     // an uploaded file or image derivative (content-addressed)
	KindAsset    = "asset"    // a theme asset under its hashed name
	KindRedirect = "redirect" // a meta-refresh page standing for a 301
	KindExtra    = "extra"    // made by the export itself: 404.html, the nginx map
)

// Manifest lists every file of an export with its hash and what it
// depends on, and the change-feed cursor the export was built at.
type Manifest struct {
	Version int               `json:"version"`
	Cursor  core.FeedCursor   `json:"cursor"`
	Stage   string            `json:"stage,omitempty"`
	Files   map[string]*Entry `json:"files"` // by file path relative to the export folder
}

// Entry is one output file.
type Entry struct {
	// URL is the path the file answers (for pages, the server's URL).
	URL    string `json:"url"`
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Tags are the page-cache tags the page was built from; a change that
	// bumps one of them makes the page render again.
	Tags []string `json:"tags,omitempty"`
	// Links are the internal URLs the file refers to (pages, files,
	// assets): what the export keeps is what the roots reach.
	Links []string `json:"links,omitempty"`
	// Target is where a redirect points.
	Target string `json:"target,omitempty"`
}

func newManifest() *Manifest {
	return &Manifest{Version: manifestVersion, Files: map[string]*Entry{}}
}

// ReadManifest reads DIR/.trovato-export.json; a missing file is an empty
// manifest (ok false), a damaged one an EInvalid error.
func ReadManifest(dir string) (*Manifest, bool, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return newManifest(), false, nil
	} else if err != nil {
		return nil, false, err
	}
	m, err := decodeManifest(raw)
	if err != nil {
		return nil, false, core.Errorf(core.EInvalid, "%s: %s (delete it to export everything again)", filepath.Join(dir, ManifestFile), err)
	}
	return m, true, nil
}

// wireManifest is a manifest as files hold it: from version 2 the tags
// and links of the entries are indexes into Strings (a page's frame links
// and tags repeat on every page: this makes the manifest about ten times
// smaller, and its reading and writing as much faster); from version 3
// each entry's indexes are one packed string (three times smaller again,
// and a single JSON value to read). Versions 1 and 2 are read too.
type wireManifest struct {
	Version int                   `json:"version"`
	Cursor  core.FeedCursor       `json:"cursor"`
	Stage   string                `json:"stage,omitempty"`
	Strings []string              `json:"strings,omitempty"`
	Files   map[string]*wireEntry `json:"files"`
}

type wireEntry struct {
	URL    string   `json:"url"`
	Kind   string   `json:"kind"`
	SHA256 string   `json:"sha256"`
	Size   int64    `json:"size"`
	Tags   []string `json:"tags,omitempty"`  // version 1
	Links  []string `json:"links,omitempty"` // version 1
	T      []int    `json:"t,omitempty"`     // version 2
	L      []int    `json:"l,omitempty"`     // version 2
	TP     string   `json:"tp,omitempty"`    // packedIndexes
	LP     string   `json:"lp,omitempty"`
	Target string   `json:"target,omitempty"`
}

func decodeManifest(raw []byte) (*Manifest, error) {
	var w wireManifest
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("not a manifest: %v", err)
	}
	m := &Manifest{Version: w.Version, Cursor: w.Cursor, Stage: w.Stage, Files: make(map[string]*Entry, len(w.Files))}
	str := func(idx []int, packed string, plain []string) ([]string, bool) {
		if packed != "" {
			var ok bool
			if idx, ok = unpackIndexes(packed); !ok {
				return nil, false
			}
		}
		if len(idx) == 0 {
			return plain, true
		}
		out := make([]string, len(idx))
		for i, n := range idx {
			if n < 0 || n >= len(w.Strings) {
				return nil, false
			}
			out[i] = w.Strings[n]
		}
		return out, true
	}
	for p, we := range w.Files {
		if we == nil {
			return nil, fmt.Errorf("bad entry %q", p)
		}
		tags, ok1 := str(we.T, we.TP, we.Tags)
		links, ok2 := str(we.L, we.LP, we.Links)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("bad entry %q: a string index out of range", p)
		}
		m.Files[p] = &Entry{URL: we.URL, Kind: we.Kind, SHA256: we.SHA256, Size: we.Size, Tags: tags, Links: links, Target: we.Target}
	}
	for p, e := range m.Files {
		if e == nil || !safeRel(p) || len(e.SHA256) != 64 {
			return nil, fmt.Errorf("bad entry %q", p)
		}
	}
	return m, nil
}

// encode writes the manifest (version 2, wireManifest) with sorted keys
// and the string table in the order of first use along sorted paths, so
// the same manifest is the same bytes.
func (m *Manifest) encode() ([]byte, error) {
	w := wireManifest{Version: manifestVersion, Cursor: m.Cursor, Stage: m.Stage, Files: make(map[string]*wireEntry, len(m.Files))}
	index := map[string]int{}
	var buf []byte
	intern := func(list []string) string {
		if len(list) == 0 {
			return ""
		}
		buf = buf[:0]
		for _, s := range list {
			n, ok := index[s]
			if !ok {
				n = len(w.Strings)
				index[s] = n
				w.Strings = append(w.Strings, s)
			}
			buf = binary.AppendUvarint(buf, uint64(n))
		}
		return base64.RawURLEncoding.EncodeToString(buf)
	}
	for _, p := range m.Paths() {
		e := m.Files[p]
		w.Files[p] = &wireEntry{URL: e.URL, Kind: e.Kind, SHA256: e.SHA256, Size: e.Size, TP: intern(e.Tags), LP: intern(e.Links), Target: e.Target}
	}
	return json.Marshal(&w)
}

// packedIndexes are string-table indexes as unsigned varints, in
// unpadded URL-safe base64 (unpackIndexes reads them).
func unpackIndexes(s string) ([]int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	out := make([]int, 0, len(b))
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > 1<<31 {
			return nil, false
		}
		out = append(out, int(n))
		b = b[k:]
	}
	return out, true
}

// Paths returns the manifest's file paths, sorted.
func (m *Manifest) Paths() []string {
	out := make([]string, 0, len(m.Files))
	for p := range m.Files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeAtomic writes a file through a temporary file and a rename, so a
// reader (a web server) never sees half a file.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
	}
	return werr
}
