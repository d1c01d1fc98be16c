package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/server/export"
)

func init() {
	extraCmds = append(extraCmds,
		func(a *app) *cobra.Command { return a.exportCmd() },
		func(a *app) *cobra.Command { return a.deployCmd() },
	)
}

func (a *app) exportCmd() *cobra.Command {
	var (
		full    bool
		workers int
		stage   string
		dynamic string
	)
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write the live site (or a stage) as static files into DIR (only what changed since the last export)",
		Long: `Render every public URL of the live site into DIR through the same handler
trovato serve uses, so each file holds the bytes the server answers: pages as
PATH/index.html, feeds, sitemap.xml, robots.txt, 404.html, theme assets, files
and image derivatives, redirects as meta-refresh pages plus nginx-redirects.map.
DIR/.trovato-export.json lists every file with its hash and the tags it was
built from; the next export reads the change feed since then and renders only
the pages a change touched (--full renders everything). --stage S exports an
open stage as visitors will see it once it is published (no preview banner),
always in full.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := export.Options{Full: full, Workers: workers, DynamicOrigin: dynamic, Progress: a.stderr}
			if stage != "" && stage != core.StageLive {
				// Whoever exports a stage (--as) must be allowed to view it.
				actx, k, err := a.acting(cmd.Context())
				if err != nil {
					return err
				}
				st, err := a.findStage(actx, k, stage)
				if err != nil {
					return fmt.Errorf("--stage %s: %w", stage, err)
				}
				if st.State != core.StageOpen {
					return core.Errorf(core.EInvalid, "--stage %s: the stage is %s; export live instead", stage, st.State)
				}
				opts.Stage = st
			}
			rep, err := a.runExport(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			return a.show(rep, exportSummary(args[0], rep))
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "render every URL, not only what changed")
	cmd.Flags().IntVar(&workers, "workers", 0, "render this many URLs at a time (default: one per CPU)")
	cmd.Flags().StringVar(&stage, "stage", "", "export this open stage as visitors will see it once published (always a full export)")
	cmd.Flags().StringVar(&dynamic, "dynamic-origin", "", "the dynamic server (https://app.example.com): /user/... and /search on the static site redirect there")
	return cmd
}

func exportSummary(dir string, rep *export.Report) string {
	mode := "incremental"
	if rep.Full {
		mode = "full"
	}
	return fmt.Sprintf("Exported %s (%s, %d URLs rendered in %s): %d added, %d changed, %d removed, %d files.",
		dir, mode, rep.Rendered, rep.Duration.Round(time.Millisecond), len(rep.Added), len(rep.Changed), len(rep.Removed), rep.Files)
}

// runExport exports the live site into dir with the enabled plugins.
func (a *app) runExport(ctx context.Context, dir string, opts export.Options) (*export.Report, error) {
	k, err := a.kernel(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = a.logger()
	}
	return export.Run(ctx, k, dir, opts)
}

func (a *app) deployCmd() *cobra.Command {
	var dryRun, noExport bool
	cmd := &cobra.Command{
		Use:   "deploy TARGET",
		Short: "Export the site and upload what changed to a deploy target",
		Long: `Bring the target's export folder up to date (trovato export; --no-export skips
this), then upload to the target only the files whose hashes differ from its
last deploy, remove the ones gone, and store the new manifest on the target.
Targets are deploy_target config documents (trovato config apply), for example:

  kind: deploy_target
  name: production
  type: rsync            # or local
  path: deploy@www1.example.com:/srv/www/site
  ssh: {port: 2222, identity_file: /etc/trovato/deploy_key}   # ssh from PATH
  on_publish: true       # trovato serve exports and deploys after every publish

An interrupted deploy resumes where it stopped; a failed one leaves the
target's previous manifest in place. --dry-run lists what would be uploaded
and removed, and uploads nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			k, err := a.kernel(ctx)
			if err != nil {
				return err
			}
			tc, target, err := findTarget(ctx, k, a.cfg.DataDir, args[0])
			if err != nil {
				return err
			}
			if !noExport {
				rep, err := export.Run(ctx, k, tc.ExportDir, export.Options{Logger: a.logger(), Progress: a.stderr})
				if err != nil {
					return err
				}
				if !a.jsonOut {
					fmt.Fprintln(a.stderr, exportSummary(tc.ExportDir, rep))
				}
			}
			rep, err := export.Deploy(ctx, tc.ExportDir, target, export.DeployOptions{DryRun: dryRun})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rep)
			}
			verb := "Deployed"
			if dryRun {
				verb = "Would deploy"
				for _, f := range rep.Uploaded {
					fmt.Fprintln(a.stdout, "upload "+f)
				}
				for _, f := range rep.Removed {
					fmt.Fprintln(a.stdout, "remove "+f)
				}
			}
			a.say("%s to %s: %d uploaded, %d removed, %d unchanged, %d resumed.", verb, target, len(rep.Uploaded), len(rep.Removed), rep.Kept, rep.Resumed)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be uploaded and removed; upload nothing")
	cmd.Flags().BoolVar(&noExport, "no-export", false, "deploy the export folder as it is")
	return cmd
}

// findTarget reads the deploy_target document name.
func findTarget(ctx context.Context, k *kernel.Kernel, dataDir, name string) (*export.TargetConfig, export.Target, error) {
	doc, err := k.Store.Config().FindConfig(ctx, "deploy_target", name)
	if core.ErrorCode(err) == core.ENotFound {
		return nil, nil, core.Errorf(core.ENotFound, "no deploy target %q (define one with trovato config apply: kind deploy_target, see trovato deploy --help)", name)
	} else if err != nil {
		return nil, nil, err
	}
	tc, t, err := export.ParseTarget(doc.Body)
	if err != nil {
		return nil, nil, err
	}
	if tc.ExportDir == "" {
		tc.ExportDir = filepath.Join(dataDir, "export", tc.Name)
	}
	return tc, t, nil
}

// deployOnPublish exports and deploys to the on_publish targets after
// every release (export.DeployOnPublish).
func deployOnPublish(ctx context.Context, k *kernel.Kernel, dataDir string, every time.Duration, log *slog.Logger) {
	export.DeployOnPublish(ctx, k, dataDir, every, log)
}
