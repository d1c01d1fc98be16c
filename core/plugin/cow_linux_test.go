package plugin

import "testing"

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
