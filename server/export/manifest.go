package export

import (
	"crypto/sha256"
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
// finding another version renders everything again.
const manifestVersion = 1

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

func decodeManifest(raw []byte) (*Manifest, error) {
	m := newManifest()
	if err := json.Unmarshal(raw, m); err != nil {
		return nil, fmt.Errorf("not a manifest: %v", err)
	}
	if m.Files == nil {
		m.Files = map[string]*Entry{}
	}
	for p, e := range m.Files {
		if e == nil || !safeRel(p) || len(e.SHA256) != 64 {
			return nil, fmt.Errorf("bad entry %q", p)
		}
	}
	return m, nil
}

// encode writes the manifest with sorted keys (maps marshal sorted).
func (m *Manifest) encode() ([]byte, error) {
	return json.Marshal(m)
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
