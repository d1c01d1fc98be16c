package desktop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/sitesync"
)

// TestSyncScreenAPI drives the desktop's sync routes as the editor's Sync
// screen does: push a stage that conflicts with the server (409, the
// conflict listed with both documents and the diff, nothing applied),
// keep mine and push again; a pull that meets a local edit of live is
// listed and taking theirs applies the server's version.
func TestSyncScreenAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("two sites: not with -short")
	}
	t.Parallel()
	ctx := context.Background()
	remote := MustApp(t, false)
	ractx, err := remote.Site().Act(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ritems := remote.Site().Kernel.Store.Items()
	staged := &core.Item{Type: "page", Title: "Opening hours", Status: core.StatusPublished}
	lived := &core.Item{Type: "page", Title: "Contact", Status: core.StatusPublished}
	for _, it := range []*core.Item{staged, lived} {
		if err := ritems.CreateItem(ractx, core.LiveStageID, it, ""); err != nil {
			t.Fatal(err)
		}
	}
	token, _, err := remote.Site().Kernel.Accounts.CreateToken(ractx, "desktop", syncPerms, nil, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(remote)
	defer srv.Close()

	a := NewApp(ctx, testConfig(t, false), &SyncConnector{Options: sitesync.Options{Retries: sitesync.NoRetries, Timeout: 10 * time.Second}})
	t.Cleanup(func() { a.Close(context.Background()) })
	form := url.Values{"choice": {"connect"}, "server": {srv.URL}, "token": {token}}
	if res, body := do(t, a, "POST", SetupPath, form.Encode(), "application/x-www-form-urlencoded", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("connect: %d %s", res.StatusCode, body)
	}
	lactx, err := a.Site().Act(ctx)
	if err != nil {
		t.Fatal(err)
	}
	litems := a.Site().Kernel.Store.Items()
	title := func(s string) *string { return &s }

	t.Run("ErrNoCSRF", func(t *testing.T) {
		res, body := do(t, a, "POST", SyncPullPath, "", "", nil)
		if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
			t.Errorf("pull without the CSRF token: %d %s", res.StatusCode, body)
		}
	})
	t.Run("ErrUnknownStage", func(t *testing.T) {
		code, out := apiCall(t, a, "POST", "/sync/push", map[string]any{"stage": "nowhere"})
		if code != http.StatusNotFound {
			t.Errorf("push of an unknown stage: %d %v", code, out)
		}
	})
	t.Run("ErrBadChoice", func(t *testing.T) {
		code, out := apiCall(t, a, "POST", "/sync/resolve", map[string]any{"side": "pull", "kind": "item", "entity_id": lived.ID, "choice": "both"})
		if code != http.StatusBadRequest || !strings.Contains(out["message"].(string), "mine or theirs") {
			t.Errorf("bad choice: %d %v", code, out)
		}
	})

	t.Run("PushConflictKeepMine", func(t *testing.T) {
		st := &core.Stage{Name: "hours", Label: "New hours"}
		if err := a.Site().Kernel.Store.Stages().CreateStage(lactx, st); err != nil {
			t.Fatal(err)
		}
		if _, err := litems.UpdateItem(lactx, st.ID, staged.ID, core.ItemUpdate{Title: title("Opening hours (summer)")}); err != nil {
			t.Fatal(err)
		}
		if _, err := ritems.UpdateItem(ractx, core.LiveStageID, staged.ID, core.ItemUpdate{Title: title("Opening hours (closed Mondays)")}); err != nil {
			t.Fatal(err)
		}
		code, out := apiCall(t, a, "POST", "/sync/push", map[string]any{"stage": "hours"})
		if code != http.StatusConflict || out["report"] == nil {
			t.Fatalf("conflicting push: %d %v", code, out)
		}
		if got, err := ritems.FindItemByID(ractx, core.LiveStageID, staged.ID); err != nil || got.Title != "Opening hours (closed Mondays)" {
			t.Fatalf("the server's item changed by a refused push: %v %v", got, err)
		}
		// The item and its automatic alias conflict.
		c := conflicts(t, a)
		if len(c.Push) != 1 || c.Push[0].Stage != "hours" {
			t.Fatalf("push conflicts: %+v", c.Push)
		}
		var item *core.ChangesetProblem
		for i, p := range c.Push[0].Problems {
			if p.Kind == core.KindItem && p.EntityID == staged.ID {
				item = &c.Push[0].Problems[i]
			}
		}
		if item == nil || !strings.Contains(string(item.MineDoc), "summer") || !strings.Contains(string(item.TheirsDoc), "Mondays") || len(item.Diff) == 0 {
			t.Fatalf("the item's conflict lacks both sides: %+v", c.Push[0].Problems)
		}
		for i, p := range c.Push[0].Problems {
			code, out := apiCall(t, a, "POST", "/sync/resolve", map[string]any{"side": "push", "stage": "hours", "kind": p.Kind, "entity_id": p.EntityID, "choice": "mine"})
			if code != http.StatusOK {
				t.Fatalf("resolve mine: %d %v", code, out)
			}
			if left := conflicts(t, a).Push; i < len(c.Push[0].Problems)-1 && (len(left) != 1 || len(left[0].Problems) != len(c.Push[0].Problems)-1-i) {
				t.Fatalf("after resolving %d: %+v", i+1, left)
			}
		}
		if c := conflicts(t, a); len(c.Push) != 0 {
			t.Errorf("a resolved conflict is still listed: %+v", c.Push)
		}
		code, out = apiCall(t, a, "POST", "/sync/push", map[string]any{"stage": "hours"})
		if code != http.StatusOK || out["applied"] != true {
			t.Fatalf("push after keeping mine: %d %v", code, out)
		}
		rst, err := remote.Site().Kernel.Store.Stages().FindStage(ractx, "hours")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ritems.FindItemByID(ractx, rst.ID, staged.ID); err != nil || got.Title != "Opening hours (summer)" {
			t.Errorf("the server's stage after the push: %v %v", got, err)
		}
	})

	t.Run("PullConflictTakeTheirs", func(t *testing.T) {
		if _, err := litems.UpdateItem(lactx, core.LiveStageID, lived.ID, core.ItemUpdate{Title: title("Contact (local)")}); err != nil {
			t.Fatal(err)
		}
		if _, err := ritems.UpdateItem(ractx, core.LiveStageID, lived.ID, core.ItemUpdate{Title: title("Contact us")}); err != nil {
			t.Fatal(err)
		}
		code, out := apiCall(t, a, "POST", "/sync/pull", nil)
		if code != http.StatusOK || out["conflicts"] == float64(0) {
			t.Fatalf("pull: %d %v", code, out)
		}
		if got, _ := litems.FindItemByID(lactx, core.LiveStageID, lived.ID); got == nil || got.Title != "Contact (local)" {
			t.Fatalf("a pull overwrote the local edit: %v", got)
		}
		c := conflicts(t, a)
		var item *PullConflictView
		for i, p := range c.Pull {
			if p.Kind == core.KindItem && p.EntityID == lived.ID {
				item = &c.Pull[i]
			}
		}
		if item == nil || !strings.Contains(string(item.MineDoc), "(local)") || !strings.Contains(string(item.TheirsDoc), "Contact us") || len(item.Diff) == 0 {
			t.Fatalf("pull conflicts: %+v", c.Pull)
		}
		for _, p := range c.Pull {
			code, out = apiCall(t, a, "POST", "/sync/resolve", map[string]any{"side": "pull", "kind": p.Kind, "entity_id": p.EntityID, "choice": "theirs"})
			if code != http.StatusOK {
				t.Fatalf("resolve theirs: %d %v", code, out)
			}
		}
		if got, _ := litems.FindItemByID(lactx, core.LiveStageID, lived.ID); got == nil || got.Title != "Contact us" {
			t.Errorf("after taking theirs: %v", got)
		}
		if c := conflicts(t, a); len(c.Pull) != 0 {
			t.Errorf("a resolved pull conflict is still listed: %+v", c.Pull)
		}
	})

	t.Run("ErrOfflinePushQueued", func(t *testing.T) {
		srv.Close()
		st := &core.Stage{Name: "later"}
		if err := a.Site().Kernel.Store.Stages().CreateStage(lactx, st); err != nil {
			t.Fatal(err)
		}
		code, out := apiCall(t, a, "POST", "/sync/push", map[string]any{"stage": "later"})
		if code != http.StatusServiceUnavailable || !strings.Contains(out["message"].(string), "queued") {
			t.Errorf("push while offline: %d %v", code, out)
		}
		if s := a.Status().SyncState; s == nil || len(s.Queued) != 1 {
			t.Errorf("the push is not queued: %+v", s)
		}
	})
}

// conflictingStage makes a server site with a published page, a local
// site pulled from it (served by a test server until the test ends), and
// a local stage that retitles the page while the server retitles it in
// live: pushing the stage conflicts. It returns the server's app, the
// local app and the page's id.
func conflictingStage(t *testing.T, stage string) (*App, *App, core.ID) {
	t.Helper()
	ctx := context.Background()
	remote := MustApp(t, false)
	ractx, err := remote.Site().Act(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it := &core.Item{Type: "page", Title: "Opening hours", Status: core.StatusPublished}
	ritems := remote.Site().Kernel.Store.Items()
	if err := ritems.CreateItem(ractx, core.LiveStageID, it, ""); err != nil {
		t.Fatal(err)
	}
	token, _, err := remote.Site().Kernel.Accounts.CreateToken(ractx, "desktop", syncPerms, nil, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(remote)
	t.Cleanup(srv.Close)
	a := NewApp(ctx, testConfig(t, false), &SyncConnector{Options: sitesync.Options{Retries: sitesync.NoRetries, Timeout: 10 * time.Second}})
	t.Cleanup(func() { a.Close(context.Background()) })
	form := url.Values{"choice": {"connect"}, "server": {srv.URL}, "token": {token}}
	if res, body := do(t, a, "POST", SetupPath, form.Encode(), "application/x-www-form-urlencoded", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("connect: %d %s", res.StatusCode, body)
	}
	lactx, err := a.Site().Act(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := &core.Stage{Name: stage, Label: "New hours"}
	if err := a.Site().Kernel.Store.Stages().CreateStage(lactx, st); err != nil {
		t.Fatal(err)
	}
	mine, theirs := "Opening hours (summer)", "Opening hours (closed Mondays)"
	if _, err := a.Site().Kernel.Store.Items().UpdateItem(lactx, st.ID, it.ID, core.ItemUpdate{Title: &mine}); err != nil {
		t.Fatal(err)
	}
	if _, err := ritems.UpdateItem(ractx, core.LiveStageID, it.ID, core.ItemUpdate{Title: &theirs}); err != nil {
		t.Fatal(err)
	}
	return remote, a, it.ID
}

func conflicts(t *testing.T, a *App) SyncConflicts {
	t.Helper()
	res, body := do(t, a, "GET", SyncConflictsPath, "", "", nil)
	var c SyncConflicts
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &c) != nil {
		t.Fatalf("conflicts: %d %s", res.StatusCode, body)
	}
	return c
}

// TestSyncRoutesNotConnected: a site made on this computer has no server
// to sync with; the routes say so.
func TestSyncRoutesNotConnected(t *testing.T) {
	t.Parallel()
	a := MustApp(t, false)
	code, out := apiCall(t, a, "POST", "/sync/pull", nil)
	if code != http.StatusBadRequest || !strings.Contains(out["message"].(string), "not connected") {
		t.Errorf("pull on a local site: %d %v", code, out)
	}
	if res, _ := do(t, a, "GET", SyncPullPath, "", "", nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("GET of the pull route: %d", res.StatusCode)
	}
}
