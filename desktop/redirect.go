package desktop

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// WebviewRedirects makes redirects work in the window: WebKit does not
// follow a redirect answered to a custom-scheme (wails://) request, so a
// redirect of a page load (not of a script's fetch) becomes a small page
// that goes on to the target with a meta refresh. Only same-origin
// targets (a path) are followed; others are shown as a link.
func WebviewRedirects(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isNavigation(r) {
			h.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(&redirectWriter{ResponseWriter: w}, r)
	})
}

// isNavigation reports whether the webview loads r as a page (the
// address bar, a link, a form), not as a fetch from a script.
func isNavigation(r *http.Request) bool {
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" {
		return m == "navigate"
	}
	a := r.Header.Get("Accept")
	return a == "" || strings.Contains(a, "text/html")
}

type redirectWriter struct {
	http.ResponseWriter
	swallow bool
}

func (w *redirectWriter) WriteHeader(code int) {
	loc := w.Header().Get("Location")
	if code < 300 || code > 399 || code == http.StatusNotModified || loc == "" {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.swallow = true
	h := w.Header()
	for _, k := range []string{"Location", "Content-Length", "Content-Encoding", "Etag", "Last-Modified"} {
		h.Del(k)
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.ResponseWriter.WriteHeader(http.StatusOK)
	u, err := url.Parse(loc)
	same := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/")
	_ = redirectPage.Execute(w.ResponseWriter, struct {
		URL  string
		Same bool
	}{loc, same})
}

func (w *redirectWriter) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *redirectWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var redirectPage = template.Must(template.New("redirect").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">{{if .Same}}<meta http-equiv="refresh" content="0;url={{.URL}}">{{end}}<title>Moved</title></head>
<body><p>This page moved to <a href="{{.URL}}">{{.URL}}</a>.</p></body></html>
`))
