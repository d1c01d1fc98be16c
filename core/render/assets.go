package render

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Asset is one theme file served under a hashed URL.
type Asset struct {
	Name        string // path under assets/, for example style.css
	Hash        string // first 16 hex digits of the SHA-256 of Body
	URL         string // prefix + hash + "/" + name
	ContentType string
	Body        []byte
}

// loadAssets reads assets/ of every layer (the first layer having a name wins).
func loadAssets(layers []fs.FS, prefix string) (map[string]*Asset, error) {
	assets := map[string]*Asset{}
	for _, layer := range layers {
		err := fs.WalkDir(layer, "assets", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			name := strings.TrimPrefix(p, "assets/")
			if _, ok := assets[name]; ok {
				return nil
			}
			body, err := fs.ReadFile(layer, p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(body)
			hash := hex.EncodeToString(sum[:8])
			ct := mime.TypeByExtension(path.Ext(name))
			if ct == "" {
				ct = "application/octet-stream"
			}
			assets[name] = &Asset{Name: name, Hash: hash, URL: prefix + hash + "/" + name, ContentType: ct, Body: body}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read theme assets: %w", err)
		}
	}
	return assets, nil
}

// Asset returns the hashed URL of a theme asset (for example
// "/assets/3f2a9c0d1e4b5a6c/style.css"), or "" if the theme has no such file.
func (r *Renderer) Asset(name string) string {
	if a := r.assets[name]; a != nil {
		return a.URL
	}
	return ""
}

// LookupAsset finds the asset a request path names. current is false when
// the path's hash is not the asset's current hash (an older page asking
// for a previous version); the current bytes are returned then too.
func (r *Renderer) LookupAsset(urlPath string) (a *Asset, current bool, ok bool) {
	rest, found := strings.CutPrefix(urlPath, r.prefix)
	if !found {
		return nil, false, false
	}
	hash, name, found := strings.Cut(rest, "/")
	if !found {
		return nil, false, false
	}
	a = r.assets[name]
	if a == nil {
		return nil, false, false
	}
	return a, a.Hash == hash, true
}

// AssetHandler serves theme assets by hashed path. A current hash is
// cached for a year as immutable; an outdated one gets the current bytes
// with no-cache, so pages cached during a theme change still load.
func (r *Renderer) AssetHandler() http.Handler {
	modified := time.Unix(0, 0)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		a, current, ok := r.LookupAsset(req.URL.Path)
		if !ok {
			http.NotFound(w, req)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ContentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+a.Hash+`"`)
		if current {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, req, a.Name, modified, strings.NewReader(string(a.Body)))
	})
}
