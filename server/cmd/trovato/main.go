// Command trovato is Trovato's server and command-line interface.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/kernel"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{stdout: os.Stdout, stderr: os.Stderr, env: os.Environ()}
	err := a.root().ExecuteContext(ctx)
	a.close()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "trovato: "+oneLine(err))
		os.Exit(1)
	}
}

// oneLine renders an error as one line: the safe message of a core error
// with its field paths, or the whole chain for anything else.
func oneLine(err error) string {
	var ce *core.Error
	if errors.As(err, &ce) {
		return strings.ReplaceAll(ce.Error(), "\n", " ")
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// app holds what every command shares: settings, the kernel (opened on
// first use), the acting user and output.
type app struct {
	stdout, stderr io.Writer
	env            []string

	configFile  string
	dataDir     string
	databaseURL string
	as          string
	jsonOut     bool
	verbose     bool
	// invalidateEvery is how often serve polls the change feed for cache
	// invalidation.
	invalidateEvery time.Duration
	// watchTheme is serve's --watch-theme folder (cmd_theme.go).
	watchTheme string

	cfg kernel.Config
	k   *kernel.Kernel
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "trovato",
		Short:         "Trovato: a content management system with staging, plugins and a desktop editor",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&a.configFile, "config", "", "process settings file (default <data dir>/trovato.toml)")
	f.StringVar(&a.dataDir, "data-dir", "", "data directory (default ~/.local/share/trovato, /var/lib/trovato as root)")
	f.StringVar(&a.databaseURL, "database-url", "", "PostgreSQL URL (default: the embedded cluster)")
	f.StringVar(&a.as, "as", "admin", "act as this user")
	f.BoolVar(&a.jsonOut, "json", false, "print JSON")
	f.BoolVarP(&a.verbose, "verbose", "v", false, "log what happens")
	root.AddCommand(a.migrateCmd(), a.servicesCmd(), a.configCmd(), a.typeCmd(), a.userCmd(), a.roleCmd(),
		a.itemCmd(), a.fileCmd(), a.stageCmd(), a.releaseCmd(), a.schedulerCmd(),
		a.categoryCmd(), a.aliasCmd(), a.menuCmd(), a.feedCmd(), a.accessCmd())
	for _, c := range a.extraCommands() {
		root.AddCommand(c)
	}
	return root
}

// extraCmds lets other files of this package register command groups.
var extraCmds []func(a *app) *cobra.Command

func (a *app) extraCommands() []*cobra.Command {
	var out []*cobra.Command
	for _, f := range extraCmds {
		out = append(out, f(a))
	}
	return out
}

// settings resolves the process settings: defaults < file < environment
// < flags.
func (a *app) settings() (kernel.Config, error) {
	home, _ := os.UserHomeDir()
	dataDir := kernel.DefaultDataDir(os.Getuid(), home)
	cfg := kernel.DefaultConfig(dataDir)
	// The data dir decides where the default config file is, so take it
	// from the environment and flags first.
	if v := lookupEnv(a.env, "TROVATO_DATA_DIR"); v != "" {
		cfg.DataDir = v
	}
	if a.dataDir != "" {
		cfg.DataDir = a.dataDir
	}
	file, must := a.configFile, a.configFile != ""
	if file == "" {
		file = filepath.Join(cfg.DataDir, "trovato.toml")
	}
	cfg, err := kernel.LoadConfig(cfg, file, must, a.env)
	if err != nil {
		return cfg, err
	}
	if a.dataDir != "" {
		cfg.DataDir = a.dataDir
	}
	if a.databaseURL != "" {
		cfg.DatabaseURL = a.databaseURL
	}
	return cfg, cfg.Validate()
}

func lookupEnv(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func (a *app) logger() *slog.Logger {
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}

// kernel opens the kernel once per process.
func (a *app) kernel(ctx context.Context) (*kernel.Kernel, error) {
	if a.k != nil {
		return a.k, nil
	}
	cfg, err := a.settings()
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	k, err := kernel.New(ctx, cfg, kernel.Options{Logger: a.logger()})
	if err != nil {
		return nil, err
	}
	a.k = k
	return k, nil
}

// acting opens the kernel and returns a context acting as --as.
func (a *app) acting(ctx context.Context) (context.Context, *kernel.Kernel, error) {
	k, err := a.kernel(ctx)
	if err != nil {
		return nil, nil, err
	}
	actx, err := k.AsUser(ctx, a.as)
	if err != nil {
		return nil, nil, err
	}
	return actx, k, nil
}

// actingOn is acting plus the id named by an argument (EINVALID if it is
// not one).
func (a *app) actingOn(ctx context.Context, arg string) (context.Context, *kernel.Kernel, core.ID, error) {
	id, err := core.ParseID(arg)
	if err != nil {
		return nil, nil, core.NilID, err
	}
	actx, k, err := a.acting(ctx)
	return actx, k, id, err
}

func (a *app) close() {
	if a.k != nil {
		a.k.Close(context.Background())
		a.k = nil
	}
}

// printJSON writes v as indented JSON.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes rows with a header, or v as JSON with --json.
func (a *app) table(v any, header []string, rows [][]string) error {
	if a.jsonOut {
		return a.printJSON(v)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// show writes v as JSON with --json, or as text.
func (a *app) show(v any, text string) error {
	if a.jsonOut {
		return a.printJSON(v)
	}
	_, err := fmt.Fprintln(a.stdout, strings.TrimRight(text, "\n"))
	return err
}

// showConfig writes a config document as JSON with --json, or as the
// YAML `trovato config apply` reads.
func (a *app) showConfig(d *core.ConfigDocument) error {
	if a.jsonOut {
		return a.printJSON(d)
	}
	y, err := core.MarshalConfigYAML(core.ConfigDoc{Kind: d.Kind, Name: d.Name, Body: d.Body})
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(y)
	return err
}

func (a *app) say(format string, args ...any) {
	if !a.jsonOut {
		fmt.Fprintf(a.stdout, format+"\n", args...)
	}
}

// stageID resolves --stage (empty means live).
func (a *app) stageID(ctx context.Context, k *kernel.Kernel, name string) (core.ID, error) {
	if name == "" || name == core.StageLive {
		return core.LiveStageID, nil
	}
	st, err := k.Store.Stages().FindStage(ctx, name)
	if err != nil {
		return core.NilID, err
	}
	if st.State != core.StageOpen {
		return core.NilID, core.Errorf(core.EInvalid, "stage %q is %s", name, st.State)
	}
	return st.ID, nil
}

// exitError makes the command exit non-zero with a message.
type exitError struct{ msg string }

func (e *exitError) Error() string { return e.msg }
