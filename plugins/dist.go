// Package plugins embeds the reference plugins that `make plugins`
// (build/plugins.sh) builds into plugins/dist/<name>/{plugin.toml,<name>.wasm}.
// The SDK (plugins/sdk) and each plugin are Go modules of their own.
package plugins

import "embed"

// Dist holds dist/<name>/plugin.toml and dist/<name>/<name>.wasm for every
// built reference plugin; only dist/.gitkeep in a clean clone.
//
//go:embed all:dist
var Dist embed.FS
