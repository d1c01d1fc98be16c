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

	// store is where the manifest was read from: its base file and log
	// (manifestlog.go); zero for a manifest not read from a folder.
	store logState
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

// set puts en at path rel; nil removes the path.
func (m *Manifest) set(rel string, en *Entry) {
	if en == nil {
		delete(m.Files, rel)
	} else {
		m.Files[rel] = en
	}
}

// ReadManifest reads DIR/.trovato-export.json and the changes logged
// since it was written (DIR/.trovato-export.log, manifestlog.go); a
// missing file is an empty manifest (ok false), a damaged one an EInvalid
// error.
func ReadManifest(dir string) (*Manifest, bool, error) {
	fi, err := os.Stat(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return newManifest(), false, nil
	} else if err != nil {
		return nil, false, err
	}
	// The binary index of this base, when there is one (a few
	// milliseconds), else the JSON base.
	m, strs, gen, err := readIndex(dir, fi)
	if err == nil {
		m.store = logState{gen: gen, strs: strs, baseSize: fi.Size()}
	} else {
		raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
		if err != nil {
			return nil, false, err
		}
		var w *wireManifest
		if m, w, err = decodeManifestTable(raw); err != nil {
			return nil, false, core.Errorf(core.EInvalid, "%s: %s (delete it to export everything again)", filepath.Join(dir, ManifestFile), err)
		}
		m.store = logState{gen: w.Gen, strs: w.Strings, baseSize: int64(len(raw))}
	}
	if err := m.applyLog(dir); err != nil {
		return nil, false, core.Errorf(core.EInvalid, "%s: %s (delete it and %s to export everything again)", filepath.Join(dir, ManifestLogFile), err, ManifestFile)
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
	Gen     string                `json:"gen,omitempty"` // names the base its log records follow
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
	// Same (log lines only): the tags and links are those of the entry
	// this one replaces.
	Same bool `json:"same,omitempty"`
}

func decodeManifest(raw []byte) (*Manifest, error) {
	m, _, err := decodeManifestTable(raw)
	return m, err
}

// decodeManifestTable is decodeManifest that also returns the wire form
// (its string table and generation).
func decodeManifestTable(raw []byte) (*Manifest, *wireManifest, error) {
	var w wireManifest
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, nil, fmt.Errorf("not a manifest: %v", err)
	}
	m := &Manifest{Version: w.Version, Cursor: w.Cursor, Stage: w.Stage, Files: make(map[string]*Entry, len(w.Files))}
	var sl slab
	for p, we := range w.Files {
		en, err := we.entryIn(p, w.Strings, &sl)
		if err != nil {
			return nil, nil, err
		}
		m.Files[p] = en
	}
	return m, &w, nil
}

// entry is the wire entry at path p with its indexes resolved in table.
func (we *wireEntry) entry(p string, table []string) (*Entry, error) {
	return we.entryIn(p, table, &slab{})
}

// slab hands out string slices from shared arrays and decodes packed
// indexes through one buffer: a manifest's thousands of tag and link
// lists cost a few allocations, not two each.
type slab struct {
	free []string
	buf  []byte
}

// take returns a slice of n strings (full: an append copies).
func (sl *slab) take(n int) []string {
	if n > len(sl.free) {
		sl.free = make([]string, max(n, 16384))
	}
	out := sl.free[:n:n]
	sl.free = sl.free[n:]
	return out
}

// unpack resolves packed indexes in table: packed indexes are
// string-table indexes as unsigned varints, in unpadded URL-safe base64.
func (sl *slab) unpack(packed string, table []string) ([]string, bool) {
	n := base64.RawURLEncoding.DecodedLen(len(packed))
	if cap(sl.buf) < n {
		sl.buf = make([]byte, n)
	}
	b := sl.buf[:n]
	k, err := base64.RawURLEncoding.Decode(b, []byte(packed))
	if err != nil {
		return nil, false
	}
	b = b[:k]
	count := 0
	for _, c := range b {
		if c < 0x80 {
			count++
		}
	}
	out := sl.take(count)
	for i := range out {
		v, w := binary.Uvarint(b)
		if w <= 0 || v >= uint64(len(table)) {
			return nil, false
		}
		out[i] = table[v]
		b = b[w:]
	}
	return out, len(b) == 0
}

func (we *wireEntry) entryIn(p string, table []string, sl *slab) (*Entry, error) {
	if we == nil {
		return nil, fmt.Errorf("bad entry %q", p)
	}
	str := func(idx []int, packed string, plain []string) ([]string, bool) {
		if packed != "" {
			return sl.unpack(packed, table)
		}
		if len(idx) == 0 {
			return plain, true
		}
		out := make([]string, len(idx))
		for i, n := range idx {
			if n < 0 || n >= len(table) {
				return nil, false
			}
			out[i] = table[n]
		}
		return out, true
	}
	tags, ok1 := str(we.T, we.TP, we.Tags)
	links, ok2 := str(we.L, we.LP, we.Links)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("bad entry %q: a string index out of range", p)
	}
	if !safeRel(p) || len(we.SHA256) != 64 {
		return nil, fmt.Errorf("bad entry %q", p)
	}
	return &Entry{URL: we.URL, Kind: we.Kind, SHA256: we.SHA256, Size: we.Size, Tags: tags, Links: links, Target: we.Target}, nil
}

// encode writes the manifest (version 2, wireManifest) with sorted keys
// and the string table in the order of first use along sorted paths, so
// the same manifest is the same bytes.
func (m *Manifest) encode() ([]byte, error) {
	raw, _, err := m.encodeBase("")
	return raw, err
}

// encodeBase is encode naming a generation (a base file's: its log's
// records name it) and returning what it wrote (its string table and
// packed entries: the index is made from them).
func (m *Manifest) encodeBase(gen string) ([]byte, *wireManifest, error) {
	w := wireManifest{Version: manifestVersion, Gen: gen, Cursor: m.Cursor, Stage: m.Stage, Files: make(map[string]*wireEntry, len(m.Files))}
	in := interner{index: map[string]int{}}
	for _, p := range m.Paths() {
		w.Files[p] = in.entry(m.Files[p])
	}
	w.Strings = in.added
	raw, err := json.Marshal(&w)
	return raw, &w, err
}

// interner writes entries with their strings as indexes into a table:
// index holds the table so far, added the strings it appended.
type interner struct {
	index map[string]int
	// known finds a string in the table before added, when index does
	// not hold that table.
	known func(string) (int, bool)
	size  int // strings in the table before added
	added []string
	buf   []byte
}

func (in *interner) entry(e *Entry) *wireEntry {
	return &wireEntry{URL: e.URL, Kind: e.Kind, SHA256: e.SHA256, Size: e.Size, TP: in.pack(e.Tags), LP: in.pack(e.Links), Target: e.Target}
}

// pack is list as packedIndexes, interning new strings.
func (in *interner) pack(list []string) string {
	if len(list) == 0 {
		return ""
	}
	in.buf = in.buf[:0]
	for _, s := range list {
		n, ok := in.index[s]
		if !ok && in.known != nil {
			if n, ok = in.known(s); ok {
				in.index[s] = n
			}
		}
		if !ok {
			n = in.size + len(in.added)
			in.index[s] = n
			in.added = append(in.added, s)
		}
		in.buf = binary.AppendUvarint(in.buf, uint64(n))
	}
	return base64.RawURLEncoding.EncodeToString(in.buf)
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
