// Package desktop is the Wails desktop editor: a window whose asset server
// mirrors the server's URL space from a local kernel. The window itself is
// compiled only with the desktop build tags (make desktop); the local
// site's life cycle and the handler the window calls are plain Go, tested
// without a display.
package desktop

import (
	"fmt"
	"os"
	"time"
)

// Options are what the entry point hands the app.
type Options struct {
	// Icon is the window icon (PNG).
	Icon []byte
	// Connector pulls a server's copy on the first start; nil means the
	// sync client (SyncConnector).
	Connector Connector
	// Started is when the process started (for the cold-start figure).
	Started time.Time
}

// Main runs the desktop app and exits.
func Main(opts Options) {
	if opts.Started.IsZero() {
		opts.Started = time.Now()
	}
	if run == nil {
		fmt.Fprintln(os.Stderr, "trovato-desktop: this binary was built without the desktop build tags; build the editor with `make desktop`")
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "trovato-desktop: "+errText(err))
		os.Exit(1)
	}
}

// run is set by the file compiled with the desktop build tags.
var run func(Options) error
