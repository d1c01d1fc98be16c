package admin_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/trovato/trovato/server/admin"
)

func get(t *testing.T, h http.Handler, target string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = z
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuilt(t *testing.T) {
	js := strings.Repeat("console.log('editor');", 50)
	h := admin.New(fstest.MapFS{
		"index.html":          {Data: []byte(`<!doctype html><script type="module" src="/admin/assets/index-abc.js"></script>`)},
		"assets/index-abc.js": {Data: []byte(js)},
	})
	for _, p := range []string{"/admin/", "/admin/content", "/admin/content/0190/revisions", "/admin/stages/spring"} {
		res := get(t, h, p)
		if res.StatusCode != 200 || !strings.Contains(body(t, res), "index-abc.js") {
			t.Errorf("%s: %d, want the app's index.html", p, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
	}
	res := get(t, h, "/admin/assets/index-abc.js", "Accept-Encoding", "br, gzip")
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" || body(t, res) != js {
		t.Errorf("asset: %d %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
		t.Errorf("asset Cache-Control %q", cc)
	}
	if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("asset Content-Type %q", ct)
	}
	if res := get(t, h, "/admin/assets/index-abc.js", "Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
	if res := get(t, h, "/admin/assets/old-123.js"); res.StatusCode != 404 {
		t.Errorf("missing asset: %d, want 404", res.StatusCode)
	}
	if res := get(t, h, "/admin"); res.StatusCode != 301 || res.Header.Get("Location") != "/admin/" {
		t.Errorf("/admin: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res := get(t, h, "/admin/../../etc/passwd"); res.StatusCode != 200 || !strings.Contains(body(t, res), "index-abc.js") {
		t.Errorf("dot segments: %d", res.StatusCode)
	}
	req := httptest.NewRequest(http.MethodPost, "/admin/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 405 {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestNotBuilt(t *testing.T) {
	h := admin.New(fstest.MapFS{".gitkeep": {Data: nil}})
	res := get(t, h, "/admin/content")
	b := body(t, res)
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, "not built: run <code>make frontend</code>") {
		t.Errorf("%d %s", res.StatusCode, b)
	}
}

// TestEmbedded serves whatever the binary holds: the build, or the page
// saying how to make it.
func TestEmbedded(t *testing.T) {
	res := get(t, admin.Handler(), "/admin/")
	b := body(t, res)
	switch res.StatusCode {
	case 200:
		if !strings.Contains(b, "/admin/assets/") {
			t.Errorf("index.html names no asset under /admin/assets/: %s", b)
		}
	case 503:
		if !strings.Contains(b, "make frontend") {
			t.Errorf("not-built page: %s", b)
		}
	default:
		t.Errorf("status %d", res.StatusCode)
	}
}
