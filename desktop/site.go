package desktop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"
	"time"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/demo"
	"github.com/trovato/trovato/core/kernel"
	"github.com/trovato/trovato/core/postgres"
)

// Config is what the desktop app needs to find and open its local site.
type Config struct {
	// Kernel is the process configuration; its DataDir holds the site
	// (the private PostgreSQL cluster under pg/, desktop.json, the window
	// state). An empty DatabaseURL means the private cluster.
	Kernel kernel.Config
	// User is the local user the editor and the API act as; default
	// "admin" (the site's first administrator).
	User   string
	Logger *slog.Logger
}

// SiteFile is the file in the data directory that records the local site.
const SiteFile = "desktop.json"

// SiteInfo is the content of SiteFile.
type SiteInfo struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// Origin is "new" (made on this computer) or "server" (a copy pulled
	// from Server), or "adopted" (a data directory made by the trovato
	// CLI before the app first opened it). "incomplete" marks a first-run
	// setup that has not finished: the next start offers the setup again
	// (and reuses the cluster it made).
	Origin string `json:"origin"`
	Server string `json:"server,omitempty"`
	Demo   bool   `json:"demo,omitempty"`
	// PluginsPending marks a new site whose reference plugins were not
	// installed yet (they install in the background after the first-run
	// setup); the next start installs them.
	PluginsPending bool `json:"plugins_pending,omitempty"`
}

const siteFormat = 1

const originIncomplete = "incomplete"

// Inspect reports the local site in dataDir: nil when there is none yet
// (the first start), its SiteInfo otherwise. A data directory made by the
// trovato CLI (a cluster without desktop.json) counts as a site. A
// desktop.json that cannot be read is an EInvalid error that says which
// file to look at; nothing is changed.
func Inspect(dataDir string) (*SiteInfo, error) {
	path := filepath.Join(dataDir, SiteFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		var info SiteInfo
		if err := json.Unmarshal(b, &info); err != nil || info.Format < 1 || info.Origin == "" {
			return nil, core.Errorf(core.EInvalid, "%s is damaged (not a desktop site record): move it away to let the app rebuild it from the site, or restore a backup", path)
		}
		if info.Format > siteFormat {
			return nil, core.Errorf(core.EInvalid, "%s was written by a newer Trovato (format %d): update the app", path, info.Format)
		}
		if info.Origin == originIncomplete {
			return nil, nil
		}
		return &info, nil
	case errors.Is(err, fs.ErrNotExist):
	case errors.Is(err, fs.ErrPermission):
		return nil, core.Errorf(core.EInvalid, "%s is not readable: run the app as the user that owns %s", path, dataDir)
	default:
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pg", "data")); err == nil {
		return &SiteInfo{Format: siteFormat, Origin: "adopted"}, nil
	}
	return nil, nil
}

func writeSiteInfo(dataDir string, info *SiteInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(dataDir, SiteFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// Site is the open local site: the kernel on the private cluster.
type Site struct {
	Kernel *kernel.Kernel
	Info   *SiteInfo
	// Phases is where CreateSite's time went (the first-run figures the
	// app prints and build/bench-desktop.sh shows); nil for OpenSite.
	Phases []Phase
	user   string

	// plugins is the outcome of the background plugin load (nil when
	// none was started); stopPlugins cancels it.
	plugins     chan struct{}
	pluginsErr  error
	pluginsTook time.Duration
	stopPlugins context.CancelFunc
}

// Phase is one timed step of the first-run setup. Concurrent steps
// overlap the ones they ran beside.
type Phase struct {
	Name string
	Took time.Duration
}

// NewSiteOptions choose what a new local site holds.
type NewSiteOptions struct {
	// Demo loads the demo content (articles, pages, categories, menus).
	Demo bool
	// Server is the server a copy is pulled from next: the site gets no
	// starter structure, and the setup stays incomplete until
	// CompleteSetup (after the pull).
	Server string
}

// starter is the demo without its content: config documents only.
func starter() fs.FS {
	sub := fstest.MapFS{
		"content": &fstest.MapFile{Mode: fs.ModeDir | 0o755},
		"files":   &fstest.MapFile{Mode: fs.ModeDir | 0o755},
	}
	_ = fs.WalkDir(demo.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "content/") || strings.HasPrefix(p, "files/") {
			return err
		}
		b, err := fs.ReadFile(demo.FS(), p)
		if err != nil {
			return err
		}
		sub[p] = &fstest.MapFile{Data: b, Mode: 0o644}
		return nil
	})
	return sub
}

// OpenSite opens the existing local site: it starts the private cluster
// (or joins one another process runs, or recovers one that crashed or was
// left running: postgres.OpenCluster does all three) and applies pending
// migrations. A damaged data directory or a cluster of another PostgreSQL
// major version is an EInvalid error that says what to do; OpenSite never
// removes or rewrites the cluster's files.
func OpenSite(ctx context.Context, cfg Config) (*Site, error) {
	info, err := Inspect(cfg.Kernel.DataDir)
	if err != nil {
		return nil, err
	}
	if info == nil {
		return nil, core.Errorf(core.ENotFound, "no local site in %s yet", cfg.Kernel.DataDir)
	}
	k, err := kernel.New(ctx, cfg.Kernel, kernel.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	s := &Site{Kernel: k, Info: info, user: userOf(cfg)}
	actx, err := s.Act(ctx)
	if err != nil {
		k.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	if info.Origin == "adopted" {
		info.Created = time.Now().UTC()
		if err := writeSiteInfo(cfg.Kernel.DataDir, info); err != nil {
			k.Close(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	// The enabled plugins load from the compilation cache while the
	// window opens; a first run that ended before its plugins were
	// installed installs them now.
	s.loadPlugins(actx, cfg.Kernel.DataDir, info.PluginsPending)
	return s, nil
}

// loadPlugins starts the background plugin load (kernel
// LoadInBackground): with install, the reference plugins are installed
// and enabled first, and desktop.json's PluginsPending is cleared.
func (s *Site) loadPlugins(actx context.Context, dataDir string, install bool) {
	if s.Kernel.Plugins == nil {
		return
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(actx))
	var prepare func(context.Context) error
	if install {
		prepare = func(ctx context.Context) error {
			if err := kernel.InstallBundled(ctx, s.Kernel); err != nil {
				return fmt.Errorf("reference plugins: %w", err)
			}
			info := *s.Info
			info.PluginsPending = false
			return writeSiteInfo(dataDir, &info)
		}
	}
	t0 := time.Now()
	errc := s.Kernel.Plugins.LoadInBackground(bctx, prepare, nil)
	done := make(chan struct{})
	go func() {
		s.pluginsErr = <-errc
		s.pluginsTook = time.Since(t0)
		close(done)
	}()
	s.plugins, s.stopPlugins = done, cancel
}

// WaitPlugins waits until the background plugin load finished (or ctx
// ends) and returns its error; nil when none was started.
func (s *Site) WaitPlugins(ctx context.Context) error {
	if s.plugins == nil {
		return nil
	}
	select {
	case <-s.plugins:
		return s.pluginsErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// PluginsTook is how long the background plugin load took (after
// WaitPlugins).
func (s *Site) PluginsTook() time.Duration { return s.pluginsTook }

// CreateSite makes the local site on the first start: the data directory,
// the private cluster (initdb), the schema, the default theme and the
// reference plugins (enabled, capabilities approved), and with opts.Demo
// the demo content. It returns once the site is ready: the reference
// plugins compile, install and enable in the background (WaitPlugins);
// pages asked for meanwhile wait for them. desktop.json is written once the
// site is ready (with PluginsPending until the plugins are in), so a
// first run that fails half-way is run again from the start on the next
// launch, and one that ended before its plugins installs them then.
func CreateSite(ctx context.Context, cfg Config, opts NewSiteOptions) (*Site, error) {
	info, err := Inspect(cfg.Kernel.DataDir)
	if err != nil {
		return nil, err
	}
	if info != nil && info.Origin != "adopted" {
		return nil, core.Errorf(core.EConflict, "%s already holds a local site: open it instead", cfg.Kernel.DataDir)
	}
	if err := os.MkdirAll(cfg.Kernel.DataDir, 0o755); err != nil {
		return nil, core.Errorf(core.EInvalid, "data directory %s cannot be created (%v): choose another with TROVATO_DATA_DIR", cfg.Kernel.DataDir, err)
	}
	if info == nil {
		if err := writeSiteInfo(cfg.Kernel.DataDir, &SiteInfo{Format: siteFormat, Created: time.Now().UTC(), Origin: originIncomplete}); err != nil {
			return nil, core.Errorf(core.EInvalid, "data directory %s is not writable (%v): choose another with TROVATO_DATA_DIR", cfg.Kernel.DataDir, unwrapErr(err))
		}
	}
	var phases []Phase
	timed := func(name string, t0 time.Time) { phases = append(phases, Phase{name, time.Since(t0)}) }
	t0 := time.Now()
	k, err := kernel.New(ctx, cfg.Kernel, kernel.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	timed("database: initdb, start, migrations", t0)
	s := &Site{Kernel: k, user: userOf(cfg)}
	fail := func(err error) (*Site, error) {
		k.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	actx, err := s.Act(ctx)
	if err != nil {
		return fail(err)
	}
	t0 = time.Now()
	switch {
	case opts.Demo:
		if _, err := demo.Load(actx, demo.NewStoreLoader(k.Store, k.Files()), demo.Options{}); err != nil {
			return fail(fmt.Errorf("load the demo: %w", err))
		}
		timed("demo content", t0)
	case opts.Server == "":
		if _, err := demo.Load(actx, demo.NewStoreLoader(k.Store, k.Files()), demo.Options{FS: starter()}); err != nil {
			return fail(fmt.Errorf("load the starter structure: %w", err))
		}
		timed("starter structure", t0)
	}
	if opts.Server != "" {
		// A pulled site gets its plugins from the server; the reference
		// plugins are installed before the pull, as on a new site.
		t0 = time.Now()
		if err := kernel.InstallBundled(actx, k); err != nil {
			return fail(fmt.Errorf("reference plugins: %w", err))
		}
		timed("install and enable the reference plugins", t0)
		s.Phases = phases
		s.Info = &SiteInfo{Format: siteFormat, Created: time.Now().UTC(), Origin: "server", Server: opts.Server}
		return s, nil // CompleteSetup writes desktop.json after the pull
	}
	// The site is ready: the reference plugins compile, install and
	// enable in the background (pages asked for meanwhile wait), and
	// desktop.json says so until they are in.
	s.Phases = phases
	s.Info = &SiteInfo{Format: siteFormat, Created: time.Now().UTC(), Origin: "new", Demo: opts.Demo, PluginsPending: true}
	if err := writeSiteInfo(cfg.Kernel.DataDir, s.Info); err != nil {
		return fail(err)
	}
	s.loadPlugins(actx, cfg.Kernel.DataDir, true)
	return s, nil
}

// CompleteSetup records a site pulled from a server as set up.
func (s *Site) CompleteSetup(dataDir string) error { return writeSiteInfo(dataDir, s.Info) }

func unwrapErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func userOf(cfg Config) string {
	if cfg.User == "" {
		return "admin"
	}
	return cfg.User
}

// User returns the local user's name.
func (s *Site) User() string { return s.user }

// Act returns ctx acting as the local user.
func (s *Site) Act(ctx context.Context) (context.Context, error) {
	actx, err := s.Kernel.AsUser(ctx, s.user)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "the local user %q cannot act on this site: %s", s.user, core.ErrorMessage(err))
	}
	return actx, nil
}

// Close closes the kernel; the private cluster stops when no other
// process (a trovato command, a second app) holds it.
func (s *Site) Close(ctx context.Context) {
	if s != nil && s.Kernel != nil {
		if s.stopPlugins != nil {
			s.stopPlugins()
			_ = s.WaitPlugins(ctx)
		}
		s.Kernel.Close(ctx)
		s.Kernel = nil
	}
}

// DatabaseURL returns the URL of the site's database.
func (s *Site) DatabaseURL() string {
	if s.Kernel.Cluster != nil {
		return s.Kernel.Cluster.URL(postgres.ClusterDatabase)
	}
	return s.Kernel.Config.DatabaseURL
}

// Backup writes a backup archive of the site to file (as `trovato backup
// FILE` does; `trovato restore FILE` restores it), through a temporary
// file renamed into place.
func (s *Site) Backup(ctx context.Context, file string) (*postgres.BackupManifest, error) {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "cannot write %s: %v", file, unwrapErr(err))
	}
	defer os.Remove(tmp.Name())
	m, err := postgres.Backup(ctx, s.DatabaseURL(), tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = core.Errorf(core.EInvalid, "cannot write %s: %v", file, unwrapErr(cerr))
	}
	if err != nil {
		return nil, err
	}
	return m, os.Rename(tmp.Name(), file)
}
