package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/trovato/trovato/core"
)

// HostConfig configures a Host.
type HostConfig struct {
	Logger *slog.Logger // required
	// CacheDir keeps compiled modules on disk across restarts; empty keeps
	// them in memory only.
	CacheDir string
	Services Services
	// Validate checks tap outputs after the JSON check; nil accepts any
	// JSON document.
	Validate OutputValidator
	// Limits are the defaults for plugins loaded without their own.
	Limits Limits
	// MaxConsecutiveFailures disables a plugin after that many failed calls
	// in a row (default 10; negative never disables).
	MaxConsecutiveFailures int
	// OnDisable is told when a plugin is disabled for failing.
	OnDisable func(plugin string, err error)
}

// Host holds the loaded plugins and dispatches taps to the enabled ones.
type Host struct {
	logger    *slog.Logger
	eng       *engine
	services  Services
	validate  OutputValidator
	limits    Limits
	maxFails  int
	onDisable func(string, error)

	mu      sync.RWMutex
	plugins map[string]*loaded
	taps    map[string][]tapImpl // enabled implementations in weight order
}

type loaded struct {
	sb      *sandbox
	enabled bool

	calls, failures, consecutive atomic.Int64
	disabledErr                  atomic.Pointer[CallError]
}

type tapImpl struct {
	weight int
	p      *loaded
}

// NewHost returns a Host with no plugins.
func NewHost(ctx context.Context, cfg HostConfig) (*Host, error) {
	if cfg.Logger == nil {
		return nil, core.Errorf(core.EInvalid, "plugin host: a logger is required")
	}
	cache := wazero.NewCompilationCache()
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("plugin host: compilation cache %s: %w", cfg.CacheDir, err)
		}
	}
	maxFails := cfg.MaxConsecutiveFailures
	if maxFails == 0 {
		maxFails = 10
	}
	return &Host{
		logger:    cfg.Logger.With("component", "plugin"),
		eng:       &engine{cache: cache, alloc: &memoryAllocator{}},
		services:  cfg.Services,
		validate:  cfg.Validate,
		limits:    cfg.Limits.withDefaults(DefaultLimits),
		maxFails:  maxFails,
		onDisable: cfg.OnDisable,
		plugins:   map[string]*loaded{},
		taps:      map[string][]tapImpl{},
	}, nil
}

// Load compiles a plugin and fills its pool; it starts disabled. Loading a
// name that is already loaded replaces it only if the new version loads:
// an invalid new version keeps the old one running (and its enabled state
// and approvals). Zero fields of lim take the host's defaults. EInvalid for
// a bad manifest or module.
func (h *Host) Load(ctx context.Context, m Manifest, wasm []byte, lim Limits) error {
	if err := m.Validate(); err != nil {
		return err
	}
	lim = lim.withDefaults(h.limits)
	sb, err := newSandbox(ctx, h.eng, &m, wasm, lim, &h.services, h.logger.With("plugin", m.Name))
	if err != nil {
		return core.Errorf(core.EInvalid, "%v", err)
	}
	h.mu.Lock()
	old := h.plugins[m.Name]
	p := &loaded{sb: sb}
	if old != nil {
		p.enabled = old.enabled
		sb.approved.Store(old.sb.approved.Load())
	}
	h.plugins[m.Name] = p
	h.rebuildLocked()
	h.mu.Unlock()
	if old != nil {
		old.sb.close(context.WithoutCancel(ctx))
	}
	return nil
}

// Unload disables and removes a plugin. ENotFound.
func (h *Host) Unload(ctx context.Context, name string) error {
	h.mu.Lock()
	p := h.plugins[name]
	if p == nil {
		h.mu.Unlock()
		return core.Errorf(core.ENotFound, "plugin %s is not loaded", name)
	}
	delete(h.plugins, name)
	h.rebuildLocked()
	h.mu.Unlock()
	return p.sb.close(ctx)
}

// Enable enables a plugin with the capabilities an administrator approved.
// A capability the manifest does not request is EInvalid. ENotFound.
func (h *Host) Enable(name string, approved []Capability) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.plugins[name]
	if p == nil {
		return core.Errorf(core.ENotFound, "plugin %s is not loaded", name)
	}
	set := map[Capability]bool{}
	for _, c := range approved {
		if !p.sb.manifest.HasCapability(c) {
			return core.Errorf(core.EInvalid, "plugin %s does not request capability %q", name, c)
		}
		set[c] = true
	}
	p.sb.approved.Store(&set)
	p.enabled = true
	p.consecutive.Store(0)
	p.disabledErr.Store(nil)
	h.rebuildLocked()
	return nil
}

// Disable stops dispatching taps to a plugin; it stays loaded. ENotFound.
func (h *Host) Disable(name string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.plugins[name]
	if p == nil {
		return core.Errorf(core.ENotFound, "plugin %s is not loaded", name)
	}
	p.enabled = false
	h.rebuildLocked()
	return nil
}

func (h *Host) rebuildLocked() {
	taps := map[string][]tapImpl{}
	for _, p := range h.plugins {
		if !p.enabled {
			continue
		}
		for _, t := range p.sb.manifest.Taps {
			taps[t.Name] = append(taps[t.Name], tapImpl{weight: t.Weight, p: p})
		}
	}
	for _, impls := range taps {
		sort.Slice(impls, func(i, j int) bool {
			if impls[i].weight != impls[j].weight {
				return impls[i].weight < impls[j].weight
			}
			return impls[i].p.sb.name < impls[j].p.sb.name
		})
	}
	h.taps = taps
}

// Result is one plugin's contribution to a tap.
type Result struct {
	Plugin string
	Output []byte // the output document; nil when the plugin returned nothing or failed
	// Decoded is what HostConfig.Validate decoded from Output (TreeValidator:
	// a core.Node, or a PageOutput for page_view and tile_view); nil
	// without an output or a validator.
	Decoded  any
	Err      error // a *CallError, or nil
	Duration time.Duration
}

// Invoke calls every enabled implementation of tap in weight order (then
// by name) with the same input. A failing plugin loses only its own
// contribution: its Result carries the *CallError, the failure is logged
// and counted, and after MaxConsecutiveFailures failures in a row the
// plugin is disabled.
func (h *Host) Invoke(ctx context.Context, tap string, input []byte) []Result {
	h.mu.RLock()
	impls := h.taps[tap]
	h.mu.RUnlock()
	if len(impls) == 0 {
		return nil
	}
	res := make([]Result, 0, len(impls))
	for _, impl := range impls {
		res = append(res, h.call(ctx, impl.p, tap, input))
	}
	return res
}

// InvokePlugin calls one plugin's tap, enabled or not (install and
// uninstall run on disabled plugins). ENotFound if the plugin is not loaded.
func (h *Host) InvokePlugin(ctx context.Context, name, tap string, input []byte) Result {
	h.mu.RLock()
	p := h.plugins[name]
	h.mu.RUnlock()
	if p == nil {
		return Result{Plugin: name, Err: fail(ReasonUnavailable, "plugin is not loaded").callError(name, tap)}
	}
	return h.call(ctx, p, tap, input)
}

func (h *Host) call(ctx context.Context, p *loaded, tap string, input []byte) Result {
	start := time.Now()
	out, f := p.sb.invoke(ctx, tap, input)
	var decoded any
	if f == nil && out != nil {
		decoded, f = h.checkOutput(tap, out)
	}
	if f == nil && tap == "item_access" && out != nil && !(*p.sb.approved.Load())[CapAccessVote] {
		if v, err := parseVote(out); err == nil && v != VoteNeutral {
			p.sb.logger.Warn("item_access vote without the access.vote capability counts as neutral", "vote", v)
		}
		out, decoded = []byte(`{"vote":"neutral"}`), nil
	}
	r := Result{Plugin: p.sb.name, Duration: time.Since(start)}
	p.calls.Add(1)
	if f == nil {
		p.consecutive.Store(0)
		r.Output, r.Decoded = out, decoded
		return r
	}
	ce := f.callError(p.sb.name, tap)
	r.Err = ce
	if f.reason == ReasonCanceled {
		// The caller gave up; that says nothing about the plugin.
		return r
	}
	p.failures.Add(1)
	p.sb.logger.Warn("plugin call failed", "tap", tap, "reason", string(f.reason), "err", f.msg)
	if f.reason == ReasonPluginError {
		// An error the plugin reported itself is counted but does not
		// make it a candidate for disabling.
		return r
	}
	n := p.consecutive.Add(1)
	if h.maxFails > 0 && n >= int64(h.maxFails) {
		h.disableForFailures(p, ce, n)
	}
	return r
}

func (h *Host) checkOutput(tap string, out []byte) (any, *failure) {
	if !validJSON(out) {
		return nil, fail(ReasonInvalidOutput, "output is not valid JSON")
	}
	if tap == "item_access" {
		if _, err := parseVote(out); err != nil {
			return nil, fail(ReasonInvalidOutput, "%v", err)
		}
	}
	if h.validate == nil {
		return nil, nil
	}
	decoded, err := h.validate(tap, out)
	if err != nil {
		return nil, fail(ReasonInvalidOutput, "%v", err)
	}
	return decoded, nil
}

func (h *Host) disableForFailures(p *loaded, ce *CallError, n int64) {
	h.mu.Lock()
	if !p.enabled || h.plugins[p.sb.name] != p {
		h.mu.Unlock()
		return
	}
	p.enabled = false
	p.disabledErr.Store(ce)
	h.rebuildLocked()
	h.mu.Unlock()
	p.sb.logger.Error("plugin disabled after consecutive failures", "failures", n, "last_reason", string(ce.Reason), "err", ce.Err.Message)
	if h.onDisable != nil {
		h.onDisable(p.sb.name, ce)
	}
}

// Stats are one plugin's counters.
type Stats struct {
	Plugin   string
	Version  string
	Enabled  bool
	Calls    int64
	Failures int64
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int64
	// DisabledFor is the failure that made the host disable the plugin.
	DisabledFor *CallError
	// Instances is the number of live instances; Resets and ResetTime
	// count snapshot restores.
	Instances int
	Resets    int64
	ResetTime time.Duration
}

// Stats returns every loaded plugin's counters, by name.
func (h *Host) Stats() []Stats {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]Stats, 0, len(h.plugins))
	for _, p := range h.plugins {
		p.sb.mu.Lock()
		live := len(p.sb.live)
		p.sb.mu.Unlock()
		out = append(out, Stats{
			Plugin: p.sb.name, Version: p.sb.manifest.Version, Enabled: p.enabled,
			Calls: p.calls.Load(), Failures: p.failures.Load(), ConsecutiveFailures: p.consecutive.Load(),
			DisabledFor: p.disabledErr.Load(), Instances: live,
			Resets: p.sb.resets.Load(), ResetTime: time.Duration(p.sb.resetNanos.Load()),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Plugin < out[j].Plugin })
	return out
}

// Manifest returns a loaded plugin's manifest.
func (h *Host) Manifest(name string) (Manifest, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	p := h.plugins[name]
	if p == nil {
		return Manifest{}, false
	}
	return *p.sb.manifest, true
}

// Close unloads every plugin.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	ps := h.plugins
	h.plugins = map[string]*loaded{}
	h.taps = map[string][]tapImpl{}
	h.mu.Unlock()
	var first error
	for _, p := range ps {
		if err := p.sb.close(ctx); err != nil && first == nil {
			first = err
		}
	}
	if err := h.eng.cache.Close(ctx); err != nil && first == nil {
		first = err
	}
	return first
}

// Vote is a plugin's answer to item_access.
type Vote string

// Votes.
const (
	VoteGrant   Vote = "grant"
	VoteDeny    Vote = "deny"
	VoteNeutral Vote = "neutral"
)

func parseVote(out []byte) (Vote, error) {
	var v struct {
		Vote Vote `json:"vote"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return "", fmt.Errorf("item_access output: %v", err)
	}
	switch v.Vote {
	case VoteGrant, VoteDeny, VoteNeutral:
		return v.Vote, nil
	}
	return "", fmt.Errorf("item_access output: vote must be grant, deny or neutral, not %q", v.Vote)
}

// Access runs item_access and combines the votes: any deny wins, then any
// grant, else neutral (the caller falls back to role permissions). Failed
// plugins and plugins without access.vote count as neutral.
func (h *Host) Access(ctx context.Context, input []byte) (Vote, []Result) {
	res := h.Invoke(ctx, "item_access", input)
	vote := VoteNeutral
	for _, r := range res {
		if r.Err != nil || r.Output == nil {
			continue
		}
		v, _ := parseVote(r.Output)
		switch {
		case v == VoteDeny:
			vote = VoteDeny
		case v == VoteGrant && vote != VoteDeny:
			vote = VoteGrant
		}
	}
	return vote, res
}
