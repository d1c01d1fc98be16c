package server_test

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/trovato/trovato/server"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden HTML files under testdata/golden")

// goldenPages are the demo pages whose HTML is checked in: the front
// page, an article, a category page (reached through its internal path,
// redirected to its alias), a gather page and the 404 page.
var goldenPages = []struct{ name, path string }{
	{"front", "/"},
	{"article", "/articles/staging-a-whole-site"},
	{"category", "/term/01900000-0000-7000-8000-000000000401"},
	{"gather", "/articles"},
	{"not-found", "/no/such/page"},
}

// TestGoldenPages renders the demo pages and compares them byte for byte
// with testdata/golden/NAME.html (go test ./server -run TestGoldenPages
// -update rewrites them). When the Nu HTML checker is installed
// (build/browser), the pages go through it too.
func TestGoldenPages(t *testing.T) {
	t.Parallel()
	_, _, srv := demoSite(t, server.Options{})
	var pages []demoPage
	for _, gp := range goldenPages {
		p := gp.path
		var res *http.Response
		for hop := 0; hop < 3; hop++ {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
			res = rec.Result()
			if res.StatusCode != http.StatusMovedPermanently {
				break
			}
			p = res.Header.Get("Location")
		}
		body, _ := io.ReadAll(res.Body)
		want := http.StatusOK
		if gp.name == "not-found" {
			want = http.StatusNotFound
		}
		if res.StatusCode != want {
			t.Errorf("%s: status %d, want %d", gp.path, res.StatusCode, want)
			continue
		}
		pages = append(pages, demoPage{path: p, status: res.StatusCode, body: body})
		file := filepath.Join("testdata", "golden", gp.name+".html")
		if *updateGolden {
			if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, body, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		golden, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v (run with -update to write it)", err)
		}
		if !bytes.Equal(body, golden) {
			t.Errorf("%s (%s) differs from %s (run with -update if the change is meant):\n%s", gp.name, p, file, firstDiff(string(golden), string(body)))
		}
	}
	if toolsPresent(true) {
		checkNu(t, pages)
	} else {
		t.Log("the Nu HTML checker is not installed (build/deps.sh test); golden pages not validated")
	}
}

// firstDiff shows the first line where two texts differ.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n\twant: " + trunc(w, 300) + "\n\tgot:  " + trunc(g, 300)
		}
	}
	return "(same lines)"
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
