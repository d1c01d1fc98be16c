package desktop

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/sitesync"
)

// SyncConnector pulls a server's copy into a new local site with the sync
// client (core/sitesync): it checks the server and the token, records the
// server, and pulls everything (resumable: an interrupted first pull goes
// on from its last batch when the setup is tried again).
type SyncConnector struct {
	Logger *slog.Logger
	// Options tune the engine (retries, timeouts); Store is set here.
	Options sitesync.Options
}

var _ Connector = (*SyncConnector)(nil)

// Connect implements Connector.
func (c *SyncConnector) Connect(ctx context.Context, site *Site, serverURL, token string) error {
	opts := c.Options
	opts.Store, opts.Logger = site.Kernel.Store, c.Logger
	opts.TokenFile = filepath.Join(site.Kernel.Config.DataDir, sitesync.TokenFileName)
	e, err := sitesync.New(opts)
	if err != nil {
		return err
	}
	if _, err := e.Connect(ctx, serverURL, token); err != nil {
		return err
	}
	_, err = e.Pull(ctx)
	return err
}

// syncStatus reads the local site's sync state (nil when it never
// connected to a server).
func syncStatus(ctx context.Context, site *Site) *core.SyncStatus {
	st, err := site.Kernel.Store.Sync().Status(ctx)
	if err != nil || st == nil || st.Remote == "" {
		return nil
	}
	return st
}

// Pull brings the local site up to date with its server (the Sync menu).
//
// Errors: EInvalid when the site never connected to a server; what the
// sync client reports otherwise (the server not answering, a token it
// refuses), also recorded in the sync state.
func (a *App) Pull(ctx context.Context) (*sitesync.PullResult, error) {
	site := a.Site()
	if site == nil {
		return nil, core.Errorf(core.EInvalid, "there is no local site yet")
	}
	if syncStatus(ctx, site) == nil {
		return nil, core.Errorf(core.EInvalid, "this site is not connected to a server")
	}
	e, err := a.engine(site)
	if err != nil {
		return nil, err
	}
	return e.Pull(ctx)
}

// Title is the window title: the app's name and, for a site connected
// to a server, the sync state (the always-visible sync indicator).
func (st Status) Title() string {
	const name = "Trovato"
	switch st.State {
	case "opening":
		return name + " — opening the local site…"
	case "error":
		return name + " — the local site cannot be opened"
	case "setup":
		return name + " — new site"
	}
	s := st.SyncState
	if s == nil {
		return name + " — local site"
	}
	var parts []string
	switch s.State {
	case core.SyncPulling:
		parts = append(parts, fmt.Sprintf("pulling %d/%d", s.Done, s.Total))
	case core.SyncPushing:
		parts = append(parts, "pushing "+s.Stage)
	case core.SyncOffline:
		if s.OfflineSince != nil {
			parts = append(parts, "offline since "+s.OfflineSince.Local().Format("15:04"))
		} else {
			parts = append(parts, "offline")
		}
	case core.SyncFailed:
		parts = append(parts, "sync failed: "+s.LastError)
	default:
		if s.LastPull != nil {
			parts = append(parts, "synced "+s.LastPull.Local().Format("15:04"))
		} else {
			parts = append(parts, "not synced yet")
		}
	}
	if n := len(s.Queued); n > 0 {
		parts = append(parts, fmt.Sprintf("%d stage(s) waiting to push", n))
	}
	if s.Conflicts > 0 {
		parts = append(parts, fmt.Sprintf("%d conflict(s) to resolve", s.Conflicts))
	}
	return name + " — " + strings.Join(parts, " · ")
}
