package plugin

import "testing"

// Without /proc/self/pagemap the copy-on-write reset drops all of memory:
// slower for the next call, equally clean.
func TestResetWithoutPagemap(t *testing.T) {
	defer func(v, p bool) { cowEnabled, usePagemap = v, p }(cowEnabled, usePagemap)
	cowEnabled, usePagemap = true, false
	checkResetDropsEveryWrite(t, true)
}
