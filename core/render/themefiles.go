package render

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/trovato/trovato/core"
)

// ManifestFile is a site theme's manifest, at the root of its folder or archive.
const ManifestFile = "theme.yaml"

// DefaultThemeName names the embedded default theme, the base of every
// site theme chain.
const DefaultThemeName = "default"

// Limits of a site theme: its files and their sizes.
const (
	MaxThemeFiles     = 500
	MaxThemeFileBytes = 5 << 20
	MaxThemeBytes     = 20 << 20
)

// ThemeManifest is theme.yaml:
//
//	name: acme            # [a-z][a-z0-9_-]*, not "default"
//	label: Acme
//	version: 1.2.0
//	description: ...
//	base: default         # the theme it extends file by file: default, or another installed theme
//	regions: [header, navigation, content, sidebar, footer]   # empty: the base theme's
type ThemeManifest struct {
	Name        string   `yaml:"name" json:"name"`
	Label       string   `yaml:"label,omitempty" json:"label,omitempty"`
	Version     string   `yaml:"version,omitempty" json:"version,omitempty"`
	Description string   `yaml:"description,omitempty" json:"description,omitempty"`
	Base        string   `yaml:"base,omitempty" json:"base,omitempty"`
	Regions     []string `yaml:"regions,omitempty" json:"regions,omitempty"`
}

// Theme is a site theme read from a folder, an archive or the database:
// its manifest and its files (theme.yaml, templates/*.html, assets/...)
// by slash-separated path.
type Theme struct {
	Manifest ThemeManifest
	Files    map[string][]byte
}

// FS returns the theme's files as a file system.
func (t *Theme) FS() fs.FS {
	m := make(fstest.MapFS, len(t.Files))
	for p, b := range t.Files {
		m[p] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	return m
}

// isName reports whether s is a theme or region name: a lower-case
// letter, then up to 62 lower-case letters, digits, '_' or '-'.
func isName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseThemeManifest reads theme.yaml. Errors are EInvalid and name the
// file (and the line, for YAML syntax).
func ParseThemeManifest(data []byte) (m ThemeManifest, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = core.Errorf(core.EInvalid, "%s: YAML parser failed: %v", ManifestFile, r)
		}
	}()
	if err := yaml.UnmarshalWithOptions(data, &m, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		return m, core.Errorf(core.EInvalid, "%s: %s", ManifestFile, strings.ReplaceAll(err.Error(), "\n", " "))
	}
	switch {
	case !isName(m.Name):
		return m, core.Errorf(core.EInvalid, "%s: name %q must be a lower-case letter then letters, digits, _ or - (at most 63)", ManifestFile, m.Name)
	case m.Name == DefaultThemeName:
		return m, core.Errorf(core.EInvalid, "%s: name %q is the built-in theme's", ManifestFile, m.Name)
	case m.Base != "" && !isName(m.Base):
		return m, core.Errorf(core.EInvalid, "%s: base %q is not a theme name", ManifestFile, m.Base)
	case m.Base == m.Name:
		return m, core.Errorf(core.EInvalid, "%s: a theme cannot be its own base", ManifestFile)
	}
	if m.Base == "" {
		m.Base = DefaultThemeName
	}
	seen := map[string]bool{}
	for _, r := range m.Regions {
		if !isName(r) || seen[r] {
			return m, core.Errorf(core.EInvalid, "%s: region %q is not a name or is listed twice", ManifestFile, r)
		}
		seen[r] = true
	}
	return m, nil
}

// themePath cleans a path inside a theme and reports whether the theme
// keeps it: theme.yaml, templates/*.html and files under assets/. Other
// files (READMEs, sources) are not part of the theme and are skipped.
func themePath(p string) (string, bool, error) {
	p = strings.TrimPrefix(filepath.ToSlash(p), "./")
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || !fs.ValidPath(p) {
		return "", false, core.Errorf(core.EInvalid, "theme file %q: the path must be relative, without .. or \\", p)
	}
	switch {
	case p == ManifestFile:
		return p, true, nil
	case strings.HasPrefix(p, "templates/"):
		name := strings.TrimPrefix(p, "templates/")
		return p, !strings.Contains(name, "/") && path.Ext(name) == ".html", nil
	case strings.HasPrefix(p, "assets/"):
		for _, part := range strings.Split(p, "/") {
			if strings.HasPrefix(part, ".") {
				return p, false, nil // editor swap files, .DS_Store
			}
		}
		return p, true, nil
	}
	return p, false, nil
}

// themeCollector gathers a theme's files within the limits.
type themeCollector struct {
	files map[string][]byte
	total int64
}

func (c *themeCollector) add(p string, size int64, open func() (io.ReadCloser, error)) error {
	p, keep, err := themePath(p)
	if err != nil || !keep {
		return err
	}
	if _, dup := c.files[p]; dup {
		return core.Errorf(core.EInvalid, "theme file %s appears twice", p)
	}
	if len(c.files) >= MaxThemeFiles {
		return core.Errorf(core.ETooLarge, "the theme has more than %d files", MaxThemeFiles)
	}
	if size > MaxThemeFileBytes {
		return core.Errorf(core.ETooLarge, "theme file %s is larger than %d bytes", p, MaxThemeFileBytes)
	}
	rc, err := open()
	if err != nil {
		return fmt.Errorf("read theme file %s: %w", p, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxThemeFileBytes+1))
	if err != nil {
		return core.Errorf(core.EInvalid, "read theme file %s: %v", p, err)
	}
	if len(b) > MaxThemeFileBytes {
		return core.Errorf(core.ETooLarge, "theme file %s is larger than %d bytes", p, MaxThemeFileBytes)
	}
	c.total += int64(len(b))
	if c.total > MaxThemeBytes {
		return core.Errorf(core.ETooLarge, "the theme is larger than %d bytes", MaxThemeBytes)
	}
	c.files[p] = b
	return nil
}

// ReadThemeFS reads a theme from a file system whose root holds theme.yaml.
func ReadThemeFS(fsys fs.FS) (*Theme, error) {
	c := &themeCollector{files: map[string][]byte{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			if strings.HasPrefix(d.Name(), ".") || (!strings.Contains(p, "/") && p != "templates" && p != "assets") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symlinks and devices are not theme files
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return c.add(p, info.Size(), func() (io.ReadCloser, error) { return fsys.Open(p) })
	})
	if err != nil {
		if core.ErrorCode(err) != core.EInternal {
			return nil, err
		}
		return nil, core.Errorf(core.EInvalid, "read theme: %v", err)
	}
	return c.theme()
}

// ReadThemeDir reads a theme folder.
func ReadThemeDir(dir string) (*Theme, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "theme %s: %v", dir, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return nil, core.Errorf(core.EInvalid, "theme %s is not a folder", dir)
	}
	return ReadThemeFS(os.DirFS(dir))
}

// ReadThemeArchive reads a theme from a .tar.gz (.tgz) or .zip archive
// whose root, or single top folder, holds theme.yaml.
func ReadThemeArchive(file string) (*Theme, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "theme archive %s: %v", file, errors.Unwrap(err))
	}
	var c *themeCollector
	switch lower := strings.ToLower(file); {
	case strings.HasSuffix(lower, ".zip"):
		c, err = readZip(data)
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		c, err = readTarGz(data)
	default:
		return nil, core.Errorf(core.EInvalid, "theme archive %s: only .tar.gz, .tgz and .zip are read", file)
	}
	if err != nil {
		if core.ErrorCode(err) == core.EInternal {
			err = core.Errorf(core.EInvalid, "%v", err)
		}
		return nil, fmt.Errorf("theme archive %s: %w", file, err)
	}
	return c.theme()
}

// ReadTheme reads a theme folder or archive.
func ReadTheme(src string) (*Theme, error) {
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		return ReadThemeDir(src)
	}
	return ReadThemeArchive(src)
}

// archiveEntry is one regular file of an archive.
type archiveEntry struct {
	name string
	size int64
	open func() (io.ReadCloser, error)
}

// collectArchive strips the archive's single top folder when theme.yaml
// is inside it rather than at the root.
func collectArchive(entries []archiveEntry) (*themeCollector, error) {
	prefix := ""
	atRoot := false
	for _, e := range entries {
		n := strings.TrimPrefix(e.name, "./")
		if n == ManifestFile {
			atRoot = true
		} else if dir, rest, ok := strings.Cut(n, "/"); ok && rest == ManifestFile && prefix == "" {
			prefix = dir + "/"
		}
	}
	if atRoot {
		prefix = ""
	}
	c := &themeCollector{files: map[string][]byte{}}
	for _, e := range entries {
		n := strings.TrimPrefix(e.name, "./")
		rest, ok := strings.CutPrefix(n, prefix)
		if !ok {
			continue
		}
		if err := c.add(rest, e.size, e.open); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func readZip(data []byte) (*themeCollector, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "not a zip archive: %v", err)
	}
	var entries []archiveEntry
	for _, f := range zr.File {
		if !f.Mode().IsRegular() {
			continue
		}
		entries = append(entries, archiveEntry{name: f.Name, size: int64(f.UncompressedSize64), open: f.Open})
	}
	return collectArchive(entries)
}

func readTarGz(data []byte) (*themeCollector, error) {
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "not a gzip archive: %v", err)
	}
	tr := tar.NewReader(io.LimitReader(gz, MaxThemeBytes*2))
	var entries []archiveEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, core.Errorf(core.EInvalid, "not a tar archive: %v", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > MaxThemeFileBytes {
			return nil, core.Errorf(core.ETooLarge, "theme file %s is larger than %d bytes", h.Name, MaxThemeFileBytes)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, core.Errorf(core.EInvalid, "read %s: %v", h.Name, err)
		}
		entries = append(entries, archiveEntry{name: h.Name, size: int64(len(b)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}})
		if len(entries) > MaxThemeFiles*2 {
			return nil, core.Errorf(core.ETooLarge, "the archive has more than %d files", MaxThemeFiles*2)
		}
	}
	return collectArchive(entries)
}

func (c *themeCollector) theme() (*Theme, error) {
	src, ok := c.files[ManifestFile]
	if !ok {
		return nil, core.Errorf(core.EInvalid, "the theme has no %s (name, base, regions)", ManifestFile)
	}
	m, err := ParseThemeManifest(src)
	if err != nil {
		return nil, err
	}
	return &Theme{Manifest: m, Files: c.files}, nil
}

// ThemeLookup finds an installed theme by name, for base chains; it
// returns ENOTFOUND for a theme that is not installed.
type ThemeLookup func(name string) (*Theme, error)

// NewTheme builds a Renderer for a site theme: the theme's files first,
// then those of its base chain (installed themes found through lookup),
// then the default theme. Regions are the first the chain declares (the
// default theme's: DefaultRegions). Template errors are *TemplateError
// with the file and line; a missing or circular base is EInvalid.
func NewTheme(t *Theme, lookup ThemeLookup, opts Options) (*Renderer, error) {
	layers := []fs.FS{t.FS()}
	regions := t.Manifest.Regions
	seen := map[string]bool{t.Manifest.Name: true}
	for base := t.Manifest.Base; base != "" && base != DefaultThemeName; {
		if seen[base] {
			return nil, core.Errorf(core.EInvalid, "theme %s: its base chain loops through %s", t.Manifest.Name, base)
		}
		seen[base] = true
		if lookup == nil {
			return nil, core.Errorf(core.EInvalid, "theme %s: base theme %s is not installed", t.Manifest.Name, base)
		}
		bt, err := lookup(base)
		if core.ErrorCode(err) == core.ENotFound {
			return nil, core.Errorf(core.EInvalid, "theme %s: base theme %s is not installed (install it first)", t.Manifest.Name, base)
		} else if err != nil {
			return nil, err
		}
		layers = append(layers, bt.FS())
		if len(regions) == 0 {
			regions = bt.Manifest.Regions
		}
		base = bt.Manifest.Base
	}
	layers = append(layers, DefaultTheme())
	if len(regions) == 0 {
		regions = DefaultRegions
	}
	opts.Base = nil
	opts.layers = layers
	opts.Name = t.Manifest.Name
	opts.Regions = regions
	return New(layers[0], opts)
}

// ThemeInfo describes the theme a Renderer was built from.
type ThemeInfo struct {
	Name    string    // DefaultThemeName for the default theme
	Regions []string  // the regions tiles may be placed in
	Built   time.Time // when the renderer was built
}

// Theme describes the theme the renderer renders with.
func (r *Renderer) Theme() ThemeInfo { return r.info }

// HasRegion reports whether the theme declares a region.
func (r *Renderer) HasRegion(name string) bool { return slices.Contains(r.info.Regions, name) }
