package plugin

import (
	"context"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// handModule has no export section, an unexported memory, a mutable i32
// global (5), an immutable i64 global whose immediate is 0x0B (the end
// opcode's value) and a mutable f64 global whose immediate holds 0x0B.
var handModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type: () -> ()
	0x03, 0x02, 0x01, 0x00, // function
	0x05, 0x03, 0x01, 0x00, 0x01, // memory min 1
	0x06, 0x17, 0x03, // global, 3 entries
	0x7f, 0x01, 0x41, 0x05, 0x0b,
	0x7e, 0x00, 0x42, 0x0b, 0x0b,
	0x7c, 0x01, 0x44, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f, 0x0b,
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code
}

func TestParseWasmExportsState(t *testing.T) {
	m, err := parseWasm(handModule)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Globals) != 3 || m.Globals[0].Index != 0 || m.Globals[0].Type != valI32 || m.Globals[1].Index != 2 || m.Globals[1].Type != valF64 ||
		m.Globals[2].Index != 3 || m.Globals[2].Export != stopExportName {
		t.Fatalf("globals = %+v", m.Globals)
	}
	if m.Memory != memoryExportName {
		t.Fatalf("memory export = %q", m.Memory)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, m.Binary)
	if err != nil {
		t.Fatalf("rewritten module does not instantiate: %v", err)
	}
	g0, ok := mod.ExportedGlobal(m.Globals[0].Export).(api.MutableGlobal)
	if !ok || g0.Get() != 5 {
		t.Fatalf("global 0 not exported as mutable 5: %v", g0)
	}
	g2, ok := mod.ExportedGlobal(m.Globals[1].Export).(api.MutableGlobal)
	want := math.Float64frombits(0x3ff800000000000b)
	if !ok || math.Float64frombits(g2.Get()) != want {
		t.Fatalf("global 2 = %v, want %v", g2, want)
	}
	g0.Set(9)
	if g0.Get() != 9 {
		t.Fatal("global cannot be set")
	}
	if mod.ExportedMemory(memoryExportName) == nil {
		t.Fatal("memory not exported")
	}
	if stop, ok := mod.ExportedGlobal(stopExportName).(api.MutableGlobal); !ok || stop.Get() != 0 {
		t.Fatal("stop flag not exported as a mutable global")
	}
}

func TestParseWasmKeepsExistingExports(t *testing.T) {
	m, err := parseWasm(MustWAT(t, "leak"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Memory != "memory" || len(m.Globals) != 2 || m.Globals[0].Export != globalExportPrefix+"0" || m.StopGlobal != stopExportName {
		t.Fatalf("module = %+v", m)
	}
	want := map[string]bool{"trovato_alloc": true, "tap_item_view": true}
	for _, f := range m.FuncExports {
		delete(want, f)
	}
	if len(want) != 0 {
		t.Fatalf("function exports %v, missing %v", m.FuncExports, want)
	}
}

// TestStopFlagEndsLoop runs the instrumented infinite loop in a bare
// runtime and raises the flag from another goroutine while a garbage
// collection is pending: the loop's periodic exit lets the collection
// run, and the flag makes it trap.
func TestStopFlagEndsLoop(t *testing.T) {
	m, err := parseWasm(MustWAT(t, "loop"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Loops != 1 {
		t.Fatalf("instrumented %d loops, want 1", m.Loops)
	}
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	defer r.Close(ctx)
	mod, err := r.Instantiate(ctx, m.Binary)
	if err != nil {
		t.Fatal(err)
	}
	stop := mod.ExportedGlobal(stopExportName).(api.MutableGlobal)
	done := make(chan error, 1)
	go func() {
		_, err := mod.ExportedFunction("tap_item_view").Call(ctx, 0, 0)
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	runtime.GC()
	stop.Set(1)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("loop ended with %v, want a trap", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the loop did not stop")
	}
}

// reachStop: (func (global.set 0 (i32.const 0))) in a module with no globals.
var reachStop = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	0x03, 0x02, 0x01, 0x00,
	0x05, 0x03, 0x01, 0x00, 0x01,
	0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0x24, 0x00, 0x0b,
}

// tailCall: (func (return_call 0)).
var tailCall = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
	0x03, 0x02, 0x01, 0x00,
	0x05, 0x03, 0x01, 0x00, 0x01,
	0x0a, 0x06, 0x01, 0x04, 0x00, 0x12, 0x00, 0x0b,
}

func TestParseWasmRejects(t *testing.T) {
	v128Global := []byte{
		0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
		0x06, 0x16, 0x01, 0x7b, 0x01, 0xfd, 0x0c,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
	}
	tests := []struct {
		name string
		bin  []byte
	}{
		{name: "Empty", bin: nil},
		{name: "BadMagic", bin: []byte("\x00asn\x01\x00\x00\x00")},
		{name: "Version2", bin: []byte("\x00asm\x02\x00\x00\x00")},
		{name: "SectionPastEnd", bin: []byte("\x00asm\x01\x00\x00\x00\x01\x10\x00")},
		{name: "OverlongLEB", bin: []byte("\x00asm\x01\x00\x00\x00\x01\xff\xff\xff\xff\xff\x7f")},
		{name: "MutableV128Global", bin: v128Global},
		{name: "StartSection", bin: []byte("\x00asm\x01\x00\x00\x00\x08\x01\x00")},
		// Code that reaches for global 0, which the rewrite would add as the stop flag.
		{name: "ReachesForStopFlag", bin: reachStop},
		{name: "TailCall", bin: tailCall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseWasm(tc.bin); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestParseWasmNeverPanics feeds every truncation and single-byte
// corruption of a valid module to the parser.
func TestParseWasmNeverPanics(t *testing.T) {
	for n := range len(handModule) {
		parseWasm(handModule[:n])
	}
	for i := 8; i < len(handModule); i++ {
		for _, v := range []byte{0x00, 0x0b, 0x7f, 0x80, 0xff} {
			b := append([]byte(nil), handModule...)
			b[i] = v
			parseWasm(b)
		}
	}
}
