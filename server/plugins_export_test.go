package server

import (
	"context"

	"github.com/trovato/trovato/core"
)

// PluginTile exposes pluginTile to the package's external tests: a plugin
// tile rendered for an anonymous visitor of the live site at path.
func (s *Server) PluginTile(ctx context.Context, t *core.Tile, path string) (string, core.Node, bool) {
	return s.pluginTile(ctx, &reqState{user: core.Anonymous, stage: core.LiveStageID}, t, path, "en")
}
