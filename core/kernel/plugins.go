package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/trovato/trovato/core"
	"github.com/trovato/trovato/core/plugin"
	"github.com/trovato/trovato/core/postgres"
	"github.com/trovato/trovato/plugins"
)

// MaxPluginModuleBytes bounds one plugin's WebAssembly module.
const MaxPluginModuleBytes = 64 << 20

// installedVersionVar is the plugin variable where the kernel records the
// version whose install tap ran. Plugins cannot read or write it: their
// variable names match [a-z][a-z0-9_]*.
const installedVersionVar = "__installed_version"

// PluginManager owns the plugin host and the plugins' life cycle: install
// into the blob store, enable with approved capabilities, disable,
// uninstall; it loads the enabled plugins (lazily, on first use, or from
// Watch), reloads them on change-feed events and wires their taps into
// the item store, the authorizer and the grants.
type PluginManager struct {
	store *postgres.Store
	log   *slog.Logger
	host  *plugin.Host
	cache *tagCache

	// life serialises install, enable, disable, uninstall and reloads.
	life sync.Mutex

	loadMu sync.Mutex
	loaded atomic.Bool
	// bg is closed when a LoadInBackground finished; nil when none runs.
	bg atomic.Pointer[chan struct{}]

	stMu    sync.RWMutex
	enabled map[string]*plugin.Manifest // enabled in this node's host
	hashes  map[string]string           // module hash loaded in this node's host
	stages  map[core.ID]string          // stage id -> name, for tap inputs
	routes  *routeCache                 // nil after a plugin was enabled or disabled
}

type routeCache struct{ routes []PluginRoute }

// PluginOptions configures a PluginManager.
type PluginOptions struct {
	Logger *slog.Logger
	// CacheDir keeps wazero's compiled modules across restarts; empty
	// keeps them in memory.
	CacheDir string
	// Limits are the per-call limits of every plugin (zero fields: the
	// host's defaults).
	Limits plugin.Limits
}

// NewPluginManager builds the plugin host over the store's services,
// registers the installed plugins' permissions and staged kinds, and
// installs the item hooks, the item_access voter and the grants provider.
// Plugin modules are compiled on first use (a tap, or Watch), so one-shot
// commands that touch no item pay nothing.
func NewPluginManager(ctx context.Context, store *postgres.Store, opts PluginOptions) (*PluginManager, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &PluginManager{
		store:   store,
		log:     log.With("component", "plugins"),
		cache:   newTagCache(10000),
		enabled: map[string]*plugin.Manifest{},
		hashes:  map[string]string{},
		stages:  map[core.ID]string{},
	}
	if opts.CacheDir != "" {
		if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
			m.log.Warn("plugin compilation cache unavailable; compiling in memory", "dir", opts.CacheDir, "err", err)
			opts.CacheDir = ""
		}
	}
	if opts.Limits.PoolSize == 0 {
		// A tap whose host call runs another tap of the same plugin (an
		// item_save from tile_view runs item_presave) needs a second
		// instance.
		opts.Limits.PoolSize = max(2, runtime.GOMAXPROCS(0))
	}
	host, err := plugin.NewHost(ctx, plugin.HostConfig{
		Logger:   log,
		CacheDir: opts.CacheDir,
		Services: plugin.Services{
			Items:     &pluginItems{m},
			ItemSaver: &pluginItems{m},
			Data:      &pluginData{m},
			Staged:    &pluginStaged{m},
			Users:     &pluginUsers{m},
			Cache:     m.cache,
			Variables: store.Plugins(),
		},
		Validate:  plugin.TreeValidator(),
		Limits:    opts.Limits,
		OnDisable: m.disabledByHost,
	})
	if err != nil {
		return nil, err
	}
	m.host = host
	if rows, err := store.Plugins().FindPlugins(ctx); err != nil {
		m.log.Info("cannot list installed plugins; their permissions are not registered", "err", err)
	} else {
		for _, row := range rows {
			if man, err := parseStored(row); err == nil {
				m.register(man)
			} else {
				m.log.Error("installed plugin has an invalid manifest", "plugin", row.Name, "err", err)
			}
		}
	}
	store.SetItemHooks(m)
	store.SetGrantsProvider(m)
	store.SetGatherExtender(m)
	store.Authorizer().SetItemAccessVoter(m)
	return m, nil
}

// Host returns the plugin host (for stats and direct tap calls).
func (m *PluginManager) Host() *plugin.Host { return m.host }

// Close unloads every plugin.
func (m *PluginManager) Close(ctx context.Context) error {
	m.store.SetItemHooks(nil)
	m.store.SetGrantsProvider(nil)
	m.store.SetGatherExtender(nil)
	m.store.Authorizer().SetItemAccessVoter(nil)
	return m.host.Close(ctx)
}

func systemContext(ctx context.Context) context.Context {
	return core.NewContextWithUser(ctx, &core.User{ID: core.SystemUserID, Name: "system", Status: core.UserActive})
}

func parseStored(row *postgres.InstalledPlugin) (*plugin.Manifest, error) {
	man, err := plugin.ParseManifest(row.Name+"/"+plugin.ManifestFile, []byte(row.Manifest))
	if err != nil {
		return nil, err
	}
	return &man, nil
}

// register declares a plugin's permissions and staged kinds.
func (m *PluginManager) register(man *plugin.Manifest) {
	perms := m.store.Permissions()
	perms.Unregister(man.Name) // a new version may have dropped some
	for _, p := range man.Permissions {
		if err := perms.Register(core.Permission{Name: PluginPermission(man.Name, p.Name), Title: p.Title, Source: man.Name}); err != nil {
			m.log.Warn("plugin permission not registered", "plugin", man.Name, "permission", p.Name, "err", err)
		}
	}
	for _, kind := range man.Stageable {
		switch kind {
		case core.KindItem, core.KindTerm, core.KindAlias, core.KindMenuLink:
			m.log.Warn("plugin declares a kernel kind as stageable; ignored", "plugin", man.Name, "kind", kind)
			continue
		}
		perm := core.PermAdministerContent
		if p, ok := man.StageablePermissions[kind]; ok {
			perm = PluginPermission(man.Name, p)
		}
		if err := postgres.RegisterKind(kind, man.Name, perm); err != nil {
			m.log.Warn("plugin staged kind not registered", "plugin", man.Name, "kind", kind, "err", err)
		}
	}
}

// PluginPermission is the name under which a plugin's manifest permission
// is registered and granted to roles: "<plugin>.<name>", spaces and
// hyphens of the manifest name turned into underscores ("post" of blog is
// "blog.post"). Plugins ask user_has_permission for that full name.
func PluginPermission(pluginName, name string) string {
	return pluginName + "." + strings.NewReplacer(" ", "_", "-", "_").Replace(name)
}

// checkPermissions returns every problem of a manifest's permission names.
func checkPermissions(file string, man *plugin.Manifest) error {
	reg := core.NewPermissions()
	var fields []core.FieldError
	for i, p := range man.Permissions {
		full := PluginPermission(man.Name, p.Name)
		if err := reg.Register(core.Permission{Name: full, Title: p.Title, Source: man.Name}); err != nil {
			fields = append(fields, core.FieldError{Path: fmt.Sprintf("%s: permissions[%d].name", file, i),
				Message: fmt.Sprintf("%q (registered as %q) must start with a letter and hold only a-z, 0-9, _, - and spaces", p.Name, full)})
		}
	}
	if len(fields) > 0 {
		return core.InvalidFields(file+": invalid plugin manifest", fields)
	}
	return nil
}

// state --------------------------------------------------------------------

func (m *PluginManager) setEnabled(man *plugin.Manifest, hash string) {
	m.stMu.Lock()
	defer m.stMu.Unlock()
	if man == nil {
		return
	}
	m.enabled[man.Name] = man
	m.routes = nil
	if hash != "" {
		m.hashes[man.Name] = hash
	}
}

func (m *PluginManager) setDisabled(name string) {
	m.stMu.Lock()
	delete(m.enabled, name)
	m.routes = nil
	m.stMu.Unlock()
}

func (m *PluginManager) forget(name string) {
	m.stMu.Lock()
	delete(m.enabled, name)
	delete(m.hashes, name)
	m.routes = nil
	m.stMu.Unlock()
}

func (m *PluginManager) loadedHash(name string) string {
	m.stMu.RLock()
	defer m.stMu.RUnlock()
	return m.hashes[name]
}

// implements reports whether an enabled plugin implements tap.
func (m *PluginManager) implements(tap string) bool {
	m.stMu.RLock()
	defer m.stMu.RUnlock()
	for _, man := range m.enabled {
		if declares(man, tap) {
			return true
		}
	}
	return false
}

// Implements reports whether an enabled plugin implements tap (loading
// the plugins on first use).
func (m *PluginManager) Implements(ctx context.Context, tap string) bool { return m.ready(ctx, tap) }

func declares(man *plugin.Manifest, tap string) bool {
	for _, t := range man.Taps {
		if t.Name == tap {
			return true
		}
	}
	return false
}

func hasGrants(man *plugin.Manifest) bool {
	return declares(man, "item_grants") || declares(man, "user_grants")
}

func (m *PluginManager) disabledByHost(name string, err error) {
	m.setDisabled(name)
	ctx, cancel := context.WithTimeout(systemContext(context.Background()), 10*time.Second)
	defer cancel()
	if _, derr := m.store.Plugins().SetPluginEnabled(ctx, name, false, nil, "disabled after repeated failures: "+err.Error()); derr != nil {
		m.log.Error("record plugin disabled by the host", "plugin", name, "err", derr)
	}
}

// loading ------------------------------------------------------------------

// Load loads every enabled plugin from the database into the host, in
// dependency order, with the bytes of the blob store. It runs once;
// later changes arrive through the life-cycle methods and Watch.
func (m *PluginManager) Load(ctx context.Context) error {
	if m.loaded.Load() {
		return nil
	}
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	if m.loaded.Load() {
		return nil
	}
	rows, err := m.store.Plugins().FindPlugins(ctx)
	if err != nil {
		return fmt.Errorf("load plugins: %w", err)
	}
	var mans []plugin.Manifest
	byName := map[string]*postgres.InstalledPlugin{}
	for _, row := range rows {
		if !row.Enabled {
			continue
		}
		man, err := parseStored(row)
		if err != nil {
			m.log.Error("enabled plugin has an invalid manifest; not loaded", "plugin", row.Name, "err", err)
			continue
		}
		mans = append(mans, *man)
		byName[row.Name] = row
	}
	for _, man := range loadable(mans, m.log) {
		row := byName[man.Name]
		if err := m.loadRow(ctx, row, &man); err != nil {
			m.log.Error("enabled plugin not loaded", "plugin", man.Name, "err", err)
		}
	}
	m.loaded.Store(true)
	return nil
}

// loadable returns the manifests whose dependencies are all present, in
// dependency order, logging the others.
func loadable(mans []plugin.Manifest, log *slog.Logger) []plugin.Manifest {
	for {
		order, err := plugin.ResolveOrder(mans)
		if err == nil {
			return order
		}
		// Drop the plugins whose dependencies are missing and retry.
		present := map[string]bool{}
		for _, man := range mans {
			present[man.Name] = true
		}
		keep := mans[:0:0]
		for _, man := range mans {
			ok := true
			for _, d := range man.Dependencies {
				if !present[d] {
					ok = false
				}
			}
			if ok {
				keep = append(keep, man)
			} else {
				log.Error("plugin not loaded: a dependency is not enabled", "plugin", man.Name, "dependencies", man.Dependencies)
			}
		}
		if len(keep) == len(mans) {
			log.Error("plugins not loaded", "err", err)
			return nil
		}
		mans = keep
	}
}

func (m *PluginManager) readModule(ctx context.Context, hash string) ([]byte, error) {
	r, _, err := m.store.Blobs().OpenBlob(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("open plugin module %s: %w", hash, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, MaxPluginModuleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read plugin module %s: %w", hash, err)
	}
	return b, nil
}

// loadRow loads (or replaces) a plugin in the host from its stored module
// and enables it there when the row is enabled. An invalid module keeps a
// running version.
func (m *PluginManager) loadRow(ctx context.Context, row *postgres.InstalledPlugin, man *plugin.Manifest) error {
	if m.loadedHash(row.Name) != row.WasmHash {
		wasm, err := m.readModule(ctx, row.WasmHash)
		if err != nil {
			return err
		}
		if err := m.host.Load(ctx, *man, wasm, plugin.Limits{}); err != nil {
			return err
		}
		m.stMu.Lock()
		m.hashes[row.Name] = row.WasmHash
		m.stMu.Unlock()
	}
	m.register(man)
	if !row.Enabled {
		if err := m.host.Disable(row.Name); err != nil && core.ErrorCode(err) != core.ENotFound {
			return err
		}
		m.setDisabled(row.Name)
		return nil
	}
	if err := m.host.Enable(row.Name, caps(row.Approved)); err != nil {
		return err
	}
	m.setEnabled(man, row.WasmHash)
	return nil
}

func caps(names []string) []plugin.Capability {
	out := make([]plugin.Capability, len(names))
	for i, n := range names {
		out[i] = plugin.Capability(n)
	}
	return out
}

// life cycle ---------------------------------------------------------------

// PluginInfo is an installed plugin with its manifest and this node's
// counters.
type PluginInfo struct {
	*postgres.InstalledPlugin
	Description  string        `json:"description"`
	Requested    []string      `json:"requested"`
	Dependencies []string      `json:"dependencies"`
	Loaded       bool          `json:"loaded"`
	Stats        *plugin.Stats `json:"stats,omitempty"`
}

// List returns the installed plugins.
func (m *PluginManager) List(ctx context.Context) ([]PluginInfo, error) {
	rows, err := m.store.Plugins().FindPlugins(ctx)
	if err != nil {
		return nil, err
	}
	stats := map[string]plugin.Stats{}
	for _, s := range m.host.Stats() {
		stats[s.Plugin] = s
	}
	out := make([]PluginInfo, 0, len(rows))
	for _, row := range rows {
		pi := PluginInfo{InstalledPlugin: row, Requested: []string{}, Dependencies: []string{}}
		if man, err := parseStored(row); err == nil {
			pi.Description = man.Description
			for _, c := range man.Capabilities {
				pi.Requested = append(pi.Requested, string(c))
			}
			pi.Dependencies = append(pi.Dependencies, man.Dependencies...)
		}
		if s, ok := stats[row.Name]; ok {
			pi.Loaded, pi.Stats = true, &s
		}
		out = append(out, pi)
	}
	return out, nil
}

// Install installs or upgrades the plugin at path: a directory holding
// plugin.toml and <name>.wasm, a .wasm file with plugin.toml beside it, or
// a plugin.toml with <name>.wasm beside it. See InstallBytes.
func (m *PluginManager) Install(ctx context.Context, path string) (*postgres.InstalledPlugin, error) {
	manifest, wasmPath, err := pluginFiles(path)
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(manifest)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "read %s: %v", manifest, unwrapPath(err))
	}
	if wasmPath == "" {
		man, err := plugin.ParseManifest(manifest, src)
		if err != nil {
			return nil, err
		}
		wasmPath = filepath.Join(filepath.Dir(manifest), man.Name+".wasm")
	}
	wasm, err := readLimited(wasmPath, MaxPluginModuleBytes)
	if err != nil {
		return nil, err
	}
	return m.InstallBytes(ctx, manifest, src, wasm)
}

func readLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "plugin module %s: %v (build it with: trovato plugin build)", path, unwrapPath(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, core.Errorf(core.ETooLarge, "plugin module %s is larger than %d bytes", path, max)
	}
	return b, nil
}

// pluginFiles finds the manifest (and, for a .wasm argument, the module).
func pluginFiles(path string) (manifest, wasm string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", core.Errorf(core.EInvalid, "plugin %s: %v", path, unwrapPath(err))
	}
	switch {
	case fi.IsDir():
		return filepath.Join(path, plugin.ManifestFile), "", nil
	case strings.HasSuffix(path, ".wasm"):
		return filepath.Join(filepath.Dir(path), plugin.ManifestFile), path, nil
	case filepath.Base(path) == plugin.ManifestFile:
		return path, "", nil
	}
	return "", "", core.Errorf(core.EInvalid, "plugin %s: give a plugin folder, its plugin.toml or its .wasm module", path)
}

// InstallBytes installs or upgrades a plugin from its manifest (file names
// it in errors, which carry file:line) and module. The module must load
// in this node's host before anything is stored: an invalid new version is
// refused and the running one keeps running. The module goes to the blob
// store (so every node loads the same bytes), the plugin row records it,
// the plugin's tables are created or migrated and its permissions and
// staged kinds registered. An upgrade of an enabled plugin keeps it
// enabled with the approvals it still requests and runs its install tap.
// Installing the same manifest and module again changes nothing.
// EINVALID, EFORBIDDEN without plugins.administer.
func (m *PluginManager) InstallBytes(ctx context.Context, file string, manifest, wasm []byte) (*postgres.InstalledPlugin, error) {
	if err := m.store.Authorizer().Require(ctx, core.UserFromContext(ctx), core.PermAdministerPlugins); err != nil {
		return nil, err
	}
	man, err := plugin.ParseManifest(file, manifest)
	if err != nil {
		return nil, err
	}
	if err := checkPermissions(file, &man); err != nil {
		return nil, err
	}
	if len(wasm) > MaxPluginModuleBytes {
		return nil, core.Errorf(core.ETooLarge, "plugin module is larger than %d bytes", MaxPluginModuleBytes)
	}
	if err := m.Load(ctx); err != nil {
		return nil, err
	}
	m.life.Lock()
	defer m.life.Unlock()
	hash := sha256Hex(wasm)
	old, err := m.store.Plugins().FindPlugin(ctx, man.Name)
	if err != nil && core.ErrorCode(err) != core.ENotFound {
		return nil, err
	}
	if old != nil && old.WasmHash == hash && old.Manifest == string(manifest) {
		return old, nil
	}
	if err := m.host.Load(ctx, man, wasm, plugin.Limits{}); err != nil {
		return nil, core.Errorf(core.EInvalid, "plugin %s %s not installed: %s", man.Name, man.Version, core.ErrorMessage(err))
	}
	m.stMu.Lock()
	m.hashes[man.Name] = hash
	m.stMu.Unlock()
	stored, _, err := m.store.Blobs().PutBlob(ctx, bytes.NewReader(wasm), MaxPluginModuleBytes)
	if err != nil {
		return nil, fmt.Errorf("store plugin module: %w", err)
	}
	requested := make([]string, len(man.Capabilities))
	for i, c := range man.Capabilities {
		requested[i] = string(c)
	}
	row, err := m.store.Plugins().InstallPlugin(ctx, man.Name, man.Version, string(manifest), stored, requested)
	if err != nil {
		return nil, err
	}
	if err := m.store.Plugins().EnsurePluginTables(ctx, man.Name, pluginTables(&man)); err != nil {
		return nil, err
	}
	m.register(&man)
	if !row.Enabled {
		if err := m.host.Disable(man.Name); err != nil {
			return nil, err
		}
		m.setDisabled(man.Name)
		return row, nil
	}
	// An upgrade of an enabled plugin: the host kept it enabled; align
	// the approvals with what the new version still requests.
	if err := m.host.Enable(man.Name, caps(row.Approved)); err != nil {
		return nil, err
	}
	m.setEnabled(&man, hash)
	m.runInstallTap(ctx, &man)
	if hasGrants(&man) || (old != nil && oldHadGrants(old)) {
		m.rebuildGrants(ctx)
	}
	return row, nil
}

func oldHadGrants(row *postgres.InstalledPlugin) bool {
	man, err := parseStored(row)
	return err == nil && hasGrants(man)
}

func pluginTables(man *plugin.Manifest) []postgres.PluginTable {
	out := make([]postgres.PluginTable, 0, len(man.Tables))
	for _, t := range man.Tables {
		out = append(out, pgTable(&t))
	}
	return out
}

func pgTable(t *plugin.Table) postgres.PluginTable {
	pt := postgres.PluginTable{Name: t.Name, Version: t.SchemaVersion, PrimaryKey: t.PrimaryKey}
	for _, c := range t.Columns {
		pt.Columns = append(pt.Columns, postgres.PluginColumn{Name: c.Name, Type: c.Type, NotNull: c.NotNull})
	}
	for _, ix := range t.Indexes {
		pt.Indexes = append(pt.Indexes, postgres.PluginIndex{Name: ix.Name, Columns: ix.Columns, Unique: ix.Unique})
	}
	return pt
}

// Enable enables an installed plugin with the capabilities an
// administrator approved (a capability the manifest does not request is
// EINVALID). Its dependencies must be installed and enabled; a missing one
// or a cycle is EINVALID naming the chain. The first enable of a version
// runs its install tap; item types from its item_info tap that do not
// exist yet are created; a plugin with item_grants or user_grants makes
// the kernel rebuild the grants. ENOTFOUND, EFORBIDDEN.
func (m *PluginManager) Enable(ctx context.Context, name string, approved []string) error {
	if err := m.store.Authorizer().Require(ctx, core.UserFromContext(ctx), core.PermAdministerPlugins); err != nil {
		return err
	}
	if err := m.Load(ctx); err != nil {
		return err
	}
	m.life.Lock()
	defer m.life.Unlock()
	rows, err := m.store.Plugins().FindPlugins(ctx)
	if err != nil {
		return err
	}
	installed := map[string]*postgres.InstalledPlugin{}
	for _, r := range rows {
		installed[r.Name] = r
	}
	row := installed[name]
	if row == nil {
		return core.Errorf(core.ENotFound, "plugin %q is not installed (see: trovato plugin list)", name)
	}
	man, err := parseStored(row)
	if err != nil {
		return err
	}
	approved = slices.Compact(slices.Sorted(slices.Values(approved)))
	for _, c := range approved {
		if !man.HasCapability(plugin.Capability(c)) {
			return core.Errorf(core.EInvalid, "plugin %s does not request capability %q (it requests: %s)", name, c, joinCapabilities(man.Capabilities))
		}
	}
	if err := checkDependencies(man, installed); err != nil {
		return err
	}
	if approved == nil {
		approved = []string{}
	}
	if row.Enabled && slices.Equal(slices.Sorted(slices.Values(row.Approved)), approved) && m.loadedHash(name) == row.WasmHash {
		// Enabled already as asked: nothing to store; item types the
		// plugin declares may still be missing (a vocabulary created since).
		m.applyItemTypes(ctx, name)
		return nil
	}
	row.Enabled, row.Approved = true, approved
	if err := m.loadRow(ctx, row, man); err != nil {
		return core.Errorf(core.EInvalid, "plugin %s cannot be loaded: %s", name, core.ErrorMessage(err))
	}
	if _, err := m.store.Plugins().SetPluginEnabled(ctx, name, true, approved, ""); err != nil {
		_ = m.host.Disable(name)
		m.setDisabled(name)
		return err
	}
	m.runInstallTap(ctx, man)
	m.applyItemTypes(ctx, name)
	if hasGrants(man) {
		m.rebuildGrants(ctx)
	}
	return nil
}

func joinCapabilities(cs []plugin.Capability) string {
	if len(cs) == 0 {
		return "nothing"
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// checkDependencies walks man's dependencies over the installed plugins:
// a missing plugin or a cycle is EINVALID naming the chain from man, and
// every dependency must be enabled.
func checkDependencies(man *plugin.Manifest, installed map[string]*postgres.InstalledPlugin) error {
	var disabled []string
	state := map[string]int{} // 1 visiting, 2 done
	var walk func(m *plugin.Manifest, chain []string) error
	walk = func(m *plugin.Manifest, chain []string) error {
		state[m.Name] = 1
		for _, d := range m.Dependencies {
			path := append(chain[:len(chain):len(chain)], d)
			switch state[d] {
			case 1:
				return core.Errorf(core.EInvalid, "plugin %s cannot be enabled: dependency cycle: %s", man.Name, strings.Join(path, " -> "))
			case 2:
				continue
			}
			row := installed[d]
			if row == nil {
				return core.Errorf(core.EInvalid, "plugin %s cannot be enabled: missing dependency: %s (not installed)", man.Name, strings.Join(path, " -> "))
			}
			dm, err := parseStored(row)
			if err != nil {
				return err
			}
			if !row.Enabled {
				disabled = append(disabled, d)
			}
			if err := walk(dm, path); err != nil {
				return err
			}
		}
		state[m.Name] = 2
		return nil
	}
	if err := walk(man, []string{man.Name}); err != nil {
		return err
	}
	if len(disabled) > 0 {
		return core.Errorf(core.EInvalid, "plugin %s depends on %s, which is disabled: enable %s first", man.Name, strings.Join(disabled, ", "), disabled[0])
	}
	return nil
}

// runInstallTap runs the install tap once per installed version.
func (m *PluginManager) runInstallTap(ctx context.Context, man *plugin.Manifest) {
	vars := m.store.Plugins()
	prev := ""
	if b, ok, err := vars.GetVariable(ctx, man.Name, installedVersionVar); err != nil {
		m.log.Error("read installed version", "plugin", man.Name, "err", err)
		return
	} else if ok {
		_ = json.Unmarshal(b, &prev)
	}
	if prev == man.Version {
		return
	}
	if declares(man, "install") {
		in, _ := json.Marshal(map[string]string{"plugin": man.Name, "version": man.Version, "previous_version": prev})
		r := m.host.InvokePlugin(ctx, man.Name, "install", in)
		if r.Err != nil {
			m.log.Warn("install tap failed", "plugin", man.Name, "err", r.Err)
		} else if r.Output != nil {
			var out struct {
				Messages []string `json:"messages"`
			}
			if json.Unmarshal(r.Output, &out) == nil {
				for _, msg := range out.Messages {
					m.log.Info("plugin installed", "plugin", man.Name, "message", msg)
				}
			}
		}
	}
	v, _ := json.Marshal(man.Version)
	if err := vars.SetVariable(ctx, man.Name, installedVersionVar, v); err != nil {
		m.log.Error("record installed version", "plugin", man.Name, "err", err)
	}
}

// applyItemTypes creates the item types a plugin's item_info declares
// when they do not exist yet; existing types are the site builder's and
// are left alone.
func (m *PluginManager) applyItemTypes(ctx context.Context, name string) {
	if !m.pluginDeclares(name, "item_info") {
		return
	}
	r := m.host.InvokePlugin(ctx, name, "item_info", []byte(`{}`))
	if r.Err != nil || r.Output == nil {
		if r.Err != nil {
			m.log.Warn("item_info failed", "plugin", name, "err", r.Err)
		}
		return
	}
	var out struct {
		ItemTypes []json.RawMessage `json:"item_types"`
	}
	if err := json.Unmarshal(r.Output, &out); err != nil {
		m.log.Warn("item_info output dropped", "plugin", name, "err", err)
		return
	}
	for _, body := range out.ItemTypes {
		t, err := core.ParseItemType(body)
		if err != nil {
			m.log.Warn("item_info type dropped", "plugin", name, "err", err)
			continue
		}
		if _, err := m.store.Config().FindConfig(ctx, "item_type", t.Name); err == nil {
			continue
		}
		if _, err := m.store.ApplyType(systemContext(ctx), body, false); err != nil {
			m.log.Warn("item type from item_info not created", "plugin", name, "type", t.Name, "err", err)
		}
	}
}

func (m *PluginManager) pluginDeclares(name, tap string) bool {
	man, ok := m.host.Manifest(name)
	return ok && declares(&man, tap)
}

func (m *PluginManager) rebuildGrants(ctx context.Context) {
	if n, err := m.store.RebuildGrants(systemContext(ctx)); err != nil {
		m.log.Error("access rebuild after a grants plugin changed", "err", err)
	} else {
		m.log.Info("access rebuilt", "items", n)
	}
}

// Disable disables a plugin; it stays installed with its data. A plugin
// that an enabled plugin depends on is EINVALID naming the dependents.
// ENOTFOUND, EFORBIDDEN.
func (m *PluginManager) Disable(ctx context.Context, name string) error {
	if err := m.store.Authorizer().Require(ctx, core.UserFromContext(ctx), core.PermAdministerPlugins); err != nil {
		return err
	}
	m.life.Lock()
	defer m.life.Unlock()
	return m.disableLocked(ctx, name, "")
}

func (m *PluginManager) disableLocked(ctx context.Context, name, reason string) error {
	rows, err := m.store.Plugins().FindPlugins(ctx)
	if err != nil {
		return err
	}
	var row *postgres.InstalledPlugin
	var dependents []string
	for _, r := range rows {
		if r.Name == name {
			row = r
			continue
		}
		if !r.Enabled {
			continue
		}
		if dm, err := parseStored(r); err == nil && slices.Contains(dm.Dependencies, name) {
			dependents = append(dependents, r.Name)
		}
	}
	if row == nil {
		return core.Errorf(core.ENotFound, "plugin %q is not installed (see: trovato plugin list)", name)
	}
	if len(dependents) > 0 {
		return core.Errorf(core.EInvalid, "plugin %s is needed by %s: disable %s first", name, strings.Join(dependents, ", "), strings.Join(dependents, ", "))
	}
	if _, err := m.store.Plugins().SetPluginEnabled(ctx, name, false, nil, reason); err != nil {
		return err
	}
	if err := m.host.Disable(name); err != nil && core.ErrorCode(err) != core.ENotFound {
		return err
	}
	m.setDisabled(name)
	if man, err := parseStored(row); err == nil && hasGrants(man) && row.Enabled {
		m.rebuildGrants(ctx)
	}
	return nil
}

// Uninstall disables a plugin if needed, runs its uninstall tap, then
// drops its tables, variables and row and unregisters its permissions.
// ENOTFOUND, EFORBIDDEN, EINVALID when enabled plugins depend on it.
func (m *PluginManager) Uninstall(ctx context.Context, name string) error {
	if err := m.store.Authorizer().Require(ctx, core.UserFromContext(ctx), core.PermAdministerPlugins); err != nil {
		return err
	}
	if err := m.Load(ctx); err != nil {
		return err
	}
	m.life.Lock()
	defer m.life.Unlock()
	row, err := m.store.Plugins().FindPlugin(ctx, name)
	if err != nil {
		return err
	}
	if row.Enabled {
		if err := m.disableLocked(ctx, name, "uninstalled"); err != nil {
			return err
		}
	}
	man, err := parseStored(row)
	if err == nil && declares(man, "uninstall") {
		if _, ok := m.host.Manifest(name); !ok {
			if wasm, err := m.readModule(ctx, row.WasmHash); err == nil {
				if err := m.host.Load(ctx, *man, wasm, plugin.Limits{}); err != nil {
					m.log.Warn("plugin not loadable for its uninstall tap", "plugin", name, "err", err)
				}
			}
		}
		in, _ := json.Marshal(map[string]string{"plugin": man.Name, "version": man.Version})
		if r := m.host.InvokePlugin(ctx, name, "uninstall", in); r.Err != nil {
			m.log.Warn("uninstall tap failed", "plugin", name, "err", r.Err)
		}
	}
	if err := m.store.Plugins().UninstallPlugin(ctx, name); err != nil {
		return err
	}
	if err := m.host.Unload(ctx, name); err != nil && core.ErrorCode(err) != core.ENotFound {
		m.log.Warn("unload plugin", "plugin", name, "err", err)
	}
	m.forget(name)
	m.store.Permissions().Unregister(name)
	return nil
}

// Reload brings this node's host in line with a plugin's row: loads a new
// module (an invalid one keeps the running version), enables or disables
// it, or unloads an uninstalled plugin.
func (m *PluginManager) Reload(ctx context.Context, name string) error {
	if err := m.Load(ctx); err != nil {
		return err
	}
	m.life.Lock()
	defer m.life.Unlock()
	row, err := m.store.Plugins().FindPlugin(ctx, name)
	if core.ErrorCode(err) == core.ENotFound {
		if _, ok := m.host.Manifest(name); ok {
			if err := m.host.Unload(ctx, name); err != nil {
				return err
			}
		}
		m.forget(name)
		m.store.Permissions().Unregister(name)
		return nil
	} else if err != nil {
		return err
	}
	man, err := parseStored(row)
	if err != nil {
		return err
	}
	if !row.Enabled {
		if _, ok := m.host.Manifest(name); !ok {
			m.register(man)
			return nil
		}
	}
	return m.loadRow(ctx, row, man)
}

// Watch loads the enabled plugins, then follows the change feed until ctx
// ends: a plugin row that changed (on any node) is reloaded, and item
// changes drop the plugin cache entries tagged with them. poll is the
// feed poll interval (default 1 s).
func (m *PluginManager) Watch(ctx context.Context, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	if err := m.Load(ctx); err != nil {
		return err
	}
	// The feed is followed from after a background load (whose own
	// installs must not come back as reloads).
	if p := m.bg.Load(); p != nil {
		select {
		case <-*p:
		case <-ctx.Done():
			return nil
		}
	}
	feed := m.store.Feed()
	cur, err := feed.FeedHead(ctx)
	if err != nil {
		return err
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	sctx := systemContext(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		changes, next, err := feed.ReadChanges(ctx, cur, 1000)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			m.log.Warn("read change feed", "err", err)
			continue
		}
		cur = next
		reload := map[string]bool{}
		var tags []string
		for _, c := range changes {
			switch c.Kind {
			case core.KindPlugin:
				reload[c.EntityID] = true
			case core.KindItem:
				tags = append(tags, "item:"+c.EntityID)
			}
		}
		if len(tags) > 0 {
			_ = m.cache.InvalidateTags(ctx, append(tags, "items")...)
		}
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for n := range reload {
				if !yield(n) {
					return
				}
			}
		}) {
			if err := m.Reload(sctx, name); err != nil {
				m.log.Error("reload plugin", "plugin", name, "err", err)
			}
		}
	}
}

// WatchDir is the development installer: it watches dir, whose
// subfolders are plugins, and installs and enables (approving every
// capability it requests) a plugin whose folder changed, after 300 ms of
// quiet. A folder with a go.mod whose Go sources are newer than its module
// is built first. Errors are logged; it returns when ctx ends.
func (m *PluginManager) WatchDir(ctx context.Context, dir string) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	defer w.Close()
	if err := w.Add(dir); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	pending := map[string]time.Time{}
	for _, e := range entries {
		if e.IsDir() {
			sub := filepath.Join(dir, e.Name())
			if err := w.Add(sub); err != nil {
				m.log.Warn("watch plugin folder", "dir", sub, "err", err)
			}
			pending[sub] = time.Now()
		}
	}
	const quiet = 300 * time.Millisecond
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			m.log.Warn("plugin folder watch", "err", err)
		case ev := <-w.Events:
			rel, err := filepath.Rel(dir, ev.Name)
			if err != nil || rel == "." {
				continue
			}
			top := filepath.Join(dir, strings.Split(rel, string(filepath.Separator))[0])
			if fi, err := os.Stat(top); err == nil && fi.IsDir() {
				if top == ev.Name && ev.Has(fsnotify.Create) {
					_ = w.Add(top)
				}
				pending[top] = time.Now()
			}
		case now := <-tick.C:
			for folder, at := range pending {
				if now.Sub(at) < quiet {
					continue
				}
				delete(pending, folder)
				if err := m.devInstall(ctx, folder); err != nil {
					m.log.Error("dev install", "dir", folder, "err", err)
				}
			}
		}
	}
}

func (m *PluginManager) devInstall(ctx context.Context, folder string) error {
	src, err := os.ReadFile(filepath.Join(folder, plugin.ManifestFile))
	if err != nil {
		return nil // not (yet) a plugin folder
	}
	man, err := plugin.ParseManifest(filepath.Join(folder, plugin.ManifestFile), src)
	if err != nil {
		return err
	}
	wasm := filepath.Join(folder, man.Name+".wasm")
	if _, err := os.Stat(filepath.Join(folder, "go.mod")); err == nil && sourcesNewer(folder, wasm) {
		if _, err := BuildPlugin(ctx, folder, ""); err != nil {
			return err
		}
	}
	if _, err := m.Install(ctx, folder); err != nil {
		return err
	}
	approve := make([]string, len(man.Capabilities))
	for i, c := range man.Capabilities {
		approve[i] = string(c)
	}
	if row, err := m.store.Plugins().FindPlugin(ctx, man.Name); err == nil && row.Enabled && slices.Equal(slices.Sorted(slices.Values(row.Approved)), slices.Sorted(slices.Values(approve))) {
		return nil
	}
	if err := m.Enable(ctx, man.Name, approve); err != nil {
		return err
	}
	m.log.Info("plugin installed from the development folder", "plugin", man.Name, "version", man.Version)
	return nil
}

func sourcesNewer(folder, wasm string) bool {
	wi, err := os.Stat(wasm)
	if err != nil {
		return true
	}
	newer := false
	_ = filepath.WalkDir(folder, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if strings.HasSuffix(p, ".go") || filepath.Base(p) == "go.mod" {
			if fi, err := d.Info(); err == nil && fi.ModTime().After(wi.ModTime()) {
				newer = true
			}
		}
		return nil
	})
	return newer
}

// GoToolchain returns the go command to build plugins with: $GOROOT/bin/go
// of this binary's toolchain when present, else go on PATH, else "".
func GoToolchain() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// BuildPlugin builds the Go plugin in dir with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared into out (default dir/<name>.wasm, the name from
// dir/plugin.toml) and returns the module's path.
func BuildPlugin(ctx context.Context, dir, out string) (string, error) {
	goBin := GoToolchain()
	if goBin == "" {
		return "", core.Errorf(core.EUnavailable, "building a plugin needs the Go toolchain (https://go.dev/dl/)")
	}
	man, err := plugin.LoadManifest(dir)
	if err != nil {
		return "", err
	}
	if out == "" {
		out = filepath.Join(dir, man.Name+".wasm")
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-buildmode=c-shared", "-trimpath", "-o", abs, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "GOWORK=off", "GOFLAGS=-mod=mod")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", core.Errorf(core.EInvalid, "build plugin %s: %v\n%s", man.Name, err, strings.TrimSpace(string(msg)))
	}
	return abs, nil
}

// ScaffoldPlugin writes a new Go plugin folder dir (which must not exist
// or be empty) for a plugin named name: plugin.toml, main.go with one
// item_view tap, main_test.go testing it through the SDK's fake, and a
// go.mod using the SDK at sdkDir (a replace directive; empty: the SDK of
// the source tree around the working directory). EINVALID.
func ScaffoldPlugin(dir, name, sdkDir string) error {
	if !core.ValidMachineName(name) {
		return core.Errorf(core.EInvalid, "plugin name %q: use a lowercase letter then a-z, 0-9 and _", name)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return core.Errorf(core.EInvalid, "%s exists and is not empty", dir)
	}
	if sdkDir == "" {
		if root := sourceRoot(); root != "" {
			sdkDir = filepath.Join(root, "plugins", "sdk")
		}
	}
	if sdkDir == "" || !fileExists(filepath.Join(sdkDir, "go.mod")) {
		return core.Errorf(core.EInvalid, "the plugin SDK was not found: give its folder (plugins/sdk of a Trovato source tree) with --sdk")
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	absSDK, err := filepath.Abs(sdkDir)
	if err != nil {
		return err
	}
	replace := absSDK
	if rel, err := filepath.Rel(absDir, absSDK); err == nil {
		replace = rel
		if !strings.HasPrefix(replace, ".") {
			replace = "./" + replace
		}
	}
	files := map[string]string{
		plugin.ManifestFile: fmt.Sprintf(`name = %q
version = "0.1.0"
api_version = %d
description = "What %s does."
# Capabilities the plugin asks an administrator to approve (docs/plugins.md):
# item.read, item.write, data, user.read, cache, variables, request, log, access.vote
capabilities = []

[[taps]]
name = "item_view"
weight = 10
`, name, plugin.APIVersion, name),
		"main.go": fmt.Sprintf(`// Command %[1]s is a Trovato plugin. Build it with
//
//	trovato plugin build
//
// (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o %[1]s.wasm .)
// and install the folder with: trovato plugin install .
package main

import "github.com/trovato/trovato/plugins/sdk"

func main() {} // required by the toolchain; never called

func init() {
	sdk.ItemView(func(in sdk.ItemViewInput) (sdk.Node, error) {
		return sdk.Paragraph(sdk.Text("%[1]s was here: "), sdk.Text(in.Item.Title)).WithClass("%[1]s"), nil
	})
}
`, name),
		"main_test.go": fmt.Sprintf(`package main

import (
	"strings"
	"testing"

	"github.com/trovato/trovato/plugins/sdk"
)

func TestItemView(t *testing.T) {
	t.Cleanup(sdk.UseFake(&sdk.Fake{}))
	out, err := sdk.Call("item_view", []byte(` + "`" + `{"item":{"id":"i1","type":"article","title":"Hello"},"view_mode":"full"}` + "`" + `))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "Hello") {
		t.Fatalf("item_view = %%s", out)
	}
}
`),
		"go.mod": fmt.Sprintf("module trovato.plugin/%s\n\ngo 1.26\n\nrequire github.com/trovato/trovato/plugins/sdk v0.0.0\n\nreplace github.com/trovato/trovato/plugins/sdk => %s\n", name, replace),
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for f, body := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// InstallBundled installs and enables, with every capability they request
// approved, the reference plugins embedded in the binary (plugins.Dist,
// filled by `make plugins`). When the binary carries none and runs inside
// a Trovato source tree with the Go toolchain at hand, it builds them
// first; otherwise it fails with a message naming `make plugins`. ctx
// must act as a user holding plugins.administer.
func InstallBundled(ctx context.Context, k *Kernel) error {
	type bundled struct {
		file           string
		manifest, wasm []byte
		man            plugin.Manifest
	}
	var all []bundled
	collect := func(fsys fs.FS, root string) error {
		entries, err := fs.ReadDir(fsys, root)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := path.Join(root, e.Name())
			src, err := fs.ReadFile(fsys, dir+"/"+plugin.ManifestFile)
			if err != nil {
				continue
			}
			file := "plugins/dist/" + e.Name() + "/" + plugin.ManifestFile
			man, err := plugin.ParseManifest(file, src)
			if err != nil {
				return err
			}
			wasm, err := fs.ReadFile(fsys, dir+"/"+man.Name+".wasm")
			if err != nil {
				return core.Errorf(core.EInvalid, "bundled plugin %s has no module: run `make plugins`", man.Name)
			}
			all = append(all, bundled{file: file, manifest: src, wasm: wasm, man: man})
		}
		return nil
	}
	if err := collect(plugins.Dist, "dist"); err != nil {
		return err
	}
	if len(all) == 0 {
		dir, err := buildBundled(ctx)
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := collect(os.DirFS(dir), "."); err != nil {
			return err
		}
		if len(all) == 0 {
			return core.Errorf(core.EInternal, "building the reference plugins produced none")
		}
	}
	mans := make([]plugin.Manifest, len(all))
	byName := map[string]bundled{}
	for i, b := range all {
		mans[i] = b.man
		byName[b.man.Name] = b
	}
	order, err := plugin.ResolveOrder(mans)
	if err != nil {
		return err
	}
	for _, man := range order {
		b := byName[man.Name]
		if _, err := k.Plugins.InstallBytes(ctx, b.file, b.manifest, b.wasm); err != nil {
			return fmt.Errorf("install bundled plugin %s: %w", man.Name, err)
		}
		approve := make([]string, len(man.Capabilities))
		for i, c := range man.Capabilities {
			approve[i] = string(c)
		}
		if err := k.Plugins.Enable(ctx, man.Name, approve); err != nil {
			return fmt.Errorf("enable bundled plugin %s: %w", man.Name, err)
		}
	}
	return nil
}

// ReferencePlugins are the plugins build/plugins.sh builds into
// plugins/dist.
var ReferencePlugins = []string{"blog", "related"}

// buildBundled builds the reference plugins from the source tree around
// the working directory into a temporary directory.
func buildBundled(ctx context.Context) (string, error) {
	const hint = "the reference plugins are not built into this binary: run `make plugins` and rebuild trovato"
	goBin := GoToolchain()
	root := sourceRoot()
	if goBin == "" || root == "" {
		return "", core.Errorf(core.EUnavailable, "%s", hint)
	}
	tmp, err := os.MkdirTemp("", "trovato-plugins-")
	if err != nil {
		return "", err
	}
	for _, name := range ReferencePlugins {
		src := filepath.Join(root, "plugins", name)
		dst := filepath.Join(tmp, name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		toml, err := os.ReadFile(filepath.Join(src, plugin.ManifestFile))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, plugin.ManifestFile), toml, 0o644)
		}
		if err == nil {
			_, err = BuildPlugin(ctx, src, filepath.Join(dst, name+".wasm"))
		}
		if err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("%s (building them failed: %w)", hint, err)
		}
	}
	return tmp, nil
}

// sourceRoot finds the Trovato source tree at or above the working
// directory, or "".
func sourceRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/trovato/trovato\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// taps wired into the kernel -------------------------------------------------

type tapChainKey struct{}

// enterTap marks ctx as running tap, so a host call that would run the
// same tap again (item_access while answering item_access, a presave
// while saving from a presave) does not recurse. ok is false when ctx is
// inside tap already.
func enterTap(ctx context.Context, tap string) (context.Context, bool) {
	chain, _ := ctx.Value(tapChainKey{}).([]string)
	if slices.Contains(chain, tap) {
		return ctx, false
	}
	return context.WithValue(ctx, tapChainKey{}, append(chain[:len(chain):len(chain)], tap)), true
}

// withStage makes the request plugins see use stage (keeping the path and
// language of a request already in ctx).
func (m *PluginManager) withStage(ctx context.Context, stage core.ID) (context.Context, string) {
	name := m.stageName(ctx, stage)
	r := plugin.RequestFromContext(ctx)
	r.Stage = name
	return plugin.NewContextWithRequest(ctx, r), name
}

func (m *PluginManager) stageName(ctx context.Context, stage core.ID) string {
	if stage == core.NilID || stage == core.LiveStageID {
		return core.StageLive
	}
	m.stMu.RLock()
	name, ok := m.stages[stage]
	m.stMu.RUnlock()
	if ok {
		return name
	}
	st, err := m.store.Stages().FindStage(systemContext(ctx), stage.String())
	if err != nil {
		return stage.String()
	}
	m.stMu.Lock()
	m.stages[stage] = st.Name
	m.stMu.Unlock()
	return st.Name
}

type backgroundLoadKey struct{}

// LoadInBackground runs prepare (when non-nil: e.g. InstallBundled) and
// Load in a goroutine and returns at once. Until they finish, every tap
// call waits for the load (calls made by prepare itself do not), so no
// page renders and nothing is stored or allowed without the plugins: what
// does not call a tap (the editor's own files, the API's reads) answers at
// once. When the load succeeded, the plugin list
// tag is bumped in tags (when non-nil), so no page cached without the
// plugins stays cached. The channel receives the outcome once.
func (m *PluginManager) LoadInBackground(ctx context.Context, prepare func(context.Context) error, tags core.TagCache) <-chan error {
	done := make(chan struct{})
	m.bg.Store(&done)
	errc := make(chan error, 1)
	go func() {
		bctx := context.WithValue(ctx, backgroundLoadKey{}, true)
		var err error
		if prepare != nil {
			err = prepare(bctx)
		}
		if err == nil {
			err = m.Load(bctx)
		}
		m.bg.Store(nil)
		close(done)
		if err == nil {
			_ = m.cache.InvalidateTags(bctx, "items")
			if tags != nil {
				if berr := tags.BumpTags(bctx, core.ListTag(core.KindPlugin)); berr != nil {
					m.log.Warn("plugin tag not bumped after the background load", "err", berr)
				}
			}
		}
		errc <- err
	}()
	return errc
}

// Loading reports whether a LoadInBackground is running.
func (m *PluginManager) Loading() bool { return m.bg.Load() != nil }

// ready loads the plugins on first use and reports whether tap has an
// enabled implementation (waiting for a LoadInBackground).
func (m *PluginManager) ready(ctx context.Context, tap string) bool {
	if p := m.bg.Load(); p != nil && ctx.Value(backgroundLoadKey{}) == nil {
		select {
		case <-*p:
		case <-ctx.Done():
			return false
		}
	}
	if err := m.Load(ctx); err != nil {
		m.log.Error("plugins not loaded", "err", err)
		return false
	}
	return m.implements(tap)
}

// tapUser is the user document of tap inputs.
func tapUser(u *core.User) plugin.User {
	if u.IsAnonymous() {
		return plugin.User{Roles: []string{core.RoleAnonymous}}
	}
	roles := []string{core.RoleAuthenticated}
	for _, r := range u.Roles {
		if r != core.RoleAuthenticated {
			roles = append(roles, r)
		}
	}
	return plugin.User{ID: u.ID.String(), Name: u.Name, Roles: roles, Authenticated: true}
}

// failed reports whether a result brings nothing: a failure (which the
// host logged) or no contribution.
func failed(r plugin.Result) bool { return r.Err != nil || r.Output == nil }

var _ core.ItemHooks = (*PluginManager)(nil)

// itemPatch is the output of item_presave.
type itemPatch struct {
	Title   *string         `json:"title"`
	Status  *string         `json:"status"`
	Promote *bool           `json:"promote"`
	Sticky  *bool           `json:"sticky"`
	Fields  json.RawMessage `json:"fields"`
}

// PresaveItem implements core.ItemHooks: item_presave patches are applied
// in weight order; a malformed patch is dropped with a logged reason (the
// store validates the result as any save).
func (m *PluginManager) PresaveItem(ctx context.Context, stage core.ID, it *core.Item, isNew bool) error {
	if !m.ready(ctx, "item_presave") {
		return nil
	}
	ctx, ok := enterTap(ctx, "item_presave")
	if !ok {
		return nil
	}
	ctx, stageName := m.withStage(ctx, stage)
	op := "update"
	if isNew {
		op = "insert"
	}
	in, err := json.Marshal(map[string]any{"op": op, "item": it, "stage": stageName})
	if err != nil {
		return fmt.Errorf("item_presave input: %w", err)
	}
	for _, r := range m.host.Invoke(ctx, "item_presave", in) {
		if failed(r) {
			continue
		}
		var p itemPatch
		dec := json.NewDecoder(bytes.NewReader(r.Output))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			m.log.Warn("item_presave output dropped", "plugin", r.Plugin, "reason", err.Error())
			continue
		}
		if err := applyPatch(it, &p); err != nil {
			m.log.Warn("item_presave output dropped", "plugin", r.Plugin, "reason", err.Error())
		}
	}
	return nil
}

func applyPatch(it *core.Item, p *itemPatch) error {
	if p.Title != nil {
		if err := core.ValidateTitle(*p.Title); err != nil {
			return fmt.Errorf("title: %s", core.ErrorMessage(err))
		}
	}
	if p.Status != nil && *p.Status != core.StatusPublished && *p.Status != core.StatusUnpublished {
		return fmt.Errorf("status must be %q or %q", core.StatusPublished, core.StatusUnpublished)
	}
	var fields map[string]json.RawMessage
	if len(p.Fields) > 0 && string(p.Fields) != "null" {
		if err := json.Unmarshal(p.Fields, &fields); err != nil {
			return fmt.Errorf("fields must be an object")
		}
	}
	if p.Title != nil {
		it.Title = *p.Title
	}
	if p.Status != nil {
		it.Status = *p.Status
	}
	if p.Promote != nil {
		it.Promote = *p.Promote
	}
	if p.Sticky != nil {
		it.Sticky = *p.Sticky
	}
	if len(fields) > 0 {
		cur := map[string]json.RawMessage{}
		if len(it.Fields) > 0 {
			_ = json.Unmarshal(it.Fields, &cur)
		}
		for k, v := range fields {
			if string(v) == "null" {
				delete(cur, k)
			} else {
				cur[k] = v
			}
		}
		b, _ := json.Marshal(cur)
		it.Fields = b
	}
	return nil
}

// ItemSaved implements core.ItemHooks (item_insert, item_update) and drops
// cache entries tagged with the item.
func (m *PluginManager) ItemSaved(ctx context.Context, stage core.ID, it *core.Item, isNew bool) {
	_ = m.cache.InvalidateTags(ctx, "item:"+it.ID.String(), "items")
	tap := "item_update"
	if isNew {
		tap = "item_insert"
	}
	if !m.ready(ctx, tap) {
		return
	}
	ctx, ok := enterTap(ctx, tap)
	if !ok {
		return
	}
	ctx, stageName := m.withStage(ctx, stage)
	doc := map[string]any{"item": it, "previous": nil, "stage": stageName}
	if !isNew {
		if prev := m.previousRevision(ctx, it); prev != nil {
			doc["previous"] = prev
		}
	}
	in, err := json.Marshal(doc)
	if err != nil {
		m.log.Error(tap+" input", "err", err)
		return
	}
	m.host.Invoke(ctx, tap, in)
}

func (m *PluginManager) previousRevision(ctx context.Context, it *core.Item) *core.Item {
	sctx := systemContext(ctx)
	rev, err := m.store.Items().FindRevisionByID(sctx, it.RevisionID)
	if err != nil || rev.ParentID == nil {
		return nil
	}
	parent, err := m.store.Items().FindRevisionByID(sctx, *rev.ParentID)
	if err != nil {
		return nil
	}
	prev := *it
	var doc struct {
		Title    string          `json:"title"`
		Status   string          `json:"status"`
		Promote  bool            `json:"promote"`
		Sticky   bool            `json:"sticky"`
		Language string          `json:"language"`
		AuthorID core.ID         `json:"author_id"`
		Fields   json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(parent.Doc, &doc); err != nil {
		return nil
	}
	prev.Title, prev.Status, prev.Promote, prev.Sticky, prev.Fields = doc.Title, doc.Status, doc.Promote, doc.Sticky, doc.Fields
	if doc.Language != "" {
		prev.Language = doc.Language
	}
	if doc.AuthorID != core.NilID {
		prev.AuthorID = doc.AuthorID
	}
	prev.RevisionID, prev.ChangedAt, prev.TypeVersion = parent.ID, parent.CreatedAt, parent.TypeVersion
	return &prev
}

// ItemDeleted implements core.ItemHooks (item_delete).
func (m *PluginManager) ItemDeleted(ctx context.Context, stage core.ID, it *core.Item) {
	_ = m.cache.InvalidateTags(ctx, "item:"+it.ID.String(), "items")
	if !m.ready(ctx, "item_delete") {
		return
	}
	ctx, ok := enterTap(ctx, "item_delete")
	if !ok {
		return
	}
	ctx, stageName := m.withStage(ctx, stage)
	in, err := json.Marshal(map[string]any{"item": it, "previous": nil, "stage": stageName})
	if err != nil {
		return
	}
	m.host.Invoke(ctx, "item_delete", in)
}

var _ core.ItemAccessVoter = (*PluginManager)(nil)

// ItemAccess implements core.ItemAccessVoter over item_access: any deny
// wins, then any grant; failed plugins and plugins without access.vote
// are neutral.
func (m *PluginManager) ItemAccess(ctx context.Context, u *core.User, op string, it *core.Item) (core.Vote, error) {
	if !m.ready(ctx, "item_access") {
		return core.VoteNeutral, nil
	}
	ctx, ok := enterTap(ctx, "item_access")
	if !ok {
		return core.VoteNeutral, nil
	}
	switch op {
	case core.OpView, core.OpUpdate, core.OpDelete:
	default:
		return core.VoteNeutral, nil
	}
	in, err := json.Marshal(map[string]any{"op": op, "item": it, "user": tapUser(u)})
	if err != nil {
		return core.VoteNeutral, fmt.Errorf("item_access input: %w", err)
	}
	vote, _ := m.host.Access(ctx, in)
	switch vote {
	case plugin.VoteDeny:
		return core.VoteDeny, nil
	case plugin.VoteGrant:
		return core.VoteGrant, nil
	}
	return core.VoteNeutral, nil
}

var _ core.GrantsProvider = (*PluginManager)(nil)

// ItemGrants implements core.GrantsProvider over item_grants. The grants
// of every plugin are combined; when none gives any the kernel's default
// realms apply. A failed item_grants call keeps the kernel from opening
// the item to everyone by default (it fails closed).
func (m *PluginManager) ItemGrants(ctx context.Context, it *core.Item, stage core.ID) ([]core.Grant, bool, error) {
	if !m.ready(ctx, "item_grants") {
		return nil, false, nil
	}
	ctx, ok := enterTap(ctx, "item_grants")
	if !ok {
		return nil, false, nil
	}
	ctx, stageName := m.withStage(ctx, stage)
	in, err := json.Marshal(map[string]any{"item": it, "stage": stageName})
	if err != nil {
		return nil, false, err
	}
	var all []core.Grant
	failed := false
	for _, r := range m.host.Invoke(ctx, "item_grants", in) {
		if r.Err != nil {
			failed = true
			continue
		}
		if r.Output == nil {
			continue
		}
		var out struct {
			Grants []core.Grant `json:"grants"`
		}
		dec := json.NewDecoder(bytes.NewReader(r.Output))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			m.log.Warn("item_grants output dropped", "plugin", r.Plugin, "reason", err.Error())
			failed = true
			continue
		}
		for _, g := range out.Grants {
			if g.Realm == "" || g.GID == "" || !core.ValidMachineName(g.Realm) {
				m.log.Warn("item_grants grant dropped", "plugin", r.Plugin, "realm", g.Realm, "gid", g.GID)
				continue
			}
			all = append(all, g)
		}
	}
	if len(all) == 0 && !failed {
		return nil, false, nil
	}
	return all, true, nil
}

// UserGrants implements core.GrantsProvider over user_grants.
func (m *PluginManager) UserGrants(ctx context.Context, u *core.User, op string) (map[string][]string, bool, error) {
	if !m.ready(ctx, "user_grants") {
		return nil, false, nil
	}
	ctx, ok := enterTap(ctx, "user_grants")
	if !ok {
		return nil, false, nil
	}
	in, err := json.Marshal(map[string]any{"user": tapUser(u), "op": op})
	if err != nil {
		return nil, false, err
	}
	all := map[string][]string{}
	answered := false
	for _, r := range m.host.Invoke(ctx, "user_grants", in) {
		if failed(r) {
			continue
		}
		var out struct {
			Grants map[string][]string `json:"grants"`
		}
		dec := json.NewDecoder(bytes.NewReader(r.Output))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&out); err != nil {
			m.log.Warn("user_grants output dropped", "plugin", r.Plugin, "reason", err.Error())
			continue
		}
		answered = true
		for realm, gids := range out.Grants {
			all[realm] = append(all[realm], gids...)
		}
	}
	return all, answered, nil
}

// taps the site consumes --------------------------------------------------

// ItemView runs item_view and returns each plugin's tree (invalid output
// is dropped with a logged reason), for the kernel to place among the
// item's fields by weight.
func (m *PluginManager) ItemView(ctx context.Context, it *core.Item, viewMode, language string) []core.Node {
	if !m.ready(ctx, "item_view") {
		return nil
	}
	in, err := json.Marshal(map[string]any{"item": it, "view_mode": viewMode, "language": language})
	if err != nil {
		return nil
	}
	var out []core.Node
	for _, r := range m.host.Invoke(ctx, "item_view", in) {
		if n, ok := m.decodeTree(r, "item_view"); ok {
			out = append(out, n)
		}
	}
	return out
}

func (m *PluginManager) decodeTree(r plugin.Result, tap string) (core.Node, bool) {
	if r.Err != nil || r.Output == nil {
		return core.Node{}, false
	}
	if n, ok := r.Decoded.(core.Node); ok {
		return n, true // decoded and checked by the host's TreeValidator
	}
	n, err := core.DecodeTree(r.Output, core.TreeOptions{})
	if err != nil {
		m.log.Warn(tap+" output dropped", "plugin", r.Plugin, "reason", err.Error())
		return core.Node{}, false
	}
	return n, true
}

// ItemViewAlter runs item_view_alter in weight order, each plugin
// receiving the previous one's tree; a failed or invalid output leaves the
// tree as it was.
func (m *PluginManager) ItemViewAlter(ctx context.Context, it *core.Item, viewMode string, tree core.Node) core.Node {
	return m.alterChain(ctx, "item_view_alter", tree, func(t core.Node) any {
		return map[string]any{"item": it, "view_mode": viewMode, "tree": t}
	})
}

// Preprocess runs preprocess on a tree before template renders it.
func (m *PluginManager) Preprocess(ctx context.Context, template string, tree core.Node) core.Node {
	return m.alterChain(ctx, "preprocess", tree, func(t core.Node) any {
		return map[string]any{"template": template, "tree": t}
	})
}

func (m *PluginManager) alterChain(ctx context.Context, tap string, tree core.Node, input func(core.Node) any) core.Node {
	if !m.ready(ctx, tap) {
		return tree
	}
	for _, name := range m.implementers(tap) {
		in, err := json.Marshal(input(tree))
		if err != nil {
			return tree
		}
		if n, ok := m.decodeTree(m.host.InvokePlugin(ctx, name, tap, in), tap); ok {
			tree = n
		}
	}
	return tree
}

// implementers lists the enabled plugins implementing tap in dispatch
// order (weight, then name).
func (m *PluginManager) implementers(tap string) []string {
	type impl struct {
		name   string
		weight int
	}
	var all []impl
	m.stMu.RLock()
	for name, man := range m.enabled {
		for _, t := range man.Taps {
			if t.Name == tap {
				all = append(all, impl{name, t.Weight})
			}
		}
	}
	m.stMu.RUnlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].weight != all[j].weight {
			return all[i].weight < all[j].weight
		}
		return all[i].name < all[j].name
	})
	out := make([]string, len(all))
	for i, x := range all {
		out[i] = x.name
	}
	return out
}

// PluginRoute is a path pattern a plugin serves.
type PluginRoute struct {
	Plugin     string `json:"plugin"`
	Path       string `json:"path"`
	Title      string `json:"title"`
	Permission string `json:"permission"`
}

// Routes returns every enabled plugin's path patterns (the route tap),
// cached until a plugin is enabled, disabled or reloaded.
func (m *PluginManager) Routes(ctx context.Context) []PluginRoute {
	if !m.ready(ctx, "route") {
		return nil
	}
	m.stMu.RLock()
	c := m.routes
	m.stMu.RUnlock()
	if c != nil {
		return c.routes
	}
	var out []PluginRoute
	failures := false
	for _, r := range m.host.Invoke(ctx, "route", []byte(`{}`)) {
		var doc struct {
			Routes []PluginRoute `json:"routes"`
		}
		if !m.decodeOutput(r, "route", &doc) {
			failures = failures || r.Err != nil
			continue
		}
		for _, rt := range doc.Routes {
			if !strings.HasPrefix(rt.Path, "/") || rt.Permission == "" {
				m.log.Warn("route dropped", "plugin", r.Plugin, "path", rt.Path, "reason", "a route needs an absolute path and a permission")
				continue
			}
			rt.Plugin = r.Plugin
			out = append(out, rt)
		}
	}
	if !failures {
		m.stMu.Lock()
		m.routes = &routeCache{out}
		m.stMu.Unlock()
	}
	return out
}

// MatchRoute finds the plugin route serving path: segments match
// literally, "{name}" matches one non-empty segment. A literal segment
// beats a parameter at the same position; ties go to the first plugin in
// dispatch order.
func (m *PluginManager) MatchRoute(ctx context.Context, path string) (PluginRoute, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var (
		best       PluginRoute
		bestParams map[string]string
		bestScore  = -1
	)
	for _, rt := range m.Routes(ctx) {
		pat := strings.Split(strings.Trim(rt.Path, "/"), "/")
		if len(pat) != len(segs) {
			continue
		}
		params := map[string]string{}
		score := 0
		ok := true
		for i, p := range pat {
			switch {
			case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && len(p) > 2:
				if segs[i] == "" {
					ok = false
				}
				params[p[1:len(p)-1]] = segs[i]
			case p == segs[i]:
				score++
			default:
				ok = false
			}
		}
		if ok && score > bestScore {
			best, bestParams, bestScore = rt, params, score
		}
	}
	return best, bestParams, bestScore >= 0
}

func (m *PluginManager) decodeOutput(r plugin.Result, tap string, v any) bool {
	if r.Err != nil || r.Output == nil {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(r.Output))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		m.log.Warn(tap+" output dropped", "plugin", r.Plugin, "reason", err.Error())
		return false
	}
	return true
}

// PluginPage is the output of page_view and tile_view.
type PluginPage struct {
	Title   string
	Content core.Node
}

// PageViewInput is what page_view receives besides the user.
type PageViewInput struct {
	Path     string              `json:"path"`
	Route    string              `json:"route"`
	Params   map[string]string   `json:"params"`
	Query    map[string][]string `json:"query"`
	Stage    string              `json:"stage"`
	Language string              `json:"language"`
}

// PageView runs one plugin's page_view for a path its route matched.
// ENOTFOUND when the plugin is not enabled; the plugin's failure is its
// error (the server shows an error page).
func (m *PluginManager) PageView(ctx context.Context, pluginName string, in PageViewInput) (*PluginPage, error) {
	doc := map[string]any{"path": in.Path, "route": in.Route, "params": nonNil(in.Params), "query": nonNilQ(in.Query),
		"user": tapUser(core.UserFromContext(ctx)), "stage": in.Stage, "language": in.Language}
	return m.pageTap(ctx, pluginName, "page_view", doc)
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilQ(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

func (m *PluginManager) pageTap(ctx context.Context, name, tap string, doc any) (*PluginPage, error) {
	if !m.ready(ctx, tap) || !slices.Contains(m.implementers(tap), name) {
		return nil, core.Errorf(core.ENotFound, "plugin %s does not serve %s", name, tap)
	}
	in, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	r := m.host.InvokePlugin(ctx, name, tap, in)
	if r.Err != nil {
		return nil, r.Err
	}
	if r.Output == nil {
		return nil, core.Errorf(core.ENotFound, "plugin %s returned no page", name)
	}
	if p, ok := r.Decoded.(plugin.PageOutput); ok {
		return &PluginPage{Title: p.Title, Content: p.Content}, nil
	}
	var out struct {
		Title   string          `json:"title"`
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(r.Output, &out); err != nil {
		return nil, core.Errorf(core.EInternal, "plugin %s: %s output: %v", name, tap, err)
	}
	n, err := core.DecodeTree(out.Content, core.TreeOptions{})
	if err != nil {
		m.log.Warn(tap+" output dropped", "plugin", name, "reason", err.Error())
		return nil, core.Errorf(core.EInternal, "plugin %s returned an invalid page", name)
	}
	return &PluginPage{Title: out.Title, Content: n}, nil
}

// PluginMenuLink is a link a plugin contributes to a menu.
type PluginMenuLink struct {
	Plugin string `json:"plugin"`
	Title  string `json:"title"`
	Path   string `json:"path"`
	Weight int    `json:"weight"`
	Parent string `json:"parent"`
}

// Menu runs menu for one menu.
func (m *PluginManager) Menu(ctx context.Context, menu, language string) []PluginMenuLink {
	if !m.ready(ctx, "menu") {
		return nil
	}
	in, _ := json.Marshal(map[string]string{"menu": menu, "language": language})
	var out []PluginMenuLink
	for _, r := range m.host.Invoke(ctx, "menu", in) {
		var doc struct {
			Links []PluginMenuLink `json:"links"`
		}
		if !m.decodeOutput(r, "menu", &doc) {
			continue
		}
		for _, l := range doc.Links {
			if l.Title == "" || core.CheckURL(l.Path, false) != nil {
				m.log.Warn("menu link dropped", "plugin", r.Plugin, "path", l.Path)
				continue
			}
			l.Plugin = r.Plugin
			out = append(out, l)
		}
	}
	return out
}

// PluginTile is a tile a plugin provides.
type PluginTile struct {
	Plugin string `json:"plugin"`
	Name   string `json:"name"`
	Label  string `json:"label"`
	Island bool   `json:"island"`
}

// Tiles runs tile_info.
func (m *PluginManager) Tiles(ctx context.Context) []PluginTile {
	if !m.ready(ctx, "tile_info") {
		return nil
	}
	var out []PluginTile
	for _, r := range m.host.Invoke(ctx, "tile_info", []byte(`{}`)) {
		var doc struct {
			Tiles []PluginTile `json:"tiles"`
		}
		if !m.decodeOutput(r, "tile_info", &doc) {
			continue
		}
		for _, t := range doc.Tiles {
			t.Plugin = r.Plugin
			out = append(out, t)
		}
	}
	return out
}

// TileViewInput is what tile_view receives besides the user.
type TileViewInput struct {
	Tile     string          `json:"tile"`
	Region   string          `json:"region"`
	Path     string          `json:"path"`
	Config   json.RawMessage `json:"config"`
	Language string          `json:"language"`
}

// TileView runs one plugin's tile_view.
func (m *PluginManager) TileView(ctx context.Context, pluginName string, in TileViewInput) (*PluginPage, error) {
	cfg := in.Config
	if len(cfg) == 0 {
		cfg = json.RawMessage(`{}`)
	}
	doc := map[string]any{"tile": in.Tile, "region": in.Region, "path": in.Path, "config": cfg,
		"user": tapUser(core.UserFromContext(ctx)), "language": in.Language}
	return m.pageTap(ctx, pluginName, "tile_view", doc)
}

// Cron runs cron on every implementing plugin.
func (m *PluginManager) Cron(ctx context.Context, now time.Time, lastRun *time.Time) []plugin.Result {
	if !m.ready(ctx, "cron") {
		return nil
	}
	in, _ := json.Marshal(map[string]any{"now": now.UTC(), "last_run": lastRun})
	return m.host.Invoke(ctx, "cron", in)
}

// FormAlter runs form_alter in weight order, each plugin receiving the
// previous one's form; the only tap whose tree may hold form elements.
// Plugins may add, change and remove elements, but the kernel's hidden
// elements (the CSRF token, a destination) are the kernel's: plugins do not
// see them, a hidden element a plugin adds under one of their names is
// dropped, and the altered form carries them first, as the kernel made
// them. The form's action and method stay the kernel's, and the kernel's
// other fields keep their kind and their name to themselves. A failed or
// invalid output (not a form, not a valid tree, a kernel field changed in
// kind or named twice) leaves the form as the previous plugin left it,
// with a logged reason.
func (m *PluginManager) FormAlter(ctx context.Context, formID string, form core.Node, it *core.Item) core.Node {
	if form.Type != core.ElemForm || !m.ready(ctx, "form_alter") {
		return form
	}
	var kept []core.Node
	reserved := map[string]bool{}
	collectHidden(form.Children, &kept, reserved)
	controls := map[string]core.Node{} // the kernel's named controls
	collectControls(form.Children, controls, reserved)
	work := form
	work.Children = withoutHidden(form.Children, reserved)
	user := tapUser(core.UserFromContext(ctx))
	for _, name := range m.implementers("form_alter") {
		in, err := json.Marshal(map[string]any{"form_id": formID, "form": work, "item": it, "user": user})
		if err != nil {
			return form
		}
		r := m.host.InvokePlugin(ctx, name, "form_alter", in)
		if r.Err != nil || r.Output == nil {
			continue
		}
		n, ok := r.Decoded.(core.Node)
		if !ok {
			n, err = core.DecodeTree(r.Output, core.TreeOptions{AllowForms: true})
		}
		if err == nil && n.Type != core.ElemForm {
			err = fmt.Errorf("the altered tree is a %s, not a form", n.Type)
		}
		if err == nil {
			err = checkControls(n.Children, controls)
		}
		if err != nil {
			m.log.Warn("form_alter output dropped", "plugin", name, "form", formID, "reason", err.Error())
			continue
		}
		n.Action, n.Method = form.Action, form.Method
		n.Children = withoutHidden(n.Children, reserved)
		work = n
	}
	work.Children = append(kept, work.Children...)
	return work
}

// collectControls records the kernel form's named controls other than
// the hidden ones.
func collectControls(nodes []core.Node, out map[string]core.Node, hidden map[string]bool) {
	for _, n := range nodes {
		if n.Name != "" && !hidden[n.Name] && n.Type != core.ElemHidden {
			out[n.Name] = n
		}
		collectControls(n.Children, out, hidden)
	}
}

// checkControls refuses a form_alter output that gives a kernel control's
// name to a second element or to an element of another kind (say, a
// hidden "name" before the visible one): the kernel reads the first value
// of a name. A plugin may relabel or remove a kernel control.
func checkControls(nodes []core.Node, controls map[string]core.Node) error {
	seen := map[string]bool{}
	var walk func([]core.Node) error
	walk = func(nodes []core.Node) error {
		for _, n := range nodes {
			if orig, ok := controls[n.Name]; ok && n.Name != "" {
				if seen[n.Name] {
					return fmt.Errorf("a second element is named %q, a field of the kernel's form", n.Name)
				}
				seen[n.Name] = true
				if n.Type != orig.Type || n.InputType != orig.InputType {
					return fmt.Errorf("the kernel's field %q changed from %s to %s", n.Name, describeControl(orig), describeControl(n))
				}
			}
			if err := walk(n.Children); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(nodes)
}

func describeControl(n core.Node) string {
	if n.InputType != "" {
		return n.Type + " (" + n.InputType + ")"
	}
	return n.Type
}

// collectHidden appends every hidden element of a tree to kept and its
// name to names.
func collectHidden(nodes []core.Node, kept *[]core.Node, names map[string]bool) {
	for _, n := range nodes {
		if n.Type == core.ElemHidden {
			*kept = append(*kept, n)
			names[n.Name] = true
			continue
		}
		collectHidden(n.Children, kept, names)
	}
}

// withoutHidden returns a copy of nodes without hidden elements named in
// names, at any depth.
func withoutHidden(nodes []core.Node, names map[string]bool) []core.Node {
	out := make([]core.Node, 0, len(nodes))
	for _, n := range nodes {
		if n.Type == core.ElemHidden && names[n.Name] {
			continue
		}
		if len(n.Children) > 0 {
			n.Children = withoutHidden(n.Children, names)
		}
		out = append(out, n)
	}
	return out
}

// FormValidate runs form_validate and returns every plugin's errors
// (paths as the plugins give them).
func (m *PluginManager) FormValidate(ctx context.Context, formID string, values map[string]string) []core.FieldError {
	if !m.ready(ctx, "form_validate") {
		return nil
	}
	in, err := json.Marshal(map[string]any{"form_id": formID, "values": values, "user": tapUser(core.UserFromContext(ctx))})
	if err != nil {
		return nil
	}
	var out []core.FieldError
	for _, r := range m.host.Invoke(ctx, "form_validate", in) {
		var doc struct {
			Errors []struct {
				Path    string `json:"path"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		if !m.decodeOutput(r, "form_validate", &doc) {
			continue
		}
		for _, e := range doc.Errors {
			if e.Message != "" {
				out = append(out, core.FieldError{Path: e.Path, Message: e.Message})
			}
		}
	}
	return out
}

var _ core.GatherExtender = (*PluginManager)(nil)

// gatherExtendOps are the operators a gather_extend filter may use.
var gatherExtendOps = []string{core.OpEq, core.OpNe, core.OpLt, core.OpLe, core.OpGt, core.OpGe, core.OpIn, core.OpContains}

// gatherFieldNames maps the item document's property names to the
// gather's, so a plugin may use either.
var gatherFieldNames = map[string]string{"created_at": "created", "changed_at": "changed", "author_id": "author"}

// ExtendGather implements core.GatherExtender over gather_extend: each
// plugin sees the gather as an item query and the run's arguments (path
// arguments as arg0.., exposed values by name) and may add filters and
// sort keys. A plugin's contribution is checked on its own, against
// today's item types, before it is kept: only the listed operators, only
// properties and fields of the gather's types, values of the field's type
// (tokens such as {arg0} allowed). A contribution that fails is dropped
// whole with a logged reason; the gather runs without it. Values reach
// the compiled SQL as parameters only.
func (m *PluginManager) ExtendGather(ctx context.Context, g *core.Gather, args core.GatherArgs) ([]core.GatherFilter, []core.GatherSort, error) {
	if !m.ready(ctx, "gather_extend") {
		return nil, nil, nil
	}
	in, err := json.Marshal(map[string]any{"gather": g.Name, "query": gatherQuery(g), "args": gatherTapArgs(args),
		"user": tapUser(core.UserFromContext(ctx))})
	if err != nil {
		return nil, nil, err
	}
	var filters []core.GatherFilter
	var sorts []core.GatherSort
	checker := m.store.Gathers()
	for _, r := range m.host.Invoke(ctx, "gather_extend", in) {
		var doc struct {
			Filters []plugin.QueryFilter `json:"filters"`
			Sort    []plugin.QuerySort   `json:"sort"`
		}
		if !m.decodeOutput(r, "gather_extend", &doc) {
			continue
		}
		fs, ss, err := gatherContribution(doc.Filters, doc.Sort)
		if err == nil {
			cand := *g
			cand.Filters = append(append(slices.Clone(g.Filters), filters...), fs...)
			cand.Sorts = append(append(slices.Clone(g.Sorts), sorts...), ss...)
			err = checker.CheckGather(ctx, &cand)
		}
		if err != nil {
			if core.ErrorCode(err) != core.EInvalid {
				return nil, nil, err
			}
			m.log.Warn("gather_extend output dropped", "plugin", r.Plugin, "gather", g.Name, "reason", describeInvalid(err))
			continue
		}
		filters = append(filters, fs...)
		sorts = append(sorts, ss...)
	}
	return filters, sorts, nil
}

// gatherContribution turns one plugin's gather_extend output into gather
// filters and sorts, refusing operators outside gatherExtendOps.
func gatherContribution(qf []plugin.QueryFilter, qs []plugin.QuerySort) ([]core.GatherFilter, []core.GatherSort, error) {
	if len(qf) > 16 || len(qs) > 4 {
		return nil, nil, core.Errorf(core.EInvalid, "at most 16 filters and 4 sort keys")
	}
	fs := make([]core.GatherFilter, 0, len(qf))
	for i, f := range qf {
		if !slices.Contains(gatherExtendOps, f.Op) {
			return nil, nil, core.InvalidFields("bad filter", []core.FieldError{{Path: fmt.Sprintf("filters[%d].op", i),
				Message: fmt.Sprintf("unknown operator %q (use one of: %s)", f.Op, strings.Join(gatherExtendOps, ", "))}})
		}
		if f.Field == "" || f.Field == "search" || len(f.Value) == 0 {
			return nil, nil, core.InvalidFields("bad filter", []core.FieldError{{Path: fmt.Sprintf("filters[%d]", i),
				Message: "a filter needs a field (not search) and a value"}})
		}
		fs = append(fs, core.GatherFilter{Field: gatherField(f.Field), Op: f.Op, Value: f.Value})
	}
	ss := make([]core.GatherSort, 0, len(qs))
	for i, s := range qs {
		if s.Field == "" || s.Field == "rank" {
			return nil, nil, core.InvalidFields("bad sort", []core.FieldError{{Path: fmt.Sprintf("sort[%d].field", i), Message: "a sort key needs a field (not rank)"}})
		}
		dir := "asc"
		if s.Desc {
			dir = "desc"
		}
		ss = append(ss, core.GatherSort{Field: gatherField(s.Field), Direction: dir})
	}
	return fs, ss, nil
}

func gatherField(f string) string {
	if g, ok := gatherFieldNames[f]; ok {
		return g
	}
	return f
}

// gatherQuery is the gather as gather_extend's input shows it: an item
// query (type when the gather lists one type, types, filters without
// exposed ones, sort).
func gatherQuery(g *core.Gather) map[string]any {
	q := map[string]any{"types": nonNilS(g.Types)}
	if len(g.Types) == 1 {
		q["type"] = g.Types[0]
	}
	filters := []plugin.QueryFilter{}
	for _, f := range g.Filters {
		if f.Exposed == nil && f.Relationship == "" && len(f.Value) > 0 {
			filters = append(filters, plugin.QueryFilter{Field: f.Field, Op: f.Op, Value: f.Value})
		}
	}
	q["filters"] = filters
	sorts := []plugin.QuerySort{}
	for _, s := range g.Sorts {
		if s.Relationship == "" {
			sorts = append(sorts, plugin.QuerySort{Field: s.Field, Desc: s.Direction == "desc"})
		}
	}
	q["sort"] = sorts
	return q
}

// gatherTapArgs are the run's arguments as gather_extend sees them.
func gatherTapArgs(a core.GatherArgs) map[string]string {
	out := map[string]string{}
	for name, v := range a.Exposed {
		out[name] = v
	}
	for i, v := range a.PathArgs {
		out[fmt.Sprintf("arg%d", i)] = v
	}
	return out
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// describeInvalid is an EInvalid error with its field paths, for a log line.
func describeInvalid(err error) string {
	var ce *core.Error
	if !errors.As(err, &ce) || len(ce.Fields) == 0 {
		return err.Error()
	}
	parts := make([]string, 0, len(ce.Fields))
	for _, f := range ce.Fields {
		parts = append(parts, f.Path+": "+f.Message)
	}
	return strings.Join(parts, "; ")
}

// services behind the host modules ----------------------------------------

// resolveStage maps a request's stage (a name, an id, "live" or empty) to
// a stage id, checking the user may view it.
func (m *PluginManager) resolveStage(ctx context.Context, stage string) (core.ID, error) {
	if stage == "" || stage == core.StageLive {
		return core.LiveStageID, nil
	}
	st, err := m.store.Stages().FindStage(ctx, stage)
	if err != nil {
		return core.NilID, err
	}
	return st.ID, nil
}

// pluginItems is the item host module: every call acts as the request's
// user in the request's stage, through the store and its authorizer.
type pluginItems struct{ m *PluginManager }

var (
	_ plugin.ItemReader = (*pluginItems)(nil)
	_ plugin.ItemWriter = (*pluginItems)(nil)
)

func (p *pluginItems) find(ctx context.Context, stage, id string) (*core.Item, error) {
	iid, err := core.ParseID(id)
	if err != nil {
		return nil, core.Errorf(core.EInvalid, "item id %q is not a UUID", id)
	}
	sid, err := p.m.resolveStage(ctx, stage)
	if err != nil {
		return nil, err
	}
	return p.m.store.Items().FindItemByID(ctx, sid, iid)
}

func (p *pluginItems) LoadItem(ctx context.Context, stage, id string) ([]byte, error) {
	it, err := p.find(ctx, stage, id)
	if err != nil {
		return nil, err
	}
	return json.Marshal(it)
}

func (p *pluginItems) LoadItemField(ctx context.Context, stage, id, field string) ([]byte, error) {
	it, err := p.find(ctx, stage, id)
	if err != nil {
		return nil, err
	}
	v, ok := itemValue(it, field)
	if !ok {
		return nil, core.Errorf(core.ENotFound, "item %s has no field %q", id, field)
	}
	return v, nil
}

// itemValue returns a property (title, status, author_id, ...) or a field.
func itemValue(it *core.Item, name string) (json.RawMessage, bool) {
	if name != "fields" {
		b, _ := json.Marshal(it)
		var props map[string]json.RawMessage
		_ = json.Unmarshal(b, &props)
		if v, ok := props[name]; ok {
			return v, true
		}
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(it.Fields, &fields)
	v, ok := fields[name]
	return v, ok
}

// maxQueryScan bounds how many items a query with filters on fields
// reads before filtering them (the store filters properties in SQL; field
// filters run here).
const maxQueryScan = 5000

func (p *pluginItems) QueryItems(ctx context.Context, stage string, q plugin.ItemQuery) ([]byte, error) {
	sid, err := p.m.resolveStage(ctx, stage)
	if err != nil {
		return nil, err
	}
	f := core.ItemFilter{StageID: sid, Type: q.Type}
	var rest []plugin.QueryFilter
	for _, flt := range q.Filters {
		var s string
		if flt.Op == "eq" && json.Unmarshal(flt.Value, &s) == nil {
			switch flt.Field {
			case "status":
				if f.Status == "" {
					f.Status = s
					continue
				}
			case "language":
				if f.Language == "" {
					f.Language = s
					continue
				}
			case "author_id":
				if id, err := core.ParseID(s); err == nil && f.AuthorID == nil {
					f.AuthorID = &id
					continue
				}
			case "type":
				if f.Type == "" || f.Type == s {
					f.Type = s
					continue
				}
			}
		}
		rest = append(rest, flt)
	}
	defaultSort := len(q.Sort) == 0
	var items []*core.Item
	total := 0
	if len(rest) == 0 && defaultSort {
		f.Limit, f.Offset = q.Limit, q.Offset
		items, total, err = p.m.store.Items().FindItems(ctx, f)
		if err != nil {
			return nil, err
		}
	} else {
		var matched []*core.Item
		f.Limit = 500
		for f.Offset = 0; f.Offset < maxQueryScan; f.Offset += f.Limit {
			page, _, err := p.m.store.Items().FindItems(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, it := range page {
				if matches(it, rest) {
					matched = append(matched, it)
				}
			}
			if len(page) < f.Limit {
				break
			}
		}
		if !defaultSort {
			sortItems(matched, q.Sort)
		}
		total = len(matched)
		lo := min(q.Offset, len(matched))
		hi := min(lo+q.Limit, len(matched))
		items = matched[lo:hi]
	}
	if items == nil {
		items = []*core.Item{}
	}
	return json.Marshal(map[string]any{"items": items, "total": total})
}

func decodeAny(b json.RawMessage) any {
	var v any
	if len(b) == 0 || json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}

// sameValue compares JSON values; a reference ({"id": x}) equals x.
func sameValue(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	if m, ok := a.(map[string]any); ok {
		if id, ok := m["id"]; ok {
			return reflect.DeepEqual(id, b)
		}
	}
	return false
}

func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case float64:
		if y, ok := b.(float64); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	case string:
		if y, ok := b.(string); ok {
			if tx, err := time.Parse(time.RFC3339Nano, x); err == nil {
				if ty, err := time.Parse(time.RFC3339Nano, y); err == nil {
					return tx.Compare(ty), true
				}
			}
			return strings.Compare(x, y), true
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0, true
			case !x:
				return -1, true
			}
			return 1, true
		}
	}
	return 0, false
}

func matches(it *core.Item, filters []plugin.QueryFilter) bool {
	for _, f := range filters {
		raw, ok := itemValue(it, f.Field)
		v := decodeAny(raw)
		want := decodeAny(f.Value)
		switch f.Op {
		case "eq":
			if !ok || !sameValue(v, want) {
				return false
			}
		case "ne":
			if ok && sameValue(v, want) {
				return false
			}
		case "lt", "le", "gt", "ge":
			c, cmpOK := compare(v, want)
			if !ok || !cmpOK {
				return false
			}
			if (f.Op == "lt" && c >= 0) || (f.Op == "le" && c > 0) || (f.Op == "gt" && c <= 0) || (f.Op == "ge" && c < 0) {
				return false
			}
		case "in":
			list, _ := want.([]any)
			found := false
			for _, w := range list {
				if sameValue(v, w) {
					found = true
				}
			}
			if !ok || !found {
				return false
			}
		case "contains":
			found := false
			switch x := v.(type) {
			case []any:
				for _, e := range x {
					if sameValue(e, want) {
						found = true
					}
				}
			case string:
				s, isStr := want.(string)
				found = isStr && strings.Contains(x, s)
			default:
				found = sameValue(v, want)
			}
			if !ok || !found {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func sortItems(items []*core.Item, keys []plugin.QuerySort) {
	sort.SliceStable(items, func(i, j int) bool {
		for _, k := range keys {
			a, _ := itemValue(items[i], k.Field)
			b, _ := itemValue(items[j], k.Field)
			c, ok := compare(decodeAny(a), decodeAny(b))
			if !ok || c == 0 {
				continue
			}
			if k.Desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
}

// savedItem is an item document from item_save: absent keys stay as they
// are on an update.
type savedItem struct {
	ID         *core.ID        `json:"id"`
	Type       string          `json:"type"`
	Title      *string         `json:"title"`
	Status     *string         `json:"status"`
	Promote    *bool           `json:"promote"`
	Sticky     *bool           `json:"sticky"`
	Language   *string         `json:"language"`
	Fields     json.RawMessage `json:"fields"`
	RevisionID *core.ID        `json:"revision_id"`
}

func (p *pluginItems) SaveItem(ctx context.Context, stage string, doc []byte) ([]byte, error) {
	var d savedItem
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, core.Errorf(core.EInvalid, "item document: %v", err)
	}
	sid, err := p.m.resolveStage(ctx, stage)
	if err != nil {
		return nil, err
	}
	items := p.m.store.Items()
	if d.ID != nil && *d.ID != core.NilID {
		if _, err := items.FindItemByID(ctx, sid, *d.ID); err == nil {
			upd := core.ItemUpdate{Title: d.Title, Status: d.Status, Promote: d.Promote, Sticky: d.Sticky, Language: d.Language,
				Fields: d.Fields, IfRevision: d.RevisionID, Log: "saved by a plugin"}
			it, err := items.UpdateItem(ctx, sid, *d.ID, upd)
			if err != nil {
				return nil, err
			}
			return json.Marshal(it)
		} else if core.ErrorCode(err) != core.ENotFound {
			return nil, err
		}
	}
	it := &core.Item{Type: d.Type, Fields: d.Fields}
	if d.ID != nil {
		it.ID = *d.ID
	}
	if d.Title != nil {
		it.Title = *d.Title
	}
	if d.Status != nil {
		it.Status = *d.Status
	}
	if d.Promote != nil {
		it.Promote = *d.Promote
	}
	if d.Sticky != nil {
		it.Sticky = *d.Sticky
	}
	if d.Language != nil {
		it.Language = *d.Language
	}
	if err := items.CreateItem(ctx, sid, it, "created by a plugin"); err != nil {
		return nil, err
	}
	return json.Marshal(it)
}

// pluginData is the data host module over the plugin's own schema.
type pluginData struct{ m *PluginManager }

var _ plugin.DataStore = (*pluginData)(nil)

func (p *pluginData) ExecData(ctx context.Context, name string, op plugin.DataOp) ([]byte, error) {
	man, ok := p.m.host.Manifest(name)
	if !ok {
		return nil, core.Errorf(core.EUnavailable, "plugin %s is not loaded", name)
	}
	t, ok := man.Table(op.Table)
	if !ok {
		return nil, core.Errorf(core.EForbidden, "table %q is not declared by plugin %s", op.Table, name)
	}
	pop := postgres.DataOp{Op: op.Op, Table: op.Table, Where: op.Where, Values: op.Values, Limit: op.Limit}
	for _, o := range op.OrderBy {
		pop.OrderBy = append(pop.OrderBy, postgres.DataOrder{Column: o.Field, Desc: o.Desc})
	}
	return p.m.store.Plugins().ExecData(ctx, name, pgTable(t), pop)
}

// pluginStaged is the staged host module: a plugin's stageable kinds in
// the request's stage, through the store's staged service (stage access,
// copy-on-write, tombstones, revisions, the kind's permission for writes:
// administer content), as the request's user.
type pluginStaged struct{ m *PluginManager }

var _ plugin.StagedStore = (*pluginStaged)(nil)

func (p *pluginStaged) ExecStaged(ctx context.Context, stage string, op plugin.StagedOp) ([]byte, error) {
	st, err := p.m.resolveStage(ctx, stage)
	if err != nil {
		return nil, err
	}
	staged := p.m.store.Staged()
	parseID := func(s string) (core.ID, error) {
		if s == "" {
			return core.NilID, nil
		}
		id, err := core.ParseID(s)
		if err != nil {
			return core.NilID, core.Errorf(core.EInvalid, "%q is not an id", s)
		}
		return id, nil
	}
	id, err := parseID(op.ID)
	if err != nil {
		return nil, err
	}
	type docOut struct {
		ID         core.ID         `json:"id"`
		RevisionID core.ID         `json:"revision_id"`
		Doc        json.RawMessage `json:"doc"`
	}
	switch op.Op {
	case "load":
		d, err := staged.FindStaged(ctx, op.Kind, st, id)
		if err != nil {
			return nil, err
		}
		return json.Marshal(docOut{d.ID, d.RevisionID, d.Doc})
	case "list":
		all, err := staged.FindStagedDocs(ctx, op.Kind, st)
		if err != nil {
			return nil, err
		}
		limit := op.Limit
		if limit == 0 {
			limit = 50
		}
		page := all[min(op.Offset, len(all)):min(op.Offset+limit, len(all))]
		docs := make([]docOut, len(page))
		for i, d := range page {
			docs[i] = docOut{d.ID, d.RevisionID, d.Doc}
		}
		return json.Marshal(map[string]any{"docs": docs, "total": len(all)})
	case "save":
		var base *core.ID
		if op.RevisionID != "" {
			b, err := parseID(op.RevisionID)
			if err != nil {
				return nil, err
			}
			base = &b
		}
		d, err := staged.PutStaged(ctx, op.Kind, st, id, op.Doc, base, op.Log)
		if err != nil {
			return nil, err
		}
		return json.Marshal(docOut{d.ID, d.RevisionID, d.Doc})
	case "delete":
		if err := staged.DeleteStaged(ctx, op.Kind, st, id); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]core.ID{"id": id})
	}
	return nil, core.Errorf(core.EInvalid, "unknown staged operation %q", op.Op)
}

// pluginUsers is the user host module.
type pluginUsers struct{ m *PluginManager }

var _ plugin.UserSource = (*pluginUsers)(nil)

func (p *pluginUsers) CurrentUser(ctx context.Context) (plugin.User, error) {
	return tapUser(core.UserFromContext(ctx)), nil
}

func (p *pluginUsers) HasPermission(ctx context.Context, perm string) (bool, error) {
	return p.m.store.Authorizer().HasPermission(ctx, core.UserFromContext(ctx), perm)
}

// tagCache is the in-process tagged cache behind the cache host module.
// It is per node: entries carry no shared state, and Watch drops entries
// tagged with items changed on other nodes.
type tagCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]*tagEntry
	byTag   map[string]map[string]struct{}
}

type tagEntry struct {
	value   []byte
	tags    []string
	expires time.Time
}

var _ plugin.CacheStore = (*tagCache)(nil)

func newTagCache(max int) *tagCache {
	return &tagCache{max: max, entries: map[string]*tagEntry{}, byTag: map[string]map[string]struct{}{}}
}

func (c *tagCache) GetCache(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		return nil, false, nil
	}
	if !e.expires.IsZero() && time.Now().After(e.expires) {
		c.dropLocked(key)
		return nil, false, nil
	}
	return e.value, true, nil
}

func (c *tagCache) SetCache(_ context.Context, key string, value []byte, tags []string, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(key)
	if len(c.entries) >= c.max {
		now := time.Now()
		for k, e := range c.entries {
			if !e.expires.IsZero() && now.After(e.expires) {
				c.dropLocked(k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			c.dropLocked(k)
		}
	}
	e := &tagEntry{value: value, tags: tags}
	if ttl > 0 {
		e.expires = time.Now().Add(ttl)
	}
	c.entries[key] = e
	for _, t := range tags {
		if c.byTag[t] == nil {
			c.byTag[t] = map[string]struct{}{}
		}
		c.byTag[t][key] = struct{}{}
	}
	return nil
}

func (c *tagCache) dropLocked(key string) {
	e := c.entries[key]
	if e == nil {
		return
	}
	delete(c.entries, key)
	for _, t := range e.tags {
		delete(c.byTag[t], key)
		if len(c.byTag[t]) == 0 {
			delete(c.byTag, t)
		}
	}
}

func (c *tagCache) InvalidateTags(_ context.Context, tags ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range tags {
		for key := range c.byTag[t] {
			c.dropLocked(key)
		}
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
