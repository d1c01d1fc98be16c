package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/postgres"
)

func init() {
	extraCmds = append(extraCmds,
		func(a *app) *cobra.Command { return a.backupCmd() },
		func(a *app) *cobra.Command { return a.restoreCmd() },
	)
}

func (a *app) backupCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Back up the whole site (database, files, plugins, themes) into FILE",
		Long: `Write a backup archive of the site: a tar file holding a manifest and a
pg_dump of the database, which holds everything (content, config, users, files,
plugins, themes). Works on the embedded cluster (the desktop app's local site
too) and on DATABASE_URL. The site may be in use meanwhile.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			file := args[0]
			if _, err := os.Stat(file); err == nil && !force {
				return core.Errorf(core.EConflict, "%s exists: choose another name or pass --force", file)
			}
			dbURL, done, err := a.siteDatabase(ctx)
			if err != nil {
				return err
			}
			defer done()
			tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
			if err != nil {
				return core.Errorf(core.EInvalid, "cannot write %s: %v", file, unwrapPathErr(err))
			}
			defer os.Remove(tmp.Name())
			m, err := postgres.Backup(ctx, dbURL, tmp)
			if cerr := tmp.Close(); err == nil && cerr != nil {
				err = core.Errorf(core.EInvalid, "cannot write %s: %v", file, unwrapPathErr(cerr))
			}
			if err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), file); err != nil {
				return fmt.Errorf("backup: %w", err)
			}
			if a.jsonOut {
				return a.printJSON(m)
			}
			a.say("Backed up database %s (PostgreSQL %s, %d migrations, %d bytes) to %s", m.Database, m.ServerVersion, len(m.Migrations), m.DumpBytes, file)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite FILE")
	return cmd
}

func (a *app) restoreCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the site with a backup made by trovato backup",
		Long: `Check FILE whole (manifest, checksum, dump, schema version) before touching
anything; restore it into a new database beside the site; only then swap the
two and drop the old one, and apply the migrations this binary adds. A damaged
archive, one from a newer Trovato, or a site in use (quit the desktop app and
stop trovato serve first) is refused and the site stays as it was.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			f, err := os.Open(args[0])
			if err != nil {
				return core.Errorf(core.EInvalid, "cannot read %s: %v", args[0], unwrapPathErr(err))
			}
			defer f.Close()
			b, err := postgres.CheckBackup(ctx, args[0], f)
			if err != nil {
				return err
			}
			defer b.Close()
			dbURL, done, err := a.siteDatabase(ctx)
			if err != nil {
				return err
			}
			err = postgres.Restore(ctx, dbURL, b)
			if err != nil {
				done()
				return err
			}
			// Migrate what an older backup lacks (kernel.New does).
			_, err = a.kernel(ctx)
			done()
			if err != nil {
				return fmt.Errorf("the backup is restored, but opening it failed: %w", err)
			}
			if a.jsonOut {
				return a.printJSON(b.Manifest)
			}
			a.say("Restored the backup of %s made %s (%d migrations).", b.Manifest.Database, b.Manifest.Created.Format("2006-01-02 15:04 MST"), len(b.Manifest.Migrations))
			return nil
		},
	}
}

// siteDatabase returns the site's database URL without opening a kernel
// (restore must hold no connection to it): DATABASE_URL, or the embedded
// cluster, started if needed and held until done is called.
func (a *app) siteDatabase(ctx context.Context) (string, func(), error) {
	cfg, err := a.settings()
	if err != nil {
		return "", nil, err
	}
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, func() {}, nil
	}
	cl, err := postgres.OpenCluster(ctx, postgres.ClusterConfig{Dir: filepath.Join(cfg.DataDir, "pg"), Logger: a.logger()})
	if err != nil {
		return "", nil, err
	}
	return cl.URL(postgres.ClusterDatabase), func() { _ = cl.Close(context.WithoutCancel(ctx)) }, nil
}
