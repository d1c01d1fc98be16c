package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/server"
	"github.com/trovato/trovato/server/export"
)

// TestCommentCountsExport checks the comment counts in the static
// export: an exported listing is the server's bytes, counts included, and
// an incremental export after a comment is published renders the
// listings that show the item again (by their recorded comment tags) and
// not the others.
func TestCommentCountsExport(t *testing.T) {
	s := newSite(t, server.Options{})
	s.put("gather", "articles", `{"kind":"gather","name":"articles","label":"Articles","types":["article"],
		"filters":[{"field":"status","op":"eq","value":"published"}],
		"sorts":[{"field":"title"}], "pager":{"per_page":1},
		"displays":[{"name":"page","type":"page","path":"/articles"}]}`)
	if err := s.k.Store.CreateComment(s.admin, &postgres.Comment{ItemID: s.item.ID, Body: "First"}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ex, err := export.New(s.k, export.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := server.New(s.k, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	page := func(u string) []byte {
		t.Helper()
		rec := httptest.NewRecorder()
		plain.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
		b, _ := io.ReadAll(rec.Result().Body)
		return b
	}
	exported := func(rel string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := ex.Export(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	m, found, err := export.ReadManifest(dir)
	if err != nil || !found {
		t.Fatalf("manifest: %v %v", found, err)
	}
	files := map[string]string{}
	for _, rel := range m.Paths() {
		files[m.Files[rel].URL] = rel
	}
	if _, ok := files["/articles/page/2"]; !ok {
		t.Fatal("/articles/page/2 was not exported")
	}
	for _, u := range []string{"/articles", "/", "/term/" + s.tag.String()} {
		rel, ok := files[u]
		if !ok {
			t.Fatalf("%s was not exported", u)
		}
		b := exported(rel)
		if !bytes.Equal(b, page(u)) {
			t.Errorf("%s: %s differs from the server's page", u, rel)
		}
		if !bytes.Contains(b, []byte(`#comments">1 comment</a>`)) {
			t.Errorf("%s: %s shows no comment count", u, rel)
		}
	}

	if err := s.k.Store.CreateComment(s.admin, &postgres.Comment{ItemID: s.item.ID, Body: "Second"}); err != nil {
		t.Fatal(err)
	}
	rep, err := ex.Export(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"/articles", "/", "/term/" + s.tag.String(), "/blog/hello-world"} {
		if !slices.Contains(rep.RenderedURLs, u) {
			t.Errorf("the incremental export did not render %s again (rendered %v)", u, rep.RenderedURLs)
		}
	}
	if slices.Contains(rep.RenderedURLs, "/articles/page/2") {
		t.Error("the incremental export rendered /articles/page/2, which does not show the item")
	}
	if b := exported(files["/articles"]); !bytes.Equal(b, page("/articles")) || !bytes.Contains(b, []byte(`#comments">2 comments</a>`)) {
		t.Error("/articles: the exported page lacks the new count or differs from the server's")
	}
}
