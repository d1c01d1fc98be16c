//go:build !linux

package plugin

import "time"

func threadCPUPrecise() time.Duration { return threadCPU() }
