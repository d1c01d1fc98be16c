package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/server"
)

// TestPluginTapsChangePages: with the blog reference plugin enabled, its
// item_view output is on a blog entry's page, its /blog route serves a
// page, and disabling it takes both away.
func TestPluginTapsChangePages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the reference plugins")
	}
	t.Parallel()
	s := newSite(t, server.Options{})
	if err := kernel.InstallBundled(s.admin, s.k); err != nil {
		t.Fatal(err)
	}
	entry := s.newItem(core.LiveStageID, &core.Item{Type: "blog", Title: "First entry"})
	article := s.newItem(core.LiveStageID, &core.Item{Type: "article", Title: "Not a blog entry"})

	resp, body := s.get("/item/"+entry.ID.String(), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `class="byline"`) {
		t.Fatalf("blog entry page %d lacks the plugin's byline:\n%s", resp.StatusCode, body)
	}
	if _, body := s.get("/item/"+article.ID.String(), nil); strings.Contains(body, `class="byline"`) {
		t.Fatal("the byline shows on an article")
	}
	resp, body = s.get("/blog", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "First entry") {
		t.Fatalf("/blog = %d:\n%s", resp.StatusCode, body)
	}
	if err := s.k.Plugins.Disable(s.admin, "related"); err != nil && core.ErrorCode(err) != core.EInvalid {
		t.Fatal(err)
	}
	if err := s.k.Plugins.Disable(s.admin, "blog"); err != nil {
		t.Fatal(err)
	}
	if resp, body = s.get("/item/"+entry.ID.String(), nil); resp.StatusCode != http.StatusOK || strings.Contains(body, `class="byline"`) {
		t.Fatalf("after disabling: %d, byline still there: %v", resp.StatusCode, strings.Contains(body, `class="byline"`))
	}
	if resp, _ = s.get("/blog", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/blog after disabling = %d, want 404", resp.StatusCode)
	}
}
