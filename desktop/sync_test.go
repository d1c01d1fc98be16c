package desktop

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/sitesync"
)

// syncPerms are what a desktop's token needs to pull and push.
var syncPerms = []string{core.PermAccessContent, core.PermAdministerContent, core.PermCreateStage, core.PermViewAnyStage,
	core.PermEditAnyStage, core.PermUploadFiles, core.PermAdministerCategory, core.PermAdministerMenus, core.PermAdministerAliases}

// TestSetupConnect: the first-start screen's "connect to a server" pulls
// the server's copy through the sync client (the server here is another
// desktop site's handler over TCP); a wrong token or a server that does
// not answer is a clear message and leaves no site behind.
func TestSetupConnect(t *testing.T) {
	if testing.Short() {
		t.Skip("two sites: not with -short")
	}
	t.Parallel()
	ctx := context.Background()
	remote := MustApp(t, false)
	actx, err := remote.Site().Act(ctx)
	if err != nil {
		t.Fatal(err)
	}
	it := &core.Item{Type: "article", Title: "From the server", Status: core.StatusPublished}
	if err := remote.Site().Kernel.Store.Items().CreateItem(actx, core.LiveStageID, it, ""); err != nil {
		t.Fatal(err)
	}
	token, _, err := remote.Site().Kernel.Accounts.CreateToken(actx, "desktop", syncPerms, nil, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(remote)
	defer srv.Close()

	conn := &SyncConnector{Options: sitesync.Options{Retries: sitesync.NoRetries, Timeout: 10 * time.Second}}
	a := NewApp(ctx, testConfig(t, false), conn)
	t.Cleanup(func() { a.Close(context.Background()) })
	connect := func(server, token string) (*http.Response, string) {
		form := url.Values{"choice": {"connect"}, "server": {server}, "token": {token}}
		return do(t, a, "POST", SetupPath, form.Encode(), "application/x-www-form-urlencoded", nil)
	}
	t.Run("ErrWrongToken", func(t *testing.T) {
		res, body := connect(srv.URL, "not-a-token")
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "token") || a.Site() != nil {
			t.Errorf("wrong token: %d %s", res.StatusCode, body)
		}
		if info, err := Inspect(a.cfg.Kernel.DataDir); info != nil || err != nil {
			t.Errorf("a failed connect left a site: %+v %v", info, err)
		}
	})
	t.Run("ErrNoServer", func(t *testing.T) {
		res, body := connect("http://127.0.0.1:1", token)
		if res.StatusCode != http.StatusUnprocessableEntity || a.Site() != nil {
			t.Errorf("no server: %d %s", res.StatusCode, body)
		}
	})
	t.Run("ErrBadURL", func(t *testing.T) {
		res, body := connect("ftp://x", token)
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "URL") {
			t.Errorf("bad URL: %d %s", res.StatusCode, body)
		}
	})
	t.Run("Pull", func(t *testing.T) {
		res, body := connect(srv.URL, token)
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("connect: %d %s", res.StatusCode, body)
		}
		st := a.Status()
		if st.State != "ready" || st.Origin != "server" || st.Server != srv.URL || st.SyncState == nil || st.SyncState.LastPull == nil {
			t.Errorf("status %+v", st)
		}
		lctx, err := a.Site().Act(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Site().Kernel.Store.Items().FindItemByID(lctx, core.LiveStageID, it.ID)
		if err != nil || got.Title != it.Title {
			t.Fatalf("the server's item was not pulled: %v", err)
		}
		if info, err := Inspect(a.cfg.Kernel.DataDir); err != nil || info == nil || info.Origin != "server" {
			t.Errorf("desktop.json after the pull: %+v %v", info, err)
		}
		if title := a.Status().Title(); !strings.Contains(title, "synced") {
			t.Errorf("window title %q does not say the site is synced", title)
		}
	})
	t.Run("PullAgain", func(t *testing.T) {
		more := &core.Item{Type: "article", Title: "Later on the server", Status: core.StatusPublished}
		if err := remote.Site().Kernel.Store.Items().CreateItem(actx, core.LiveStageID, more, ""); err != nil {
			t.Fatal(err)
		}
		// The change feed hands out a transaction only once every older one
		// in the cluster has ended, and other tests' transactions share this
		// cluster: pull until the change arrives.
		var res sitesync.PullResult
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			r, err := a.Pull(ctx)
			if err != nil {
				t.Fatalf("pull: %v", err)
			}
			if res = *r; res.Changes > 0 || time.Now().After(deadline) {
				break
			}
		}
		if res.Changes == 0 {
			t.Fatalf("pull: %+v", res)
		}
		lctx, _ := a.Site().Act(ctx)
		if _, err := a.Site().Kernel.Store.Items().FindItemByID(lctx, core.LiveStageID, more.ID); err != nil {
			t.Errorf("the later item was not pulled: %v", err)
		}
	})
	t.Run("ErrPullOffline", func(t *testing.T) {
		srv.Close()
		if _, err := a.Pull(ctx); err == nil {
			t.Fatal("a pull from a server that is gone succeeded")
		}
		if title := a.Status().Title(); !strings.Contains(title, "offline") && !strings.Contains(title, "failed") {
			t.Errorf("window title %q does not show the failed sync", title)
		}
	})
}

func TestPullNotConnected(t *testing.T) {
	t.Parallel()
	a := MustApp(t, false)
	if _, err := a.Pull(context.Background()); core.ErrorCode(err) != core.EInvalid {
		t.Errorf("pull on a local-only site: %v, want EINVALID", err)
	}
	if title := a.Status().Title(); title != "Trovato — local site" {
		t.Errorf("title %q", title)
	}
}

func TestStatusTitle(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.Local)
	for _, tc := range []struct {
		name string
		st   Status
		want string
	}{
		{"Opening", Status{State: "opening"}, "opening"},
		{"Setup", Status{State: "setup"}, "new site"},
		{"Error", Status{State: "error"}, "cannot be opened"},
		{"Synced", Status{State: "ready", SyncState: &core.SyncStatus{State: core.SyncIdle, LastPull: &at}}, "synced 09:30"},
		{"Pulling", Status{State: "ready", SyncState: &core.SyncStatus{State: core.SyncPulling, Done: 40, Total: 100}}, "pulling 40/100"},
		{"Offline", Status{State: "ready", SyncState: &core.SyncStatus{State: core.SyncOffline, OfflineSince: &at, Queued: []string{"spring"}}}, "offline since 09:30 · 1 stage(s) waiting to push"},
		{"Failed", Status{State: "ready", SyncState: &core.SyncStatus{State: core.SyncFailed, LastError: "token refused", Conflicts: 2}}, "sync failed: token refused · 2 conflict(s)"},
	} {
		if got := tc.st.Title(); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q in it", tc.name, got, tc.want)
		}
	}
}
