package plugin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Precompile compiles modules into wazero's compilation cache in dir (the
// directory HostConfig.CacheDir names) without loading them, so that a
// later load of the same bytes, in this process or another, skips the
// compiler. The desktop runs it for the reference plugins while initdb
// runs. Modules that are not plugins are refused as a load refuses them.
func Precompile(ctx context.Context, dir string, bins ...[]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("plugin compilation cache %s: %w", dir, err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return fmt.Errorf("plugin compilation cache %s: %w", dir, err)
	}
	defer cache.Close(context.WithoutCancel(ctx))
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(cache).
		WithMemoryLimitPages(DefaultLimits.MemoryPages).
		WithCoreFeatures(api.CoreFeaturesV2))
	defer rt.Close(context.WithoutCancel(ctx))
	// One goroutine per module: wazero compiles a module on one thread.
	errs := make([]error, len(bins))
	var wg sync.WaitGroup
	for i, bin := range bins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wm, err := parseWasm(bin)
			if err != nil {
				errs[i] = err
				return
			}
			cm, err := rt.CompileModule(ctx, wm.Binary)
			if err != nil {
				errs[i] = fmt.Errorf("compile: %w", err)
				return
			}
			_ = cm.Close(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
