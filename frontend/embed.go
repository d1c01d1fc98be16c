// Package frontend holds the editor UI's build (frontend/dist, made by
// `make frontend`) for the server and the desktop app to serve at /admin/.
// A clean clone has only dist/.gitkeep: it still builds, and the handler in
// server/admin says which command builds the editor.
package frontend

import "embed"

// Dist is the editor's build: index.html and assets/ under "dist".
//
//go:embed all:dist
var Dist embed.FS
