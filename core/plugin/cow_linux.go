//go:build linux

package plugin

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// Copy-on-write reset (Linux), after Wasmtime's: an instance's linear
// memory is an mmap reservation of the plugin's maximum memory. Once the
// snapshot is taken its bytes go into a sealed memfd, which is mapped
// privately over the first snapshot-size bytes. A call's writes then land
// in private copies of the pages it touches, and every other page is the
// memfd's, clean by construction. /proc/self/pagemap tells them apart (a
// private copy is present, or swapped, and not a file page; the
// PAGEMAP_SCAN ioctl of Linux 6.7 lists them as ranges, older kernels'
// pagemap is read entry by entry), so the reset
// compares with the snapshot only the private copies — about 40 pages of
// a Go guest's 1,536 — instead of all of memory. Pages above the snapshot
// are anonymous; the touched ones are zeroed.
//
// The private copies are restored in place, not dropped with
// MADV_DONTNEED: dropping them makes the next call take a copy-on-write
// fault for each page it writes again, which measured several µs per
// fault on this VM (a Go item_view: 48 faults, +120-220 µs per call),
// and a TLB shootdown per madvise.

// cowMemory is one instance's linear memory.
type cowMemory struct {
	base     unsafe.Pointer // start of the reservation
	reserved uintptr        // bytes reserved (the plugin's memory cap)
	size     uint64         // current length of linear memory
	fd       int            // the memfd holding the snapshot, or -1
	snapSize int            // bytes mapped from the memfd
	snap     []byte         // read-only shared view of the memfd
	pm       []byte         // pagemap entries, reused
	private  int            // private copies of snapshot pages at the last reset
	freed    bool
}

var (
	hostPageSize = os.Getpagesize()
	zeroPage     = make([]byte, hostPageSize)
)

// pagemap is /proc/self/pagemap, opened once; nil if it cannot be read,
// in which case the reset drops every page of memory.
var pagemap = sync.OnceValue(func() *os.File {
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return nil
	}
	return f
})

// usePagemap is turned off by a test of the reset without it.
var usePagemap = true

// usePagemapScan: the PAGEMAP_SCAN ioctl (Linux 6.7) lists the private
// copies as ranges; on older kernels the pagemap is read entry by entry.
var usePagemapScan atomic.Bool

func init() { usePagemapScan.Store(true) }

// newCOWMemory reserves maxBytes of address space (no memory is committed
// until it is touched). It returns nil if the reservation fails.
func newCOWMemory(maxBytes uint64) *cowMemory {
	n := uintptr(maxBytes)
	if n == 0 {
		n = uintptr(hostPageSize)
	}
	p, err := unix.MmapPtr(-1, 0, nil, n, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	// 4 KiB pages: a huge page would make every dirtied byte cost 2 MiB
	// to reset.
	unix.Madvise(unsafe.Slice((*byte)(p), n), unix.MADV_NOHUGEPAGE)
	return &cowMemory{base: p, reserved: n, fd: -1}
}

func (c *cowMemory) bytes(n uint64) []byte {
	return unsafe.Slice((*byte)(c.base), c.reserved)[:n:n]
}

// Reallocate implements experimental.LinearMemory: memory grows in place,
// and untouched pages of the reservation read as zero.
func (c *cowMemory) Reallocate(size uint64) []byte {
	if size > uint64(c.reserved) || c.freed {
		return nil
	}
	c.size = size
	return c.bytes(size)
}

// Free implements experimental.LinearMemory.
func (c *cowMemory) Free() {
	if c.freed {
		return
	}
	c.freed = true
	unix.MunmapPtr(c.base, c.reserved)
	if c.snap != nil {
		unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(c.snap)), uintptr(len(c.snap)))
		c.snap = nil
	}
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// seal makes the first snapSize bytes of memory (their current content)
// the clean state the reset returns to. On an error nothing changed.
func (c *cowMemory) seal(name string, snapSize int) error {
	if snapSize%hostPageSize != 0 || uint64(snapSize) > c.size {
		return fmt.Errorf("snapshot of %d bytes is not a whole number of %d-byte pages", snapSize, hostPageSize)
	}
	fd, err := unix.MemfdCreate("trovato-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	if err := unix.Ftruncate(fd, int64(snapSize)); err != nil {
		return fmt.Errorf("ftruncate: %w", err)
	}
	// Only the non-zero pages are written: the memfd's holes read as zero
	// and take no memory.
	buf := c.bytes(uint64(snapSize))
	zero := zeroPage
	for off := 0; off < snapSize; {
		if bytes.Equal(buf[off:off+hostPageSize], zero) {
			off += hostPageSize
			continue
		}
		end := off + hostPageSize
		for end < snapSize && !bytes.Equal(buf[end:end+hostPageSize], zero) {
			end += hostPageSize
		}
		for w := off; w < end; {
			n, err := unix.Pwrite(fd, buf[w:end], int64(w))
			if err != nil {
				return fmt.Errorf("write snapshot: %w", err)
			}
			w += n
		}
		off = end
	}
	// Nothing can change the snapshot from now on.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		return fmt.Errorf("seal memfd: %w", err)
	}
	var snap []byte
	if snapSize > 0 {
		// A read-only view of the snapshot, what reset compares with.
		p, err := unix.MmapPtr(fd, 0, nil, uintptr(snapSize), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return fmt.Errorf("mmap snapshot view: %w", err)
		}
		snap = unsafe.Slice((*byte)(p), snapSize)
		// Try the private writable mapping elsewhere first: a refusal
		// (an old kernel's reading of the write seal, a policy) must not
		// happen on the fixed mapping, which may leave the range unmapped.
		probe, err := unix.MmapPtr(fd, 0, nil, uintptr(snapSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
		if err != nil {
			unix.MunmapPtr(p, uintptr(snapSize))
			return fmt.Errorf("mmap snapshot: %w", err)
		}
		unix.MunmapPtr(probe, uintptr(snapSize))
		// Same bytes, now backed by the memfd: the anonymous pages that
		// held them are released by the fixed mapping.
		if _, err := unix.MmapPtr(fd, 0, c.base, uintptr(snapSize), unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_FIXED); err != nil {
			unix.MunmapPtr(p, uintptr(snapSize))
			// A failed MAP_FIXED may have unmapped the range: this memory
			// is no longer usable.
			c.freed = true
			return fmt.Errorf("mmap snapshot: %w", err)
		}
	}
	if snapSize > 0 {
		unix.Madvise(c.bytes(uint64(snapSize)), unix.MADV_NOHUGEPAGE)
	}
	c.fd, c.snapSize, c.snap = fd, snapSize, snap
	ok = true
	return nil
}

// Page table entry bits of /proc/pid/pagemap (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
	pmFile    = 1 << 61
)

// reset puts back every page a call may have changed. A page of the
// snapshot that is still the memfd's (or not mapped at all) is clean by
// construction; one that is a private copy is compared with the snapshot
// and copied back if it differs. The private copy is kept, so a page the
// guest writes on every call costs a 4 KiB compare and copy here instead
// of a copy-on-write fault in the call (measured: a fault costs several
// µs on this VM). Above the snapshot every touched page is zeroed. If the
// pagemap cannot be read, all of memory is dropped (correct, but the next
// call faults in every page it touches).
func (c *cowMemory) reset() error {
	if c.freed {
		return fmt.Errorf("memory was freed")
	}
	ps := hostPageSize
	pages := int(c.size / uint64(ps))
	if pages == 0 {
		return nil
	}
	f := pagemap()
	if f == nil || !usePagemap {
		return c.drop(0, pages)
	}
	if usePagemapScan.Load() {
		err := c.resetScan(f)
		if err == nil {
			return nil
		}
		if err != errScanUnsupported {
			return err
		}
		usePagemapScan.Store(false)
	}
	if cap(c.pm) < pages*8 {
		c.pm = make([]byte, pages*8)
	}
	pm := c.pm[:pages*8]
	off := int64(uintptr(c.base)/uintptr(ps)) * 8
	for got := 0; got < len(pm); {
		n, err := f.ReadAt(pm[got:], off+int64(got))
		if n == 0 && err != nil {
			return c.drop(0, pages)
		}
		got += n
	}
	mem := c.bytes(c.size)
	snapPages := c.snapSize / ps
	private := 0
	defer func() { c.private = private }()
	for i := 0; i < pages; i++ {
		e := binary.LittleEndian.Uint64(pm[i*8:])
		if e&(pmPresent|pmSwapped) == 0 {
			continue
		}
		page := mem[i*ps : (i+1)*ps]
		if i < snapPages {
			if e&pmFile != 0 {
				continue
			}
			private++
			if want := c.snap[i*ps : (i+1)*ps]; !bytes.Equal(page, want) {
				copy(page, want)
			}
			continue
		}
		if !bytes.Equal(page, zeroPage) {
			clear(page)
		}
	}
	return nil
}

// drop discards pages [from, to) of memory.
func (c *cowMemory) drop(from, to int) error {
	b := c.bytes(c.size)[from*hostPageSize : to*hostPageSize]
	if err := unix.Madvise(b, unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("madvise: %w", err)
	}
	return nil
}

// cowAllocator gives one instance a cowMemory, or a heap buffer from
// fallback if the reservation fails.
type cowAllocator struct {
	fallback experimental.MemoryAllocator
	mem      *cowMemory
}

func (a *cowAllocator) Allocate(capacity, maxBytes uint64) experimental.LinearMemory {
	if a.mem == nil {
		if m := newCOWMemory(maxBytes); m != nil {
			a.mem = m
			return m
		}
	}
	return a.fallback.Allocate(capacity, maxBytes)
}

func newInstanceAllocator(fallback experimental.MemoryAllocator) (experimental.MemoryAllocator, func() *cowMemory) {
	if !cowEnabled {
		return fallback, func() *cowMemory { return nil }
	}
	a := &cowAllocator{fallback: fallback}
	return a, func() *cowMemory { return a.mem }
}

// broken reports that the memory can no longer be used (a failed seal).
func (c *cowMemory) broken() bool { return c.freed }

// privatePages is the number of private copies the last reset compared.
func (c *cowMemory) privatePages() int { return c.private }

// PAGEMAP_SCAN (include/uapi/linux/fs.h).
const (
	pagemapScan   = 0xc0606610 // _IOWR('f', 16, struct pm_scan_arg)
	pageIsFile    = 1 << 2
	pageIsPresent = 1 << 3
	pageIsSwapped = 1 << 4
)

type pmScanArg struct {
	size, flags, start, end, walkEnd, vec, vecLen, maxPages       uint64
	categoryInverted, categoryMask, categoryAnyofMask, returnMask uint64
}

type pageRegion struct{ start, end, categories uint64 }

var errScanUnsupported = fmt.Errorf("PAGEMAP_SCAN is not supported")

// resetScan is reset with the private copies listed by PAGEMAP_SCAN:
// pages present or swapped and not file pages.
func (c *cowMemory) resetScan(f *os.File) error {
	var regions [64]pageRegion
	mem := c.bytes(c.size)
	start := uint64(uintptr(c.base))
	end := start + c.size
	snapEnd := start + uint64(c.snapSize)
	private := 0
	defer func() { c.private = private }()
	for start < end {
		arg := pmScanArg{
			start: start, end: end,
			vec: uint64(uintptr(unsafe.Pointer(&regions[0]))), vecLen: uint64(len(regions)),
			categoryInverted: pageIsFile, categoryMask: pageIsFile,
			categoryAnyofMask: pageIsPresent | pageIsSwapped,
			returnMask:        pageIsPresent | pageIsSwapped | pageIsFile,
		}
		arg.size = uint64(unsafe.Sizeof(arg))
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), pagemapScan, uintptr(unsafe.Pointer(&arg)))
		if errno != 0 {
			if errno == unix.ENOTTY || errno == unix.EINVAL {
				return errScanUnsupported
			}
			return fmt.Errorf("PAGEMAP_SCAN: %w", errno)
		}
		n := int(r)
		for _, rg := range regions[:n] {
			for a := rg.start; a < rg.end; a += uint64(hostPageSize) {
				off := int(a - uint64(uintptr(c.base)))
				page := mem[off : off+hostPageSize]
				if a < snapEnd {
					private++
					if want := c.snap[off : off+hostPageSize]; !bytes.Equal(page, want) {
						copy(page, want)
					}
				} else if !bytes.Equal(page, zeroPage) {
					clear(page)
				}
			}
		}
		if arg.walkEnd >= end {
			break
		}
		if arg.walkEnd <= start {
			return fmt.Errorf("PAGEMAP_SCAN made no progress at %#x", start)
		}
		start = arg.walkEnd
	}
	return nil
}
