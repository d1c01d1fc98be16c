package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

// Limits are one plugin's per-call limits. Zero fields take the defaults.
type Limits struct {
	MemoryPages  uint32        // linear memory cap in 64 KiB pages (default 1024 = 64 MiB)
	Deadline     time.Duration // wall time of one tap call (default 250 ms)
	MaxInput     int           // input document bytes (default 256 KiB; the warm-up makes it part of every snapshot)
	MaxOutput    int           // output document bytes, and host-call results (default 1 MiB)
	MaxHostCalls int           // host calls during one tap call (default 1000)
	PoolSize     int           // instances kept per plugin (default GOMAXPROCS)
}

// DefaultLimits are the limits used for zero fields of Limits.
var DefaultLimits = Limits{
	MemoryPages:  1024,
	Deadline:     250 * time.Millisecond,
	MaxInput:     256 << 10,
	MaxOutput:    1 << 20,
	MaxHostCalls: 1000,
}

func (l Limits) withDefaults(d Limits) Limits {
	if l.MemoryPages == 0 {
		l.MemoryPages = d.MemoryPages
	}
	if l.Deadline == 0 {
		l.Deadline = d.Deadline
	}
	if l.MaxInput == 0 {
		l.MaxInput = d.MaxInput
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = d.MaxOutput
	}
	if l.MaxHostCalls == 0 {
		l.MaxHostCalls = d.MaxHostCalls
	}
	if l.PoolSize == 0 {
		l.PoolSize = d.PoolSize
	}
	if l.PoolSize == 0 {
		l.PoolSize = runtime.GOMAXPROCS(0)
	}
	return l
}

const pageSize = 65536

// restoreChunk is the granularity of the snapshot restore: a chunk is
// compared with the snapshot and copied back only if it differs, which
// reads instead of writes the (mostly untouched) bulk of a guest's memory.
const restoreChunk = 4096

// cowEnabled selects the copy-on-write memory reset where the platform
// has it (cow_linux.go). TROVATO_PLUGIN_COW=0 turns it off: every
// instance then restores by compare-and-copy (for comparison, or a kernel
// that refuses memfd_create or /proc/self/pagemap).
var cowEnabled = os.Getenv("TROVATO_PLUGIN_COW") != "0"

// engine is what every plugin runtime shares.
type engine struct {
	cache wazero.CompilationCache
	alloc *memoryAllocator
}

// sandbox is one loaded plugin: its own wazero Runtime (memory limits are
// per runtime), the compiled module and a pool of instances.
type sandbox struct {
	name     string
	manifest *Manifest
	limits   Limits
	logger   *slog.Logger
	services *Services
	eng      *engine

	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	wasm     *wasmModule
	taps     map[string]bool
	warmup   bool

	approved atomic.Pointer[map[Capability]bool]

	idle  chan *instance
	slots chan struct{}
	seq   atomic.Uint64

	mu     sync.Mutex
	closed bool
	live   map[*instance]struct{}

	resetNanos atomic.Int64 // total time spent restoring snapshots
	resets     atomic.Int64

	// cpuClock, set by benchmarks, is the calling thread's CPU time:
	// resetCPU then adds up the restores' CPU time, which on a busy
	// machine measures the work where resetNanos measures the queue.
	cpuClock func() time.Duration
	resetCPU atomic.Int64
}

// newSandbox compiles a plugin and creates its first instance, so that a
// module that cannot initialise is refused at load time.
func newSandbox(ctx context.Context, eng *engine, m *Manifest, bin []byte, lim Limits, svc *Services, logger *slog.Logger) (*sandbox, error) {
	wm, err := parseWasm(bin)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: %w", m.Name, err)
	}
	if wm.Memory == "" {
		return nil, fmt.Errorf("plugin %s: the module defines no memory", m.Name)
	}
	s := &sandbox{
		name: m.Name, manifest: m, limits: lim, logger: logger, services: svc, eng: eng,
		wasm:  wm,
		idle:  make(chan *instance, lim.PoolSize),
		slots: make(chan struct{}, lim.PoolSize),
		live:  map[*instance]struct{}{},
	}
	none := map[Capability]bool{}
	s.approved.Store(&none)

	cfg := wazero.NewRuntimeConfigCompiler().
		WithCompilationCache(eng.cache).
		WithMemoryLimitPages(lim.MemoryPages).
		// Not WithCloseOnContextDone: see wasmcode.go for the stop flag.
		WithCoreFeatures(api.CoreFeaturesV2)
	s.runtime = wazero.NewRuntimeWithConfig(ctx, cfg)
	ok := false
	defer func() {
		if !ok {
			s.runtime.Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, s.runtime); err != nil {
		return nil, fmt.Errorf("plugin %s: wasi: %w", m.Name, err)
	}
	if err := s.instantiateHostModule(ctx); err != nil {
		return nil, fmt.Errorf("plugin %s: host module: %w", m.Name, err)
	}
	s.compiled, err = s.runtime.CompileModule(ctx, wm.Binary)
	if err != nil {
		return nil, fmt.Errorf("plugin %s: compile: %w", m.Name, err)
	}
	if err := s.checkImports(); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", m.Name, err)
	}
	if err := s.checkExports(); err != nil {
		return nil, fmt.Errorf("plugin %s: %w", m.Name, err)
	}
	in, f := s.newInstance(ctx)
	if f != nil {
		return nil, fmt.Errorf("plugin %s: first instance: %s", m.Name, f.Error())
	}
	s.slots <- struct{}{}
	s.idle <- in
	ok = true
	return s, nil
}

func (s *sandbox) checkImports() error {
	for _, fn := range s.compiled.ImportedFunctions() {
		mod, name, _ := fn.Import()
		switch mod {
		case hostModule:
			if _, ok := hostFunctions[name]; !ok {
				return fmt.Errorf("imports unknown host function %s.%s", mod, name)
			}
		case wasi_snapshot_preview1.ModuleName:
		default:
			return fmt.Errorf("imports %s.%s: plugins may import only %q and %q", mod, name, hostModule, wasi_snapshot_preview1.ModuleName)
		}
	}
	return nil
}

func (s *sandbox) checkExports() error {
	exp := s.compiled.ExportedFunctions()
	sig := func(name string, params, results []api.ValueType) error {
		def, ok := exp[name]
		if !ok {
			return fmt.Errorf("missing export %s", name)
		}
		if !equalTypes(def.ParamTypes(), params) || !equalTypes(def.ResultTypes(), results) {
			return fmt.Errorf("export %s has signature %v -> %v, want %v -> %v", name, def.ParamTypes(), def.ResultTypes(), params, results)
		}
		return nil
	}
	i32, i64 := api.ValueTypeI32, api.ValueTypeI64
	if err := sig(exportAlloc, []api.ValueType{i32}, []api.ValueType{i32}); err != nil {
		return err
	}
	if _, ok := exp[exportWarmup]; ok {
		if err := sig(exportWarmup, nil, nil); err != nil {
			return err
		}
		s.warmup = true
	}
	if _, ok := exp[exportInitialize]; ok {
		if err := sig(exportInitialize, nil, nil); err != nil {
			return err
		}
	}
	s.taps = map[string]bool{}
	for _, t := range s.manifest.Taps {
		if err := sig(tapExportPrefix+t.Name, []api.ValueType{i32, i32}, []api.ValueType{i64}); err != nil {
			return fmt.Errorf("tap %s is declared in the manifest: %w", t.Name, err)
		}
		s.taps[t.Name] = true
	}
	return nil
}

func equalTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// instance is one instantiated module with its clean snapshot.
type instance struct {
	sb      *sandbox
	mod     api.Module
	mem     api.Memory
	alloc   api.Function
	taps    map[string]api.Function
	globals []api.MutableGlobal

	snapSize    int        // bytes of linear memory at the snapshot
	cow         *cowMemory // copy-on-write memory (cow_linux.go); nil: compare-and-copy restore
	snapChunks  []int32    // per restoreChunk: offset into snapData, or -1 if the chunk was all zero
	snapData    []byte     // the non-zero chunks, back to back
	snapGlobals []uint64

	stop   api.MutableGlobal // the stop flag (wasmcode.go)
	stopMu sync.Mutex
	armed  bool   // a call is running and may be stopped
	gen    uint64 // counts calls, for raiseStop
	fired  bool   // the stop flag was raised during this call

	stack  [2]uint64
	st     callState
	cctx   context.Context // the current call's context, carrying &st
	unarm  func() bool     // stops the context.AfterFunc that raises the stop flag
	broken bool            // a call trapped or was canceled: never reuse
	stderr headBuffer
}

func (s *sandbox) newInstance(ctx context.Context) (*instance, *failure) {
	n := s.seq.Add(1)
	in := &instance{sb: s}
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithRandSource(newSplitMix(n)).
		WithSysWalltime().
		WithSysNanotime().
		WithStderr(&in.stderr)
	// Initialisation gets a generous deadline of its own: a Go runtime
	// takes milliseconds to start, a hostile one may never return.
	initDeadline := max(s.limits.Deadline*4, 2*time.Second)
	memAlloc, cowOf := newInstanceAllocator(s.eng.alloc)
	ictx, cancel := context.WithTimeout(experimental.WithMemoryAllocator(ctx, memAlloc), initDeadline)
	defer cancel()
	mod, err := s.runtime.InstantiateModule(ictx, s.compiled, cfg)
	if err != nil {
		// wazero does not free the memory of a module whose data
		// segments failed to apply.
		if c := cowOf(); c != nil {
			c.Free()
		}
		return nil, fail(ReasonBadModule, "instantiate: %v", err)
	}
	in.mod = mod
	in.mem = mod.ExportedMemory(s.wasm.Memory)
	in.alloc = mod.ExportedFunction(exportAlloc)
	in.taps = make(map[string]api.Function, len(s.taps))
	for t := range s.taps {
		in.taps[t] = mod.ExportedFunction(tapExportPrefix + t)
	}
	for _, g := range s.wasm.Globals {
		mg, ok := mod.ExportedGlobal(g.Export).(api.MutableGlobal)
		if !ok {
			mod.Close(ctx)
			return nil, fail(ReasonBadModule, "global %d is not exported as mutable", g.Index)
		}
		in.globals = append(in.globals, mg)
		if g.Export == s.wasm.StopGlobal {
			in.stop = mg
		}
	}

	setup := func() *failure {
		in.begin(ictx, ctx)
		if fn := mod.ExportedFunction(exportInitialize); fn != nil {
			if err := fn.CallWithStack(in.cctx, in.stack[:]); err != nil {
				return in.classify(err)
			}
		}
		// Warm up at the maximum input size, so the clean state already
		// holds an input buffer that fits every call.
		if _, f := in.allocInput(s.limits.MaxInput); f != nil {
			return f
		}
		if s.warmup {
			if err := mod.ExportedFunction(exportWarmup).CallWithStack(in.cctx, in.stack[:]); err != nil {
				return in.classify(err)
			}
		}
		return nil
	}
	f := setup()
	in.end()
	if f != nil {
		mod.Close(ctx)
		return nil, f
	}
	size := int(in.mem.Size())
	if c := cowOf(); c != nil {
		if err := c.seal(s.name, size); err != nil {
			if c.broken() {
				mod.Close(ctx)
				return nil, fail(ReasonBadModule, "snapshot: %v", err)
			}
			s.logger.Warn("plugin memory: copy-on-write reset unavailable, restoring by compare-and-copy", "error", err)
		} else {
			in.cow, in.snapSize = c, size
		}
	}
	if in.cow == nil {
		buf, _ := in.mem.Read(0, uint32(size))
		in.takeSnapshot(buf)
	}
	in.snapGlobals = make([]uint64, len(in.globals))
	for i, g := range in.globals {
		in.snapGlobals[i] = g.Get()
	}
	in.stderr.reset()
	s.mu.Lock()
	s.live[in] = struct{}{}
	s.mu.Unlock()
	s.logger.Debug("plugin instance ready", "memory_bytes", size, "mutable_globals", len(in.globals))
	return in, nil
}

// allocInput asks the guest for an n-byte input buffer.
func (in *instance) allocInput(n int) (uint32, *failure) {
	in.stack[0] = uint64(uint32(n))
	if err := in.alloc.CallWithStack(in.cctx, in.stack[:]); err != nil {
		return 0, in.classify(err)
	}
	ptr := uint32(in.stack[0])
	if uint64(ptr)+uint64(n) > uint64(in.mem.Size()) {
		return 0, fail(ReasonBadPointer, "%s(%d) returned %d, outside linear memory of %d bytes", exportAlloc, n, ptr, in.mem.Size())
	}
	return ptr, nil
}

// call runs one tap with input and returns a copy of its output. It does
// not restore the instance; the caller does, or discards it on a trap.
func (in *instance) call(tap string, input []byte) ([]byte, *failure) {
	fn := in.taps[tap]
	ptr, f := in.allocInput(len(input))
	if f != nil {
		return nil, f
	}
	in.mem.Write(ptr, input)
	in.stack[0], in.stack[1] = uint64(ptr), uint64(len(input))
	if err := fn.CallWithStack(in.cctx, in.stack[:]); err != nil {
		return nil, in.classify(err)
	}
	if in.st.fault != nil {
		// A host function failed the call but the guest went on.
		return nil, in.st.fault
	}
	packed := in.stack[0]
	optr, low := uint32(packed>>32), uint32(packed)
	n := low &^ resultErrorFlag
	isErr := low&resultErrorFlag != 0
	if int64(n) > int64(in.sb.limits.MaxOutput) {
		return nil, fail(ReasonOutputTooLarge, "output of %d bytes exceeds the cap of %d", n, in.sb.limits.MaxOutput)
	}
	if n == 0 && !isErr {
		return nil, nil
	}
	out, ok := in.mem.Read(optr, n)
	if !ok {
		return nil, fail(ReasonBadPointer, "output [%d, +%d) is outside linear memory of %d bytes", optr, n, in.mem.Size())
	}
	if isErr {
		return nil, pluginError(out)
	}
	return bytes.Clone(out), nil
}

func pluginError(doc []byte) *failure {
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(doc, &e); err != nil {
		return fail(ReasonInvalidOutput, "error document is not valid JSON: %v", err)
	}
	if !knownCode(e.Code) {
		e.Code = "internal"
	}
	if len(e.Message) > 1024 {
		e.Message = e.Message[:1024]
	}
	return &failure{reason: ReasonPluginError, code: e.Code, msg: e.Message}
}

// classify turns an error returned by wazero into a failure reason.
func (in *instance) classify(err error) *failure {
	in.broken = true
	if in.st.fault != nil {
		return in.st.fault
	}
	in.stopMu.Lock()
	fired := in.fired
	in.stopMu.Unlock()
	if fired {
		if in.st.parent != nil && errors.Is(in.st.parent.Err(), context.Canceled) {
			return fail(ReasonCanceled, "the request was canceled")
		}
		if in.st.parent != nil && in.st.parent.Err() != nil {
			return fail(ReasonDeadline, "the request's deadline passed")
		}
		return fail(ReasonDeadline, "exceeded the deadline of %s", in.sb.limits.Deadline)
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			if in.st.parent != nil && in.st.parent.Err() == nil {
				return fail(ReasonDeadline, "exceeded the deadline of %s", in.sb.limits.Deadline)
			}
			if in.st.parent != nil && errors.Is(in.st.parent.Err(), context.DeadlineExceeded) {
				return fail(ReasonDeadline, "the request's deadline passed")
			}
			return fail(ReasonDeadline, "exceeded the deadline of %s", in.sb.limits.Deadline)
		case sys.ExitCodeContextCanceled:
			return fail(ReasonCanceled, "the request was canceled")
		}
	}
	stderr := firstLines(strings.TrimSpace(in.stderr.String()), 2)
	// A guest whose allocation failed traps (C, WAT) or exits with a
	// fatal error (Go) close to the cap: it may have asked for a large
	// chunk that did not fit.
	capBytes := uint64(in.sb.limits.MemoryPages) * pageSize
	if size := uint64(in.mem.Size()); size >= capBytes-capBytes/8 || strings.Contains(stderr, "out of memory") {
		return fail(ReasonMemory, "linear memory reached its cap of %d pages at %d pages (%s)", in.sb.limits.MemoryPages, size/pageSize, firstLine(err.Error()))
	}
	msg := firstLine(err.Error())
	if stderr != "" {
		msg += "; stderr: " + stderr
	}
	return fail(ReasonTrap, "%s", msg)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// zeroChunk is compared against snapshot chunks that were all zero, so
// checking them reads one stream of guest memory instead of two.
var zeroChunk [restoreChunk]byte

// takeSnapshot stores buf sparsely: chunks that are all zero (most of a
// fresh heap) are only marked.
func (in *instance) takeSnapshot(buf []byte) {
	in.snapSize = len(buf)
	n := (len(buf) + restoreChunk - 1) / restoreChunk
	in.snapChunks = make([]int32, n)
	var data []byte
	for i := range n {
		off := i * restoreChunk
		c := buf[off:min(off+restoreChunk, len(buf))]
		if bytes.Equal(c, zeroChunk[:len(c)]) {
			in.snapChunks[i] = -1
			continue
		}
		in.snapChunks[i] = int32(len(data))
		data = append(data, c...)
	}
	in.snapData = bytes.Clone(data)
}

// restore puts the clean snapshot back and resets every mutable global.
// With copy-on-write memory (Linux) the pages the call changed are
// dropped back to the snapshot's (or to zero above it). Otherwise each
// chunk of memory is compared with the snapshot and rewritten only if it
// differs (reading is cheaper than writing the untouched bulk), and pages
// above the snapshot are zeroed if memory grew. It reports false when the
// instance should be dropped instead: its memory grew far beyond the
// snapshot, or could not be reset.
func (in *instance) restore() bool {
	start := time.Now()
	var cpu0 time.Duration
	if in.sb.cpuClock != nil {
		cpu0 = in.sb.cpuClock()
	}
	size := int(in.mem.Size())
	if in.cow != nil {
		if err := in.cow.reset(); err != nil {
			in.sb.logger.Error("plugin memory reset failed: instance dropped", "error", err)
			return false
		}
	} else {
		in.restoreCopy(size)
	}
	if size > in.snapSize {
		in.sb.logger.Debug("plugin memory grew during a call", "snapshot_bytes", in.snapSize, "memory_bytes", size)
	}
	for i, g := range in.globals {
		g.Set(in.snapGlobals[i])
	}
	in.stderr.reset()
	in.sb.resetNanos.Add(int64(time.Since(start)))
	in.sb.resets.Add(1)
	if in.sb.cpuClock != nil {
		in.sb.resetCPU.Add(int64(in.sb.cpuClock() - cpu0))
	}
	// Memory never shrinks; a guest whose allocator believes its heap
	// ends at the snapshot would grow it again on every call. Past twice
	// the snapshot (or 3/4 of the cap) a fresh instance is cheaper.
	capBytes := int(in.sb.limits.MemoryPages) * pageSize
	return size <= max(2*in.snapSize, in.snapSize+4*pageSize) && size <= capBytes*3/4
}

// restoreCopy is the portable restore: compare and copy back.
func (in *instance) restoreCopy(size int) {
	buf, _ := in.mem.Read(0, uint32(size))
	for i, at := range in.snapChunks {
		off := i * restoreChunk
		c := buf[off:min(off+restoreChunk, in.snapSize)]
		if at < 0 {
			if !bytes.Equal(c, zeroChunk[:len(c)]) {
				clear(c)
			}
			continue
		}
		want := in.snapData[at : int(at)+len(c)]
		if !bytes.Equal(c, want) {
			copy(c, want)
		}
	}
	if size > in.snapSize {
		clear(buf[in.snapSize:])
	}
}

// begin prepares the per-call state; parent is the caller's context
// (without the tap deadline), used to tell a tap timeout from a request
// deadline.
func (in *instance) begin(cctx, parent context.Context) {
	in.st = callState{sb: in.sb, inst: in, ctx: cctx, parent: parent}
	in.cctx = context.WithValue(cctx, callStateKey{}, &in.st)
	in.stopMu.Lock()
	in.armed, in.fired = true, false
	in.gen++
	gen := in.gen
	in.stopMu.Unlock()
	in.unarm = context.AfterFunc(cctx, func() { in.raiseStop(gen) })
}

// raiseStop sets the stop flag: the guest traps within a few thousand
// loop iterations. gen names the call that armed it: an AfterFunc of an
// earlier call that runs late must not stop a later one.
func (in *instance) raiseStop(gen uint64) {
	in.stopMu.Lock()
	defer in.stopMu.Unlock()
	if in.armed && in.gen == gen {
		in.fired = true
		in.stop.Set(1)
	}
}

func (in *instance) end() {
	in.unarm()
	in.stopMu.Lock()
	in.armed = false
	in.stopMu.Unlock()
	in.st.ctx, in.st.parent, in.cctx, in.unarm = nil, nil, nil, nil
	in.st.pending = nil
}

func (in *instance) close(ctx context.Context) {
	in.sb.mu.Lock()
	delete(in.sb.live, in)
	in.sb.mu.Unlock()
	in.mod.Close(ctx)
}

// acquire takes an idle instance, creates one if the pool has room, or
// waits for one.
func (s *sandbox) acquire(ctx context.Context) (*instance, *failure) {
	select {
	case in := <-s.idle:
		return in, nil
	default:
	}
	select {
	case in := <-s.idle:
		return in, nil
	case s.slots <- struct{}{}:
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			<-s.slots
			return nil, fail(ReasonUnavailable, "plugin unloaded")
		}
		in, f := s.newInstance(ctx)
		if f != nil {
			<-s.slots
			return nil, f
		}
		return in, nil
	case <-ctx.Done():
		return nil, fail(ReasonCanceled, "waiting for an instance: %v", ctx.Err())
	}
}

// release returns a healthy instance to the pool or drops it.
func (s *sandbox) release(ctx context.Context, in *instance, healthy bool) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if healthy && !closed {
		s.idle <- in
		return
	}
	in.close(context.WithoutCancel(ctx))
	<-s.slots
}

// invoke runs one tap call in a pooled instance.
func (s *sandbox) invoke(ctx context.Context, tap string, input []byte) ([]byte, *failure) {
	if len(input) > s.limits.MaxInput {
		return nil, fail(ReasonInputTooLarge, "input of %d bytes exceeds the cap of %d", len(input), s.limits.MaxInput)
	}
	if !s.taps[tap] {
		return nil, fail(ReasonUnavailable, "plugin does not implement tap %s", tap)
	}
	in, f := s.acquire(ctx)
	if f != nil {
		return nil, f
	}
	cctx, cancel := context.WithTimeout(ctx, s.limits.Deadline)
	in.begin(cctx, ctx)
	out, f := in.call(tap, input)
	// Disarm before the deadline context ends: cancelling it with the
	// stop function still registered would start a goroutine per call to
	// run it (measured: 15-20 µs of a call's latency on a busy machine).
	in.end()
	cancel()
	healthy := !in.broken && !in.mod.IsClosed() && in.restore()
	s.release(ctx, in, healthy)
	return out, f
}

func (s *sandbox) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for {
		select {
		case in := <-s.idle:
			in.close(ctx)
			<-s.slots
			continue
		default:
		}
		break
	}
	return s.runtime.Close(ctx)
}

// headBuffer keeps the first bytes a guest writes to stderr during a
// call (a Go guest's panic or fatal error message comes first).
type headBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const headMax = 1024

func (t *headBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := headMax - len(t.buf); room > 0 {
		t.buf = append(t.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (t *headBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func (t *headBuffer) reset() {
	t.mu.Lock()
	t.buf = t.buf[:0]
	t.mu.Unlock()
}

// splitMix is a cheap deterministic random source for an instance;
// wazero would otherwise seed a new crypto-backed source per instance.
type splitMix struct{ s uint64 }

func newSplitMix(seed uint64) *splitMix { return &splitMix{s: seed*0x9E3779B97F4A7C15 + 1} }

func (r *splitMix) Read(p []byte) (int, error) {
	for i := 0; i < len(p); i += 8 {
		r.s += 0x9E3779B97F4A7C15
		z := r.s
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(z >> (8 * j))
		}
	}
	return len(p), nil
}

// memoryAllocator hands out linear memory buffers and reuses the ones
// freed by discarded instances.
type memoryAllocator struct {
	mu   sync.Mutex
	free [][]byte
}

const allocatorKeep = 8

func (a *memoryAllocator) Allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, b := range a.free {
		if uint64(cap(b)) >= capacity && uint64(cap(b)) <= maxBytes {
			a.free = append(a.free[:i], a.free[i+1:]...)
			return &linearMemory{a: a, buf: b[:0], max: maxBytes}
		}
	}
	return &linearMemory{a: a, buf: make([]byte, 0, capacity), max: maxBytes}
}

type linearMemory struct {
	a   *memoryAllocator
	buf []byte
	max uint64
}

func (m *linearMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		// Reused buffers are zeroed when freed, fresh ones by make.
		m.buf = m.buf[:size]
		return m.buf
	}
	nb := make([]byte, size, max(size, min(uint64(cap(m.buf))*2, m.max)))
	copy(nb, m.buf)
	m.buf = nb
	return m.buf
}

func (m *linearMemory) Free() {
	b := m.buf
	m.buf = nil
	if b == nil {
		return
	}
	clear(b[:cap(b)])
	m.a.mu.Lock()
	defer m.a.mu.Unlock()
	if len(m.a.free) < allocatorKeep {
		m.a.free = append(m.a.free, b[:0])
	}
}
