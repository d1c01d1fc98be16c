package plugin

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUPrecise is the calling thread's CPU time from
// CLOCK_THREAD_CPUTIME_ID: nanosecond resolution, where getrusage's
// per-thread figure can stand still over a few microseconds.
func threadCPUPrecise() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
