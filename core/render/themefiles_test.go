package render

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
)

func writeTarGz(t *testing.T, path string, files [][2]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeZip(t *testing.T, path string, files [][2]string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

const testManifest = "name: acme\nregions: [header, content, promo]\n"

func TestReadThemeArchive(t *testing.T) {
	dir := t.TempDir()
	good := [][2]string{
		{"acme/theme.yaml", testManifest},
		{"acme/templates/element--heading.html", `<h{{.Level}}{{.Attributes}}>{{.TextHTML}}</h{{.Level}}>`},
		{"acme/assets/acme.css", "body{}"},
		{"acme/src/notes.txt", "skipped"},
	}
	for _, tc := range []struct {
		name  string
		file  string
		write func(*testing.T, string, [][2]string)
	}{{"TarGz", "acme.tar.gz", writeTarGz}, {"Zip", "acme.zip", writeZip}} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.file)
			tc.write(t, p, good)
			th, err := ReadTheme(p)
			if err != nil {
				t.Fatal(err)
			}
			if th.Manifest.Name != "acme" || th.Manifest.Base != DefaultThemeName || len(th.Files) != 3 || string(th.Files["assets/acme.css"]) != "body{}" {
				t.Fatalf("read %+v, files %v", th.Manifest, th.Files)
			}
			r, err := NewTheme(th, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if info := r.Theme(); info.Name != "acme" || !r.HasRegion("promo") || r.HasRegion("sidebar") || r.Asset("acme.css") == "" || r.Asset("style.css") == "" {
				t.Fatalf("renderer %+v", info)
			}
		})
	}
	bad := []struct {
		name  string
		files [][2]string
		want  string
	}{
		{"ErrNoManifest", [][2]string{{"templates/page.html", "x"}}, "no theme.yaml"},
		{"ErrTraversal", [][2]string{{"theme.yaml", testManifest}, {"../evil.html", "x"}}, "without .."},
		{"ErrName", [][2]string{{"theme.yaml", "name: Bad Name\n"}}, "name \"Bad Name\""},
		{"ErrDefaultName", [][2]string{{"theme.yaml", "name: default\n"}}, "built-in"},
		{"ErrUnknownKey", [][2]string{{"theme.yaml", "name: a\ncolour: red\n"}}, "colour"},
		{"ErrRegion", [][2]string{{"theme.yaml", "name: a\nregions: [Main]\n"}}, "region \"Main\""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name+".tar.gz")
			writeTarGz(t, p, tc.files)
			_, err := ReadTheme(p)
			if core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want EINVALID with %q", err, tc.want)
			}
		})
	}
	if _, err := ReadTheme(filepath.Join(dir, "x.rar")); core.ErrorCode(err) != core.EInvalid {
		t.Fatalf("unknown archive: %v", err)
	}
	notGz := filepath.Join(dir, "junk.tgz")
	if err := os.WriteFile(notGz, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTheme(notGz); core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "gzip") {
		t.Fatalf("junk archive: %v", err)
	}
}

func TestNewThemeErrors(t *testing.T) {
	th := &Theme{Manifest: ThemeManifest{Name: "acme", Base: DefaultThemeName}, Files: map[string][]byte{
		"theme.yaml":                      []byte(testManifest),
		"templates/element--heading.html": []byte("<h2>\n\n{{.Nope}}</h2>"),
	}}
	_, err := NewTheme(th, nil, Options{})
	var te *TemplateError
	if !errors.As(err, &te) || te.Error() != `templates/element--heading.html:3: executing "element--heading.html" at <.Nope>: can't evaluate field Nope in type render.Element` {
		t.Fatalf("got %v", err)
	}
	loop := &Theme{Manifest: ThemeManifest{Name: "a", Base: "b"}, Files: map[string][]byte{}}
	lookup := func(name string) (*Theme, error) {
		return &Theme{Manifest: ThemeManifest{Name: name, Base: "a"}, Files: map[string][]byte{}}, nil
	}
	if _, err := NewTheme(loop, lookup, Options{}); core.ErrorCode(err) != core.EInvalid || !strings.Contains(err.Error(), "loops") {
		t.Fatalf("loop: %v", err)
	}
}
