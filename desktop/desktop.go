// Package desktop is the Wails desktop editor: a window whose asset server
// mirrors the server's URL space from a local kernel. The window itself is
// compiled only with the desktop build tags (make desktop).
package desktop

import (
	"fmt"
	"os"
)

// Main runs the desktop app.
func Main() {
	if run == nil {
		fmt.Fprintln(os.Stderr, "trovato-desktop: this binary was built without the desktop build tags; build the editor with `make desktop`")
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "trovato-desktop: "+err.Error())
		os.Exit(1)
	}
}

// run is set by the file compiled with the desktop build tags.
var run func() error
