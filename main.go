// Command trovato-desktop is the desktop editor. The Wails CLI builds the
// package that holds wails.json, so this file stays a thin entry point;
// everything lives in desktop/.
package main

import (
	_ "embed"
	"time"

	"github.com/trovato/trovato/desktop"
)

//go:embed build/appicon.png
var icon []byte

func main() { desktop.Main(desktop.Options{Icon: icon, Started: time.Now()}) }
