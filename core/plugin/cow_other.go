//go:build !linux

package plugin

import (
	"errors"

	"github.com/tetratelabs/wazero/experimental"
)

// cowMemory is the Linux copy-on-write linear memory (cow_linux.go);
// elsewhere instances restore by compare-and-copy.
type cowMemory struct{}

func (c *cowMemory) seal(string, int) error { return errors.New("copy-on-write reset needs Linux") }
func (c *cowMemory) reset() error           { return errors.New("copy-on-write reset needs Linux") }
func (c *cowMemory) broken() bool           { return true }
func (c *cowMemory) Free()                  {}

func newInstanceAllocator(fallback experimental.MemoryAllocator) (experimental.MemoryAllocator, func() *cowMemory) {
	return fallback, func() *cowMemory { return nil }
}

func (c *cowMemory) privatePages() int { return 0 }
