//go:build wasip1

//lint:file-ignore U1000 the host calls the go:wasmexport functions

package sdk

import (
	"runtime"
	"unsafe"
)

// The guest side of the ABI (docs/plugin-abi.md).

func init() { host = wasmHost{} }

// inBuf is the input buffer trovato_alloc hands to the host.
var inBuf []byte

//go:wasmexport trovato_alloc
func trovatoAlloc(n uint32) uint32 {
	if cap(inBuf) < int(n) || cap(inBuf) == 0 {
		inBuf = make([]byte, max(n, 64))
	}
	inBuf = inBuf[:n]
	return bufPtr(inBuf[:cap(inBuf)])
}

// trovatoWarmup runs once before the host snapshots the instance: it
// sizes the reusable buffers and collects the garbage of initialisation so
// every call starts from a compact heap.
//
//go:wasmexport trovato_warmup
func trovatoWarmup() {
	if cap(outW.buf) < 64<<10 {
		outW.buf = make([]byte, 0, 64<<10)
	}
	if cap(errW.buf) < 1024 {
		errW.buf = make([]byte, 0, 1024)
	}
	if cap(scratch) < scratchSize {
		scratch = make([]byte, scratchSize)
	}
	// Leave free heap pages in the snapshot: a call that finds none grows
	// linear memory, and after the restore it would grow it again.
	junk := make([][]byte, 0, 128)
	for range 128 {
		junk = append(junk, make([]byte, 4<<10))
	}
	runtime.KeepAlive(junk)
	junk = nil
	runtime.GC()
	runtime.GC()
	primeAllocator()
	growStack(warmStackFrames)
}

// primeAllocator allocates one object of every small size class, with and
// without pointers, after the warm-up's collection emptied the per-P span
// caches: otherwise every call, starting from the snapshot, would first
// fetch a span for each size class it uses.
func primeAllocator() {
	var scan [][]*byte
	var noscan [][]byte
	for size := 8; size <= 32<<10; size += size / 8 {
		noscan = append(noscan, make([]byte, size))
		scan = append(scan, make([]*byte, size/8))
	}
	runtime.KeepAlive(scan)
	runtime.KeepAlive(noscan)
}

// warmStackFrames × 4 KiB of stack is used once at warm-up, so the
// goroutine that runs taps already has a large stack in the snapshot: a
// stack that grows during a call is reallocated from the heap, and, the
// snapshot knowing nothing of it, again on every call.
const warmStackFrames = 16

//go:noinline
func growStack(n int) byte {
	var buf [4096]byte
	buf[n%len(buf)] = byte(n)
	if n > 0 {
		return growStack(n-1) + buf[n%len(buf)]
	}
	return buf[0]
}

func dispatch(i int, ptr, n uint32) uint64 {
	out, isErr := run(i, inBuf[:n])
	if len(out) == 0 && !isErr {
		return 0
	}
	r := uint64(bufPtr(out))<<32 | uint64(uint32(len(out)))
	if isErr {
		r |= 1 << 31
	}
	return r
}

// inputString returns b as a string without copying when b lies inside
// the current tap's input, which stays unchanged until the tap returns
// (memory is restored after every call, so nothing outlives it).
func inputString(b []byte) (string, bool) {
	if len(b) == 0 || len(inBuf) == 0 {
		return "", len(b) == 0
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(inBuf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < lo || p+uintptr(len(b)) > lo+uintptr(len(inBuf)) {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true
}

func bufPtr(b []byte) uint32 {
	if cap(b) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

func strPtr(s string) uint32 {
	if len(s) == 0 {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s))))
}

//go:wasmimport trovato result_read
func hResultRead(ptr, cap uint32) int32

//go:wasmimport trovato log
func hLog(level, ptr, n uint32) int32

//go:wasmimport trovato request_get
func hRequestGet(outPtr, outCap uint32) int32

//go:wasmimport trovato item_load
func hItemLoad(idPtr, idLen, outPtr, outCap uint32) int32

//go:wasmimport trovato item_field
func hItemField(idPtr, idLen, fPtr, fLen, outPtr, outCap uint32) int32

//go:wasmimport trovato item_query
func hItemQuery(qPtr, qLen, outPtr, outCap uint32) int32

//go:wasmimport trovato item_save
func hItemSave(dPtr, dLen, outPtr, outCap uint32) int32

//go:wasmimport trovato data_exec
func hDataExec(opPtr, opLen, outPtr, outCap uint32) int32

//go:wasmimport trovato staged_exec
func hStagedExec(opPtr, opLen, outPtr, outCap uint32) int32

//go:wasmimport trovato user_current
func hUserCurrent(outPtr, outCap uint32) int32

//go:wasmimport trovato user_has_permission
func hUserHasPermission(pPtr, pLen uint32) int32

//go:wasmimport trovato cache_get
func hCacheGet(kPtr, kLen, outPtr, outCap uint32) int32

//go:wasmimport trovato cache_set
func hCacheSet(kPtr, kLen, vPtr, vLen, tPtr, tLen, ttl uint32) int32

//go:wasmimport trovato cache_invalidate
func hCacheInvalidate(tPtr, tLen uint32) int32

//go:wasmimport trovato variable_get
func hVariableGet(nPtr, nLen, outPtr, outCap uint32) int32

//go:wasmimport trovato variable_set
func hVariableSet(nPtr, nLen, vPtr, vLen uint32) int32

const scratchSize = 16 << 10

// scratch receives host-call results that fit; larger ones are fetched
// with result_read into a fresh buffer.
var scratch []byte

func out() (uint32, uint32) {
	if cap(scratch) < scratchSize {
		scratch = make([]byte, scratchSize)
	}
	return bufPtr(scratch), uint32(len(scratch))
}

// result turns a host function's return value into bytes or an error.
func result(r int32) ([]byte, error) {
	if r < 0 {
		return nil, statusError(r)
	}
	if int(r) <= len(scratch) {
		return scratch[:r], nil
	}
	buf := make([]byte, r)
	if n := hResultRead(bufPtr(buf), uint32(len(buf))); n != r {
		return nil, Errorf(EInternal, "result_read returned %d, want %d", n, r)
	}
	return buf, nil
}

func status(r int32) error {
	if r < 0 {
		return statusError(r)
	}
	return nil
}

var statusCodes = map[int32]string{
	-1: ENotFound, -2: EForbidden, -3: EInvalid, -4: ETooLarge,
	-5: EUnavailable, -6: EInternal, -7: EConflict,
}

func statusError(r int32) error {
	code, ok := statusCodes[r]
	if !ok {
		code = EInternal
	}
	var buf [1024]byte
	if n := hResultRead(bufPtr(buf[:]), uint32(len(buf))); n > 0 {
		v := Value(buf[:n])
		return &Error{Code: code, Message: v.Get("message").String()}
	}
	return &Error{Code: code, Message: "host call failed"}
}

type wasmHost struct{}

func (wasmHost) itemLoad(id string) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(id)
	return result(hItemLoad(strPtr(id), uint32(len(id)), p, c))
}

func (wasmHost) itemField(id, field string) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(id)
	defer runtime.KeepAlive(field)
	return result(hItemField(strPtr(id), uint32(len(id)), strPtr(field), uint32(len(field)), p, c))
}

func (wasmHost) itemQuery(q []byte) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(q)
	return result(hItemQuery(bufPtr(q), uint32(len(q)), p, c))
}

func (wasmHost) itemSave(doc []byte) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(doc)
	return result(hItemSave(bufPtr(doc), uint32(len(doc)), p, c))
}

func (wasmHost) dataExec(op []byte) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(op)
	return result(hDataExec(bufPtr(op), uint32(len(op)), p, c))
}

func (wasmHost) stagedExec(op []byte) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(op)
	return result(hStagedExec(bufPtr(op), uint32(len(op)), p, c))
}

func (wasmHost) userCurrent() ([]byte, error) {
	p, c := out()
	return result(hUserCurrent(p, c))
}

func (wasmHost) userHasPermission(perm string) (bool, error) {
	defer runtime.KeepAlive(perm)
	r := hUserHasPermission(strPtr(perm), uint32(len(perm)))
	if r < 0 {
		return false, statusError(r)
	}
	return r == 1, nil
}

func (wasmHost) cacheGet(key string) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(key)
	return result(hCacheGet(strPtr(key), uint32(len(key)), p, c))
}

func (wasmHost) cacheSet(key string, val, tags []byte, ttl uint32) error {
	defer runtime.KeepAlive(key)
	defer runtime.KeepAlive(val)
	defer runtime.KeepAlive(tags)
	return status(hCacheSet(strPtr(key), uint32(len(key)), bufPtr(val), uint32(len(val)), bufPtr(tags), uint32(len(tags)), ttl))
}

func (wasmHost) cacheInvalidate(tags []byte) error {
	defer runtime.KeepAlive(tags)
	return status(hCacheInvalidate(bufPtr(tags), uint32(len(tags))))
}

func (wasmHost) variableGet(name string) ([]byte, error) {
	p, c := out()
	defer runtime.KeepAlive(name)
	return result(hVariableGet(strPtr(name), uint32(len(name)), p, c))
}

func (wasmHost) variableSet(name string, val []byte) error {
	defer runtime.KeepAlive(name)
	defer runtime.KeepAlive(val)
	return status(hVariableSet(strPtr(name), uint32(len(name)), bufPtr(val), uint32(len(val))))
}

func (wasmHost) requestGet() ([]byte, error) {
	p, c := out()
	return result(hRequestGet(p, c))
}

func (wasmHost) log(level int, msg string) error {
	defer runtime.KeepAlive(msg)
	return status(hLog(uint32(level), strPtr(msg), uint32(len(msg))))
}
