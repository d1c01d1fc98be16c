package desktop

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WindowFile holds the window's size and position in the data directory.
const WindowFile = "window.json"

// WindowState is the remembered window: size, position and whether it
// was maximised.
type WindowState struct {
	Width     int  `json:"width"`
	Height    int  `json:"height"`
	X         int  `json:"x"`
	Y         int  `json:"y"`
	Placed    bool `json:"placed"` // X and Y were saved
	Maximised bool `json:"maximised,omitempty"`
}

// Window size limits.
const (
	MinWindowWidth  = 640
	MinWindowHeight = 480
	maxWindowSide   = 16384
)

// DefaultWindow is the first window.
var DefaultWindow = WindowState{Width: 1280, Height: 860}

// LoadWindowState reads the remembered window from dataDir. A missing or
// unreadable file, or sizes out of range, give DefaultWindow's values:
// the window always opens.
func LoadWindowState(dataDir string) WindowState {
	b, err := os.ReadFile(filepath.Join(dataDir, WindowFile))
	if err != nil {
		return DefaultWindow
	}
	var ws WindowState
	if json.Unmarshal(b, &ws) != nil {
		return DefaultWindow
	}
	return ws.sane()
}

func (ws WindowState) sane() WindowState {
	if ws.Width < MinWindowWidth || ws.Width > maxWindowSide || ws.Height < MinWindowHeight || ws.Height > maxWindowSide {
		ws.Width, ws.Height = DefaultWindow.Width, DefaultWindow.Height
	}
	if ws.X < -maxWindowSide || ws.X > maxWindowSide || ws.Y < -maxWindowSide || ws.Y > maxWindowSide {
		ws.X, ws.Y, ws.Placed = 0, 0, false
	}
	return ws
}

// SaveWindowState writes the window's state to dataDir (atomically: a
// crash leaves the old file or the new one).
func SaveWindowState(dataDir string, ws WindowState) error {
	b, err := json.Marshal(ws.sane())
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, WindowFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save the window state: %w", err)
	}
	return os.Rename(tmp, path)
}
