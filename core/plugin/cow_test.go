package plugin

import (
	"bytes"
	"context"
	"runtime"
	"testing"
)

// TestResetDropsEveryWrite: scribble.wat writes into every 4 KiB page of
// memory and into three pages it grows; after each call the instance's
// memory must be its clean state byte for byte, with the grown pages
// zero. Run with the copy-on-write reset (Linux) and the compare-and-copy
// one.
func TestResetDropsEveryWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		cow  bool
	}{{"CopyOnWrite", true}, {"CompareAndCopy", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cow && runtime.GOOS != "linux" {
				t.Skip("copy-on-write reset is Linux-only")
			}
			defer func(v bool) { cowEnabled = v }(cowEnabled)
			cowEnabled = tc.cow
			checkResetDropsEveryWrite(t, tc.cow)
		})
	}
}

func checkResetDropsEveryWrite(t *testing.T, cow bool) {
	h, _ := MustHost(t, HostConfig{})
	// The snapshot (about 1 MiB: the input cap) is large enough that
	// memory grown by 12 pages stays under twice its size, so the
	// instance is kept.
	MustLoad(t, h, testManifest("scribble", []string{"item_view"}), MustWAT(t, "scribble"), Limits{PoolSize: 1, MaxInput: 1 << 20})
	h.mu.RLock()
	sb := h.plugins["scribble"].sb
	h.mu.RUnlock()
	in := <-sb.idle
	if (in.cow != nil) != cow {
		t.Fatalf("copy-on-write memory = %v, want %v", in.cow != nil, cow)
	}
	clean, _ := in.mem.Read(0, in.mem.Size())
	clean = bytes.Clone(clean)
	sb.idle <- in
	for i, first := range []string{`"a"`, `"b"`, `"a"`, `7`} {
		res := h.Invoke(context.Background(), "item_view", []byte(first))
		if res[0].Err != nil || string(res[0].Output) != `{}` {
			t.Fatalf("call %d: %v %q", i, res[0].Err, res[0].Output)
		}
		var in *instance
		select {
		case in = <-sb.idle:
		default:
			t.Fatalf("call %d: the instance was not returned to the pool", i)
		}
		mem, _ := in.mem.Read(0, in.mem.Size())
		if len(mem) != len(clean)+3*pageSize*(i+1) {
			t.Fatalf("call %d: memory is %d bytes, want the snapshot's %d plus %d grown pages", i, len(mem), len(clean), 3*(i+1))
		}
		if at := firstDiff(mem[:len(clean)], clean); at >= 0 {
			t.Fatalf("call %d: byte %d is %#x after the reset, the snapshot has %#x", i, at, mem[at], clean[at])
		}
		for at, b := range mem[len(clean):] {
			if b != 0 {
				t.Fatalf("call %d: byte %d above the snapshot is %#x after the reset", i, len(clean)+at, b)
			}
		}
		sb.idle <- in
	}
	if st := statsOf(t, h, "scribble"); st.Instances != 1 {
		t.Fatalf("stats = %+v: want one reused instance", st)
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
