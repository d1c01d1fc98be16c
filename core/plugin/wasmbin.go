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
	Globals       []wasmGlobal // every module-defined mutable global
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

// parseWasm reads a module's sections and rewrites its export section so
// that every mutable global and memory 0 are exported. It rejects modules
// whose state the pool could not restore (mutable v128 or reference
// globals, more than one memory).
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
	var importedGlobals, importedMemories, definedMemories uint32
	type export struct {
		name  string
		kind  byte
		index uint32
	}
	var exports []export
	exportSection := -1
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
		case secGlobal:
			err = func() error {
				n, err := sr.u32()
				if err != nil {
					return err
				}
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
			exportSection = i
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
		if err == nil && s.id != secCustom && sr.pos != s.end && (s.id == secImport || s.id == secGlobal || s.id == secExport) {
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
	}
	added := 0
	for i := range m.Globals {
		g := &m.Globals[i]
		if name, ok := byGlobal[g.Index]; ok {
			g.Export = name
			continue
		}
		g.Export = globalExportPrefix + strconv.FormatUint(uint64(g.Index), 10)
		exports = append(exports, export{g.Export, extGlobal, g.Index})
		added++
	}
	if m.Memory == "" && definedMemories == 1 {
		m.Memory = memoryExportName
		exports = append(exports, export{m.Memory, extMemory, 0})
		added++
	}
	if added == 0 {
		m.Binary = bin
		return m, nil
	}

	var content []byte
	content = appendU32(content, uint32(len(exports)))
	for _, e := range exports {
		content = appendU32(content, uint32(len(e.name)))
		content = append(content, e.name...)
		content = append(content, e.kind)
		content = appendU32(content, e.index)
	}
	section := []byte{secExport}
	section = appendU32(section, uint32(len(content)))
	section = append(section, content...)

	out := make([]byte, 0, len(bin)+len(section))
	if exportSection >= 0 {
		s := sections[exportSection]
		out = append(out, bin[:s.start]...)
		out = append(out, section...)
		out = append(out, bin[s.end:]...)
	} else {
		// Insert before the first section that must follow exports.
		at := len(bin)
		for _, s := range sections {
			if s.id == secStart || s.id == secElement || s.id == secDataCount || s.id == secCode || s.id == secData {
				at = s.start
				break
			}
		}
		out = append(out, bin[:at]...)
		out = append(out, section...)
		out = append(out, bin[at:]...)
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
