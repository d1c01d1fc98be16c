package plugin

import (
	"errors"
	"fmt"
	"strconv"
)

// This file holds the small amount of WebAssembly binary parsing the host
// needs: wazero can only read and write globals a module exports, and the
// pool restores every mutable global after a call, so at load time the
// module's export section is rewritten to export all of them.

// Section ids of the WebAssembly 1.0 binary format (plus later proposals).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// Export kinds.
const (
	extFunc   = 0
	extTable  = 1
	extMemory = 2
	extGlobal = 3
	extTag    = 4
)

// Value types.
const (
	valI32       = 0x7F
	valI64       = 0x7E
	valF32       = 0x7D
	valF64       = 0x7C
	valV128      = 0x7B
	valFuncref   = 0x70
	valExternref = 0x6F
)

// globalExportPrefix names the exports the rewrite adds for mutable globals
// that the module did not export itself.
const globalExportPrefix = "__trovato_global_"

// memoryExportName is added when a module defines a memory without
// exporting it.
const memoryExportName = "__trovato_memory"

var errWasmTruncated = errors.New("unexpected end of module")

// wasmGlobal is a module-defined mutable global and the name it is
// exported under after the rewrite.
type wasmGlobal struct {
	Index  uint32 // in the global index space (imports first)
	Type   byte
	Export string
}

// wasmModule is what the host needs to know about a guest binary.
type wasmModule struct {
	Binary        []byte       // the rewritten binary
	Globals       []wasmGlobal // every module-defined mutable global, and the stop flag last
	StopGlobal    string       // export name of the stop flag
	Loops         int          // loops instrumented with the stop check
	Memory        string       // export name of memory 0 ("" if the module has none)
	FuncExports   []string     // exported function names
	ImportedFuncs []wasmImport // imported functions (module, name)
}

type wasmImport struct {
	Module, Name string
}

type wasmReader struct {
	b   []byte
	pos int
}

func (r *wasmReader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errWasmTruncated
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// uleb reads an unsigned LEB128 value of at most bits bits.
func (r *wasmReader) uleb(bits uint) (uint64, error) {
	var v uint64
	var shift uint
	for {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if shift >= bits {
			return 0, errors.New("integer too long")
		}
		v |= uint64(c&0x7F) << shift
		if c&0x80 == 0 {
			if bits < 64 && v>>bits != 0 {
				return 0, errors.New("integer too large")
			}
			return v, nil
		}
		shift += 7
	}
}

func (r *wasmReader) u32() (uint32, error) {
	v, err := r.uleb(32)
	return uint32(v), err
}

// skipSleb skips a signed LEB128 value of at most bits bits.
func (r *wasmReader) skipSleb(bits uint) error {
	for n := uint(0); ; n += 7 {
		if n >= bits+7 {
			return errors.New("integer too long")
		}
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
}

func (r *wasmReader) skip(n int) error {
	if n < 0 || len(r.b)-r.pos < n {
		return errWasmTruncated
	}
	r.pos += n
	return nil
}

func (r *wasmReader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	start := r.pos
	if err := r.skip(int(n)); err != nil {
		return "", err
	}
	return string(r.b[start:r.pos]), nil
}

func (r *wasmReader) limits() error {
	flags, err := r.byte()
	if err != nil {
		return err
	}
	if flags > 0x07 {
		return fmt.Errorf("unknown limits flags 0x%02x", flags)
	}
	if _, err := r.uleb(64); err != nil {
		return err
	}
	if flags&1 != 0 {
		if _, err := r.uleb(64); err != nil {
			return err
		}
	}
	return nil
}

// constExpr skips a constant expression up to and including its end opcode.
// It decodes every instruction so that 0x0B bytes inside immediates are not
// mistaken for the end.
func (r *wasmReader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0B: // end
			return nil
		case 0x41: // i32.const
			err = r.skipSleb(32)
		case 0x42: // i64.const
			err = r.skipSleb(64)
		case 0x43: // f32.const
			err = r.skip(4)
		case 0x44: // f64.const
			err = r.skip(8)
		case 0x23, 0xD2: // global.get, ref.func
			_, err = r.u32()
		case 0xD0: // ref.null
			_, err = r.byte()
		case 0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E: // extended-const arithmetic
		case 0xFD: // v128.const
			var sub uint32
			if sub, err = r.u32(); err == nil {
				if sub != 12 {
					return fmt.Errorf("unsupported SIMD opcode %d in constant expression", sub)
				}
				err = r.skip(16)
			}
		default:
			return fmt.Errorf("unsupported opcode 0x%02x in constant expression", op)
		}
		if err != nil {
			return err
		}
	}
}

type wasmSection struct {
	id         byte
	start, end int // the whole section including its header
	body       int // offset of the content
}

// parseWasm reads a module's sections and rewrites it: every mutable
// global and memory 0 are exported (so the pool can restore them), a stop
// flag global is added and every loop checks it (wasmcode.go). It rejects
// modules whose state the pool could not restore (mutable v128 or
// reference globals, more than one memory) and features the host does not
// support (start functions, tail calls, exceptions, threads).
func parseWasm(bin []byte) (*wasmModule, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly binary (bad magic)")
	}
	if bin[4] != 1 || bin[5] != 0 || bin[6] != 0 || bin[7] != 0 {
		return nil, errors.New("unsupported WebAssembly binary version")
	}
	r := &wasmReader{b: bin, pos: 8}
	var sections []wasmSection
	for r.pos < len(bin) {
		start := r.pos
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d at offset %d: %w", id, start, err)
		}
		body := r.pos
		if err := r.skip(int(size)); err != nil {
			return nil, fmt.Errorf("section %d at offset %d: %w", id, start, err)
		}
		sections = append(sections, wasmSection{id: id, start: start, end: r.pos, body: body})
	}

	m := &wasmModule{}
	var importedGlobals, importedMemories, definedMemories, definedGlobals uint32
	var typeParams, funcParams []uint32
	globalSection := -1
	type export struct {
		name  string
		kind  byte
		index uint32
	}
	var exports []export
	for i, s := range sections {
		sr := &wasmReader{b: bin[:s.end], pos: s.body}
		var err error
		switch s.id {
		case secImport:
			err = func() error {
				n, err := sr.u32()
				if err != nil {
					return err
				}
				for range n {
					mod, err := sr.name()
					if err != nil {
						return err
					}
					name, err := sr.name()
					if err != nil {
						return err
					}
					kind, err := sr.byte()
					if err != nil {
						return err
					}
					switch kind {
					case extFunc:
						if _, err := sr.u32(); err != nil {
							return err
						}
						m.ImportedFuncs = append(m.ImportedFuncs, wasmImport{Module: mod, Name: name})
					case extTable:
						if _, err := sr.byte(); err != nil {
							return err
						}
						if err := sr.limits(); err != nil {
							return err
						}
					case extMemory:
						if err := sr.limits(); err != nil {
							return err
						}
						importedMemories++
					case extGlobal:
						if err := sr.skip(2); err != nil {
							return err
						}
						importedGlobals++
					case extTag:
						if err := sr.skip(1); err != nil {
							return err
						}
						if _, err := sr.u32(); err != nil {
							return err
						}
					default:
						return fmt.Errorf("unknown import kind %d", kind)
					}
				}
				return nil
			}()
		case secMemory:
			var n uint32
			n, err = sr.u32()
			definedMemories += n
		case secStart:
			err = errors.New("a start function is not allowed; export _initialize instead")
		case secType:
			err = func() error {
				n, err := sr.u32()
				if err != nil {
					return err
				}
				for i := range n {
					form, err := sr.byte()
					if err != nil {
						return err
					}
					if form != 0x60 {
						return fmt.Errorf("type %d: unsupported type form 0x%02x", i, form)
					}
					np, err := sr.u32()
					if err != nil {
						return err
					}
					if err := sr.skip(int(np)); err != nil {
						return err
					}
					nr, err := sr.u32()
					if err != nil {
						return err
					}
					if err := sr.skip(int(nr)); err != nil {
						return err
					}
					typeParams = append(typeParams, np)
				}
				return nil
			}()
		case secFunction:
			err = func() error {
				n, err := sr.u32()
				if err != nil {
					return err
				}
				for range n {
					t, err := sr.u32()
					if err != nil {
						return err
					}
					if int(t) >= len(typeParams) {
						return fmt.Errorf("function type index %d out of range", t)
					}
					funcParams = append(funcParams, typeParams[t])
				}
				return nil
			}()
		case secGlobal:
			globalSection = i
			err = func() error {
				n, err := sr.u32()
				if err != nil {
					return err
				}
				definedGlobals = n
				for i := range n {
					typ, err := sr.byte()
					if err != nil {
						return err
					}
					mut, err := sr.byte()
					if err != nil {
						return err
					}
					if mut > 1 {
						return fmt.Errorf("global %d: bad mutability flag %d", i, mut)
					}
					if err := sr.constExpr(); err != nil {
						return fmt.Errorf("global %d: %w", i, err)
					}
					if mut == 0 {
						continue
					}
					switch typ {
					case valI32, valI64, valF32, valF64:
					default:
						return fmt.Errorf("global %d: mutable globals of type 0x%02x cannot be restored", i, typ)
					}
					m.Globals = append(m.Globals, wasmGlobal{Index: importedGlobals + i, Type: typ})
				}
				return nil
			}()
		case secExport:
			err = func() error {
				n, err := sr.u32()
				if err != nil {
					return err
				}
				for range n {
					name, err := sr.name()
					if err != nil {
						return err
					}
					kind, err := sr.byte()
					if err != nil {
						return err
					}
					idx, err := sr.u32()
					if err != nil {
						return err
					}
					exports = append(exports, export{name, kind, idx})
				}
				return nil
			}()
		}
		if err == nil && s.id != secCustom && sr.pos != s.end && (s.id == secType || s.id == secFunction || s.id == secImport || s.id == secGlobal || s.id == secExport) {
			err = errors.New("section size mismatch")
		}
		if err != nil {
			return nil, fmt.Errorf("section %d at offset %d: %w", s.id, s.start, err)
		}
	}
	if importedMemories+definedMemories > 1 {
		return nil, errors.New("modules with more than one memory are not supported")
	}
	if importedMemories > 0 {
		return nil, errors.New("the module imports its memory; a plugin must define its own")
	}

	byGlobal := map[uint32]string{}
	for _, e := range exports {
		switch e.kind {
		case extGlobal:
			if _, ok := byGlobal[e.index]; !ok {
				byGlobal[e.index] = e.name
			}
		case extMemory:
			if e.index == 0 && m.Memory == "" {
				m.Memory = e.name
			}
		case extFunc:
			m.FuncExports = append(m.FuncExports, e.name)
		}
		if e.name == stopExportName || (len(e.name) > len(globalExportPrefix) && e.name[:len(globalExportPrefix)] == globalExportPrefix) {
			return nil, fmt.Errorf("export name %q is reserved", e.name)
		}
	}
	for i := range m.Globals {
		g := &m.Globals[i]
		if name, ok := byGlobal[g.Index]; ok {
			g.Export = name
			continue
		}
		g.Export = globalExportPrefix + strconv.FormatUint(uint64(g.Index), 10)
		exports = append(exports, export{g.Export, extGlobal, g.Index})
	}
	if m.Memory == "" && definedMemories == 1 {
		m.Memory = memoryExportName
		exports = append(exports, export{m.Memory, extMemory, 0})
	}
	// The stop flag: a new mutable i32 global after all others, exported
	// and restored like them.
	stopIdx := importedGlobals + definedGlobals
	m.Globals = append(m.Globals, wasmGlobal{Index: stopIdx, Type: valI32, Export: stopExportName})
	m.StopGlobal = stopExportName
	exports = append(exports, export{stopExportName, extGlobal, stopIdx})

	var exportContent []byte
	exportContent = appendU32(exportContent, uint32(len(exports)))
	for _, e := range exports {
		exportContent = appendU32(exportContent, uint32(len(e.name)))
		exportContent = append(exportContent, e.name...)
		exportContent = append(exportContent, e.kind)
		exportContent = appendU32(exportContent, e.index)
	}
	var globalContent []byte
	if globalSection >= 0 {
		gs := sections[globalSection]
		gr := &wasmReader{b: bin[:gs.end], pos: gs.body}
		gr.u32()
		globalContent = appendU32(nil, definedGlobals+1)
		globalContent = append(globalContent, bin[gr.pos:gs.end]...)
	} else {
		globalContent = appendU32(nil, 1)
	}
	globalContent = append(globalContent, valI32, 0x01, 0x41, 0x00, 0x0B)

	section := func(out []byte, id byte, content []byte) []byte {
		out = append(out, id)
		out = appendU32(out, uint32(len(content)))
		return append(out, content...)
	}
	afterGlobal := func(id byte) bool {
		return id == secExport || id == secStart || id == secElement || id == secDataCount || id == secCode || id == secData
	}
	out := make([]byte, 0, len(bin)+len(bin)/8+len(exportContent))
	out = append(out, bin[:8]...)
	globalDone, exportDone := false, false
	for _, sec := range sections {
		if sec.id != secCustom && !globalDone && afterGlobal(sec.id) {
			out = section(out, secGlobal, globalContent)
			globalDone = true
		}
		if sec.id != secCustom && !exportDone && afterGlobal(sec.id) && sec.id != secExport {
			out = section(out, secExport, exportContent)
			exportDone = true
		}
		switch sec.id {
		case secGlobal:
			if !globalDone {
				out = section(out, secGlobal, globalContent)
				globalDone = true
			}
		case secExport:
			out = section(out, secExport, exportContent)
			exportDone = true
		case secCode:
			code, loops, err := instrumentCode(bin[sec.body:sec.end], stopIdx, funcParams)
			if err != nil {
				return nil, fmt.Errorf("code section: %w", err)
			}
			m.Loops = loops
			out = section(out, secCode, code)
		default:
			out = append(out, bin[sec.start:sec.end]...)
		}
	}
	if !globalDone {
		out = section(out, secGlobal, globalContent)
	}
	if !exportDone {
		out = section(out, secExport, exportContent)
	}
	m.Binary = out
	return m, nil
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}
