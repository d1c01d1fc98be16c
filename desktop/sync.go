package desktop

import (
	"context"
	"log/slog"

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
