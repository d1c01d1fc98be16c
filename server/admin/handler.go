// Package admin serves the editor UI (the build of frontend/, embedded by
// package frontend) at /admin/: hashed assets with a year-long immutable
// cache, every other path answered with index.html so the app's own
// router takes it (the SPA fallback), and a plain page saying how to build
// the editor when the binary was built without it. The UI talks only to
// /api/v1; this package serves files and nothing else.
package admin

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/trovato/trovato/frontend"
)

// Prefix is where the editor is mounted.
const Prefix = "/admin/"

// Handler serves the embedded editor build at /admin/.
func Handler() http.Handler {
	sub, err := fs.Sub(frontend.Dist, "dist")
	if err != nil {
		panic(err) // the embed always has dist
	}
	return New(sub)
}

// New serves the editor from dist (a folder holding index.html and
// assets/); for tests and the desktop app.
func New(dist fs.FS) http.Handler {
	h := &handler{dist: dist, gz: map[string][]byte{}}
	if b, err := fs.ReadFile(dist, "index.html"); err == nil {
		h.index = b
	}
	return h
}

type handler struct {
	dist  fs.FS
	index []byte // nil: the editor is not built

	mu sync.Mutex
	gz map[string][]byte // asset path -> gzipped body
}

// notBuilt is the page served when the binary holds no editor build.
const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Editor not built</title></head>
<body><main><h1>The editor is not built</h1>
<p>The editor is not built: run <code>make frontend</code> (or <code>make build</code>), then rebuild and restart the server.</p>
</main></body></html>
`

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/admin" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	if !strings.HasPrefix(p, Prefix) {
		http.NotFound(w, r)
		return
	}
	rel := strings.TrimPrefix(path.Clean(p), "/admin")
	rel = strings.TrimPrefix(rel, "/")
	if h.index == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(notBuilt))
		}
		return
	}
	if strings.HasPrefix(rel, "assets/") {
		h.serveAsset(w, r, rel)
		return
	}
	// Everything else is a screen of the app: index.html, never cached
	// (it names the current hashed assets).
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Robots-Tag", "noindex")
	if r.Method != http.MethodHead {
		_, _ = w.Write(h.index)
	}
}

// serveAsset answers a hashed asset: immutable for a year, gzipped for
// clients that take it. A missing asset is 404, never index.html (a stale
// page asking for an old chunk must fail visibly, not parse HTML as JS).
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, rel string) {
	b, err := fs.ReadFile(h.dist, rel)
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(rel))
	if ct == "" {
		ct = "application/octet-stream"
	}
	hd := w.Header()
	hd.Set("Content-Type", ct)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Add("Vary", "Accept-Encoding")
	if compressible(ct) && acceptsGzip(r) {
		if z := h.gzipped(rel, b); z != nil {
			hd.Set("Content-Encoding", "gzip")
			b = z
		}
	}
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

func (h *handler) gzipped(rel string, b []byte) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	if z, ok := h.gz[rel]; ok {
		return z
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	if zw.Close() != nil {
		return nil
	}
	h.gz[rel] = buf.Bytes()
	return h.gz[rel]
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") || strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		if v, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if q, err := strconv.ParseFloat(v, 64); err == nil && q == 0 {
				return false
			}
		}
		return true
	}
	return false
}
