package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core/kernel"
)

func init() { extraCmds = append(extraCmds, func(a *app) *cobra.Command { return a.pluginCmd() }) }

func (a *app) pluginCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Install, enable, disable and write WebAssembly plugins",
		Long: `Plugins are plugin.toml beside <name>.wasm (docs/plugins.md). They are
installed into the database's blob store, so every server node loads the same
bytes, and enabled with the capabilities an administrator approves.`,
	}
	cmd.AddCommand(a.pluginListCmd(), a.pluginInstallCmd(), a.pluginEnableCmd(), a.pluginDisableCmd(),
		a.pluginUninstallCmd(), a.pluginNewCmd(), a.pluginBuildCmd(), a.pluginWatchCmd())
	return cmd
}

func (a *app) pluginListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List installed plugins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			list, err := k.Plugins.List(ctx)
			if err != nil {
				return err
			}
			rows := make([][]string, len(list))
			for i, p := range list {
				state := "disabled"
				if p.Enabled {
					state = "enabled"
				}
				if p.DisabledReason != "" && !p.Enabled {
					state += " (" + p.DisabledReason + ")"
				}
				rows[i] = []string{p.Name, p.Version, state, dash(strings.Join(p.Approved, ",")), dash(strings.Join(p.Requested, ",")), dash(strings.Join(p.Dependencies, ","))}
			}
			if list == nil {
				list = []kernel.PluginInfo{}
			}
			return a.table(list, []string{"NAME", "VERSION", "STATE", "APPROVED", "REQUESTED", "DEPENDS ON"}, rows)
		},
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (a *app) pluginInstallCmd() *cobra.Command {
	var enable bool
	var approve []string
	cmd := &cobra.Command{
		Use:   "install DIR|FILE",
		Short: "Install or upgrade a plugin from its folder, its plugin.toml or its .wasm",
		Long: `Install or upgrade a plugin. The module must load before anything is stored:
an invalid new version is refused and the installed one keeps running. An
upgrade of an enabled plugin stays enabled with the approvals it still requests.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			p, err := k.Plugins.Install(ctx, args[0])
			if err != nil {
				return err
			}
			if enable {
				if err := k.Plugins.Enable(ctx, p.Name, approve); err != nil {
					return err
				}
				p.Enabled, p.Approved = true, approve
			}
			state := "installed"
			if p.Enabled {
				state = "installed and enabled"
			}
			return a.show(p, fmt.Sprintf("%s %s %s", p.Name, p.Version, state))
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "enable it after installing")
	cmd.Flags().StringSliceVar(&approve, "approve", nil, "with --enable: approve this capability (repeat, or comma-separated)")
	return cmd
}

func (a *app) pluginEnableCmd() *cobra.Command {
	var approve []string
	var all bool
	cmd := &cobra.Command{
		Use:   "enable NAME",
		Short: "Enable an installed plugin, approving the capabilities it may use",
		Long: `Enable an installed plugin. Only the capabilities given with --approve (or
every one it requests, with --approve-all) are granted; a host call needing
another is refused, and an item_access vote without access.vote counts as
neutral. Dependencies must be enabled first.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if all {
				list, err := k.Plugins.List(ctx)
				if err != nil {
					return err
				}
				for _, p := range list {
					if p.Name == args[0] {
						approve = p.Requested
					}
				}
			}
			if err := k.Plugins.Enable(ctx, args[0], approve); err != nil {
				return err
			}
			return a.show(map[string]any{"name": args[0], "enabled": true, "approved": approve},
				fmt.Sprintf("%s enabled (approved: %s)", args[0], dash(strings.Join(approve, ", "))))
		},
	}
	cmd.Flags().StringSliceVar(&approve, "approve", nil, "approve this capability (repeat, or comma-separated)")
	cmd.Flags().BoolVar(&all, "approve-all", false, "approve every capability the plugin requests")
	return cmd
}

func (a *app) pluginDisableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "disable NAME",
		Short: "Disable a plugin (it stays installed with its data)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if err := k.Plugins.Disable(ctx, args[0]); err != nil {
				return err
			}
			return a.show(map[string]any{"name": args[0], "enabled": false}, args[0]+" disabled")
		},
	}
}

func (a *app) pluginUninstallCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "uninstall NAME",
		Short: "Uninstall a plugin: runs its uninstall tap, drops its tables and variables",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			if err := k.Plugins.Uninstall(ctx, args[0]); err != nil {
				return err
			}
			return a.show(map[string]any{"name": args[0], "installed": false}, args[0]+" uninstalled")
		},
	}
}

func (a *app) pluginNewCmd() *cobra.Command {
	var dir, sdk string
	cmd := &cobra.Command{
		Use:   "new NAME",
		Short: "Scaffold a Go plugin folder: plugin.toml, main.go with one tap, a test, go.mod",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				dir = args[0]
			}
			if err := kernel.ScaffoldPlugin(dir, args[0], sdk); err != nil {
				return err
			}
			return a.show(map[string]string{"name": args[0], "dir": dir},
				fmt.Sprintf("created %s\nnext: cd %s && go test ./... && trovato plugin build && trovato plugin install . --enable", dir, dir))
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "folder to create (default: NAME)")
	cmd.Flags().StringVar(&sdk, "sdk", "", "the SDK folder (default: plugins/sdk of the source tree around the working directory)")
	return cmd
}

func (a *app) pluginBuildCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build a Go plugin folder to <name>.wasm (GOOS=wasip1 GOARCH=wasm, c-shared)",
		Args:  cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			path, err := kernel.BuildPlugin(cmd.Context(), dir, out)
			if err != nil {
				return err
			}
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			rel := path
			if wd, err := os.Getwd(); err == nil {
				if r, err := filepath.Rel(wd, path); err == nil {
					rel = r
				}
			}
			return a.show(map[string]any{"module": path, "bytes": fi.Size()}, fmt.Sprintf("built %s (%s bytes)", rel, strconv.FormatInt(fi.Size(), 10)))
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "module to write (default DIR/<name>.wasm)")
	return cmd
}

func (a *app) pluginWatchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "watch DIR",
		Short: "Development installer: build, install and enable plugin folders under DIR as they change",
		Long: `Watch DIR, whose subfolders are plugins. When a folder changes (debounced), a Go
plugin whose sources are newer than its module is built, then the folder is
installed and enabled with every capability it requests approved. Runs until
interrupted. For development only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, k, err := a.acting(cmd.Context())
			if err != nil {
				return err
			}
			a.say("watching %s (Ctrl-C to stop)", args[0])
			return k.Plugins.WatchDir(ctx, args[0])
		},
	}
}
