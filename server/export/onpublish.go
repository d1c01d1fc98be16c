package export

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
)

// Run loads the enabled plugins (pages render with them) and exports k's
// site into dir.
func Run(ctx context.Context, k *kernel.Kernel, dir string, opts Options) (*Report, error) {
	if k.Plugins != nil {
		if err := k.Plugins.Load(ctx); err != nil {
			return nil, fmt.Errorf("load plugins: %w", err)
		}
	}
	ex, err := New(k, opts)
	if err != nil {
		return nil, err
	}
	return ex.Export(ctx, dir)
}

// DeployOnPublish follows the change feed every interval and, after every
// release (a publish or a rollback), exports and deploys to each
// deploy_target with on_publish (export_dir defaults to
// dataDir/export/NAME). `trovato serve` and the desktop app run it; it
// returns when ctx ends.
func DeployOnPublish(ctx context.Context, k *kernel.Kernel, dataDir string, every time.Duration, log *slog.Logger) {
	feed := k.Store.Feed()
	cur, err := feed.FeedHead(ctx)
	if err != nil {
		log.Error("deploy on publish: feed head", "err", err)
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		released := false
		for {
			rows, next, err := feed.ReadChanges(ctx, cur, 1000)
			if err != nil {
				log.Warn("deploy on publish: read the feed", "err", err)
				break
			}
			cur = next
			for _, c := range rows {
				released = released || c.Kind == core.KindRelease
			}
			if len(rows) == 0 {
				break
			}
		}
		if released {
			deployAll(ctx, k, dataDir, log)
		}
	}
}

func deployAll(ctx context.Context, k *kernel.Kernel, dataDir string, log *slog.Logger) {
	docs, err := k.Store.Config().FindConfigs(ctx, "deploy_target")
	if err != nil {
		log.Warn("deploy on publish: targets", "err", err)
		return
	}
	for _, d := range docs {
		tc, target, err := ParseTarget(d.Body)
		if err != nil || !tc.OnPublish {
			continue
		}
		if tc.ExportDir == "" {
			tc.ExportDir = filepath.Join(dataDir, "export", tc.Name)
		}
		l := log.With("target", tc.Name)
		rep, err := Run(ctx, k, tc.ExportDir, Options{Logger: l})
		if err != nil {
			l.Error("export after publish failed", "err", err)
			continue
		}
		drep, err := Deploy(ctx, tc.ExportDir, target, DeployOptions{})
		if err != nil {
			l.Error("deploy after publish failed", "err", err)
			continue
		}
		l.Info("exported and deployed after publish", "changed", len(rep.Changed)+len(rep.Added)+len(rep.Removed),
			"uploaded", len(drep.Uploaded), "removed", len(drep.Removed))
	}
}
