// Command trovato-desktop is the desktop editor. The Wails CLI builds the
// package that holds wails.json, so this file stays a thin entry point;
// everything lives in desktop/.
package main

import "github.com/trovato/trovato/desktop"

func main() { desktop.Main() }
