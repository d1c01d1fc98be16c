package kernel

import (
	"context"
	"io/fs"
	"path"

	"github.com/trovato/trovato/core/plugin"
	"github.com/trovato/trovato/plugins"
)

// PrecompileBundled compiles the reference plugins built into this binary
// (plugins/dist) into the plugin compilation cache (Config.PluginCacheDir),
// so that InstallBundled and every later start load them without the
// compiler. It needs no database: the desktop's first run does it while
// initdb runs. A binary without built plugins has nothing to do.
func PrecompileBundled(ctx context.Context, cacheDir string) error {
	entries, err := fs.ReadDir(plugins.Dist, "dist")
	if err != nil {
		return nil
	}
	var bins [][]byte
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		mods, _ := fs.Glob(plugins.Dist, path.Join("dist", e.Name(), "*.wasm"))
		for _, m := range mods {
			b, err := fs.ReadFile(plugins.Dist, m)
			if err != nil {
				return err
			}
			bins = append(bins, b)
		}
	}
	if len(bins) == 0 {
		return nil
	}
	return plugin.Precompile(ctx, cacheDir, bins...)
}
