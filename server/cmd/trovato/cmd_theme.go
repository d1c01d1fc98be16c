package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/core/render"
	"github.com/trovato/trovato/server"
)

func init() { extraCmds = append(extraCmds, func(a *app) *cobra.Command { return a.themeCmd() }) }

func (a *app) themeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "theme",
		Short: "Install, enable and remove site themes",
		Long: `A site theme is a folder (or a .tar.gz/.zip of one) with theme.yaml (name,
label, version, base, regions), templates/*.html and assets/ (docs/site.md#themes).
It overrides its base theme (the built-in default theme unless it names an
installed one) file by file. Themes are stored in the database's blob store, so
every server node loads the same bytes; enabling one switches every node within
a second, without a restart.`,
	}
	cmd.AddCommand(a.themeListCmd(), a.themeInstallCmd(), a.themeEnableCmd(), a.themeUninstallCmd())
	return cmd
}

// themeRow is one line of `theme list`.
type themeRow struct {
	Name    string   `json:"name"`
	Label   string   `json:"label,omitempty"`
	Version string   `json:"version,omitempty"`
	Base    string   `json:"base,omitempty"`
	Regions []string `json:"regions"`
	Files   int      `json:"files"`
	Enabled bool     `json:"enabled"`
}

func (a *app) themeListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the built-in default theme and the installed themes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			themes, err := k.Store.Themes().FindThemes(ctx)
			if err != nil {
				return err
			}
			list := []themeRow{{Name: render.DefaultThemeName, Label: "Default (built in)", Regions: render.DefaultRegions, Enabled: true}}
			for _, t := range themes {
				list = append(list, themeRow{Name: t.Name, Label: t.Label, Version: t.Version, Base: t.Base, Regions: t.Regions, Files: len(t.Files), Enabled: t.Enabled})
				if t.Enabled {
					list[0].Enabled = false
				}
			}
			rows := make([][]string, len(list))
			for i, t := range list {
				state := "-"
				if t.Enabled {
					state = "enabled"
				}
				regions := strings.Join(t.Regions, ",")
				if regions == "" {
					regions = "(base's)"
				}
				rows[i] = []string{t.Name, dash(t.Version), dash(t.Base), state, regions, dash(t.Label)}
			}
			return a.table(list, []string{"NAME", "VERSION", "BASE", "STATE", "REGIONS", "LABEL"}, rows)
		},
	}
}

func (a *app) themeInstallCmd() *cobra.Command {
	var enable bool
	cmd := &cobra.Command{
		Use:   "install DIR|ARCHIVE",
		Short: "Install or upgrade a theme from its folder or a .tar.gz/.zip archive",
		Long: `Install or upgrade a theme. Every template is parsed and executed once with
sample data before anything is stored: a template with an error is refused
with its file and line, and the installed themes keep serving. An upgrade of
the enabled theme reaches every node at once; --enable also enables it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			t, err := installTheme(ctx, k, args[0])
			if err != nil {
				return err
			}
			state := "installed"
			if enable {
				if err := k.Store.Themes().EnableTheme(ctx, t.Name); err != nil {
					return err
				}
				t.Enabled = true
			}
			if t.Enabled {
				state += " (enabled: every node switches within a second)"
			}
			return a.show(t, fmt.Sprintf("theme %s %s %s, %d files", t.Name, t.Version, state, len(t.Files)))
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "enable it after installing")
	return cmd
}

// installTheme reads a theme folder or archive, builds it (with its base
// chain from the database) and stores it. Template errors name the file
// and line under src.
func installTheme(ctx context.Context, k *kernel.Kernel, src string) (*postgres.InstalledTheme, error) {
	t, err := render.ReadTheme(src)
	if err != nil {
		return nil, err
	}
	ts := k.Store.Themes()
	if _, err := server.BuildTheme(ctx, ts, t, render.Options{}); err != nil {
		var te *render.TemplateError
		if errors.As(err, &te) {
			return nil, core.Errorf(core.EInvalid, "theme %s refused, nothing changed: %s/%s", t.Manifest.Name, filepath.ToSlash(src), te.Error())
		}
		return nil, fmt.Errorf("theme %s refused, nothing changed: %w", t.Manifest.Name, err)
	}
	m := t.Manifest
	return ts.InstallTheme(ctx, postgres.ThemeInstall{Name: m.Name, Label: m.Label, Version: m.Version, Base: m.Base, Regions: m.Regions, Files: t.Files})
}

func (a *app) themeEnableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "enable NAME",
		Short: "Make NAME the site's theme (default: the built-in theme)",
		Long: `Make an installed theme the site's theme, or go back to the built-in one with
"default". The theme is built first: one whose templates no longer load is
refused and the current theme keeps serving. Every node switches within a
second and pages cached under the previous theme are invalidated.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			name := args[0]
			ts := k.Store.Themes()
			if name != render.DefaultThemeName {
				t, err := server.StoredTheme(ctx, ts, name)
				if err != nil {
					return err
				}
				if _, err := server.BuildTheme(ctx, ts, t, render.Options{}); err != nil {
					return fmt.Errorf("theme %s refused, nothing changed: %w", name, err)
				}
			}
			if err := ts.EnableTheme(ctx, name); err != nil {
				return err
			}
			a.say("theme %s enabled", name)
			return nil
		},
	}
}

func (a *app) themeUninstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall NAME",
		Short: "Remove an installed theme (not the enabled one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if err := k.Store.Themes().UninstallTheme(ctx, args[0]); err != nil {
				return err
			}
			a.say("theme %s uninstalled", args[0])
			return nil
		},
	}
}

// warnTileRegions warns about tiles placed in a region the enabled theme
// does not declare: they would not be shown. Only a database error fails.
func (a *app) warnTileRegions(ctx context.Context, k *kernel.Kernel, tiles map[string]string) error {
	regions := render.DefaultRegions
	theme := render.DefaultThemeName
	ts := k.Store.Themes()
	row, err := ts.EnabledTheme(ctx)
	switch {
	case err == nil:
		t, err := server.StoredTheme(ctx, ts, row.Name)
		var r *render.Renderer
		if err == nil {
			r, err = server.BuildTheme(ctx, ts, t, render.Options{})
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "warning: tile regions not checked: enabled theme %s: %s\n", row.Name, core.ErrorMessage(err))
			return nil
		}
		regions, theme = r.Theme().Regions, row.Name
	case core.ErrorCode(err) != core.ENotFound:
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(tiles)) {
		region := tiles[name]
		if !slices.Contains(regions, region) {
			fmt.Fprintf(a.stderr, "warning: tile %s: theme %s has no region %q (it has %s): the tile is not shown\n", name, theme, region, strings.Join(regions, ", "))
		}
	}
	return nil
}

// serveThemes makes a serving node render with the enabled theme and
// follow theme changes through the change feed, or, with --watch-theme,
// with the theme of a development folder reloaded on every change.
func serveThemes(ctx context.Context, srv *server.Server, watchDir string, log *slog.Logger) error {
	if watchDir == "" {
		return srv.FollowThemes(ctx, 0)
	}
	if fi, err := os.Stat(watchDir); err != nil || !fi.IsDir() {
		return core.Errorf(core.EInvalid, "--watch-theme %s is not a folder", watchDir)
	}
	log.Warn("serving the theme of a development folder on this node only; installed themes are not followed", "dir", watchDir)
	go func() {
		if err := srv.WatchThemeDir(ctx, watchDir); err != nil {
			log.Error("theme folder watcher stopped", "err", err)
		}
	}()
	return nil
}
