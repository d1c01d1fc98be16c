package plugin

import (
	"context"
	"os"
	"strings"
	"testing"
)

// The copy-on-write reset finds the private copies with the PAGEMAP_SCAN
// ioctl (Linux 6.7), else by reading the pagemap, else (no pagemap) drops
// all of memory: each way must leave memory clean.
func TestResetWays(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pagemap, scan bool
	}{{"PagemapScan", true, true}, {"PagemapRead", true, false}, {"NoPagemap", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v, p, s bool) { cowEnabled, usePagemap = v, p; usePagemapScan.Store(s) }(cowEnabled, usePagemap, usePagemapScan.Load())
			cowEnabled, usePagemap = true, tc.pagemap
			usePagemapScan.Store(tc.scan)
			checkResetDropsEveryWrite(t, true)
			if tc.scan && !usePagemapScan.Load() {
				t.Log("PAGEMAP_SCAN is not supported by this kernel: the pagemap was read instead")
			}
		})
	}
}

// snapshotMappings counts this process's mappings of snapshot memfds and
// descriptors of them: three per instance (the private mapping, the
// read-only view, the descriptor).
func snapshotMappings(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Skip("no /proc/self/maps")
	}
	n := strings.Count(string(b), "/memfd:trovato-")
	fds, _ := os.ReadDir("/proc/self/fd")
	for _, fd := range fds {
		if l, _ := os.Readlink("/proc/self/fd/" + fd.Name()); strings.HasPrefix(l, "/memfd:trovato-") {
			n++
		}
	}
	return n
}

// Instances discarded after a trap, and a closed host, give back their
// memory reservation, their snapshot memfd and its mappings.
func TestDiscardedInstancesReleaseMemory(t *testing.T) {
	if !cowEnabled {
		t.Skip("copy-on-write reset turned off")
	}
	before := snapshotMappings(t)
	h, _ := MustHost(t, HostConfig{MaxConsecutiveFailures: 1000})
	MustLoad(t, h, testManifest("trap", []string{"item_view"}), MustWAT(t, "trap"), Limits{PoolSize: 1})
	if n := snapshotMappings(t) - before; n != 3 {
		t.Fatalf("one instance has %d snapshot mappings and descriptors, want 3", n)
	}
	for range 20 {
		if res := h.Invoke(context.Background(), "item_view", []byte(`{}`)); res[0].Err == nil {
			t.Fatal("trap.wat did not fail")
		}
	}
	if st := statsOf(t, h, "trap"); st.Instances > 1 {
		t.Fatalf("stats = %+v", st)
	}
	if n := snapshotMappings(t) - before; n > 3 {
		t.Fatalf("after 20 discarded instances %d snapshot mappings and descriptors remain, want at most 3", n)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := snapshotMappings(t) - before; n != 0 {
		t.Fatalf("after Close %d snapshot mappings remain", n)
	}
}
