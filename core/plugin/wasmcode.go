package plugin

import (
	"errors"
	"fmt"
)

// Deadlines without wazero's WithCloseOnContextDone: that option makes
// every loop iteration call out to Go (measured here: 25 ns per iteration,
// 20 times a simple loop's own cost). Instead the host instruments the
// start of every loop with a counter in a new local and, every
// fuelInterval iterations, a slow path:
//
//	local.get $n  i32.const 1  i32.add  local.tee $n
//	i32.const fuelInterval-1  i32.and  i32.eqz
//	if
//	  i32.const 0  memory.grow  drop   ;; an exit to Go: lets the Go
//	                                   ;; scheduler stop the thread for GC
//	  global.get $stop
//	  if  unreachable  end             ;; the host raised the stop flag
//	end
//
// The common path is four register operations and a branch. When a call's
// deadline passes or its context is canceled, the host sets the stop flag
// (a new mutable global); the guest traps within fuelInterval iterations.
// The periodic exit matters as much: Go cannot stop a thread running
// compiled wasm, so a loop without exits would block every garbage
// collection of the process, and with it the timer that raises the flag.
// Code without loops runs out on its own (recursion ends in a stack
// overflow). Instrumenting requires decoding every instruction, so the
// decoder below knows the immediates of every opcode wazero's
// CoreFeaturesV2 accepts and refuses the others.

// stopExportName exports the stop flag.
const stopExportName = "__trovato_stop"

// fuelInterval is the number of loop iterations between slow paths; a
// power of two.
const fuelInterval = 1 << 14

// instrumentCode rewrites the code section body (everything after the
// section header). funcParams holds the parameter count of each defined
// function. It refuses instructions that touch a global at or above
// stopIdx, so a module cannot reach the flag.
func instrumentCode(body []byte, stopIdx uint32, funcParams []uint32) ([]byte, int, error) {
	r := &wasmReader{b: body}
	n, err := r.u32()
	if err != nil {
		return nil, 0, err
	}
	if int(n) != len(funcParams) {
		return nil, 0, fmt.Errorf("%d function bodies for %d functions", n, len(funcParams))
	}
	out := appendU32(make([]byte, 0, len(body)+len(body)/4), n)
	loops := 0
	var fn []byte
	for i := range n {
		size, err := r.u32()
		if err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		start := r.pos
		if err := r.skip(int(size)); err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		fr := &wasmReader{b: body[:start+int(size)], pos: start}
		// Locals: vec of (count, type); one i32 is added for the counter.
		nl, err := fr.u32()
		if err != nil {
			return nil, 0, fmt.Errorf("function %d: %w", i, err)
		}
		counter := uint64(funcParams[i])
		declStart := fr.pos
		for range nl {
			c, err := fr.u32()
			if err != nil {
				return nil, 0, fmt.Errorf("function %d: %w", i, err)
			}
			if _, err := fr.byte(); err != nil {
				return nil, 0, fmt.Errorf("function %d: %w", i, err)
			}
			counter += uint64(c)
		}
		if counter >= 50000 {
			return nil, 0, fmt.Errorf("function %d: too many locals", i)
		}
		fn = appendU32(fn[:0], nl+1)
		fn = append(fn, body[declStart:fr.pos]...)
		fn = append(fn, 1, valI32)
		check := loopCheck(uint32(counter), stopIdx)
		for fr.pos < len(fr.b) {
			op := fr.pos
			isLoop, err := fr.instruction(stopIdx)
			if err != nil {
				return nil, 0, fmt.Errorf("function %d at offset %d: %w", i, op-start, err)
			}
			fn = append(fn, fr.b[op:fr.pos]...)
			if isLoop {
				fn = append(fn, check...)
				loops++
			}
		}
		out = appendU32(out, uint32(len(fn)))
		out = append(out, fn...)
	}
	if r.pos != len(body) {
		return nil, 0, errors.New("code section size mismatch")
	}
	return out, loops, nil
}

// loopCheck is the instruction sequence inserted after every loop opcode.
func loopCheck(counter, stopIdx uint32) []byte {
	b := []byte{0x20}
	b = appendU32(b, counter)
	b = append(b, 0x41, 0x01, 0x6A, 0x22) // i32.const 1, i32.add, local.tee
	b = appendU32(b, counter)
	b = append(b, 0x41)
	b = appendSleb32(b, fuelInterval-1)
	b = append(b, 0x71, 0x45, 0x04, 0x40)       // i32.and, i32.eqz, if
	b = append(b, 0x41, 0x00, 0x40, 0x00, 0x1A) // i32.const 0, memory.grow 0, drop
	b = append(b, 0x23)
	b = appendU32(b, stopIdx)
	b = append(b, 0x04, 0x40, 0x00, 0x0B) // if unreachable end
	return append(b, 0x0B)                // end
}

func appendSleb32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// instruction decodes one instruction and reports whether it was a loop.
func (r *wasmReader) instruction(stopIdx uint32) (bool, error) {
	op, err := r.byte()
	if err != nil {
		return false, err
	}
	u32 := func() error { _, err := r.u32(); return err }
	switch {
	case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
		return op == 0x03, r.blockType()
	case op == 0x0C || op == 0x0D || op == 0x10 || op == 0xD2: // br, br_if, call, ref.func
		return false, u32()
	case op == 0x0E: // br_table
		n, err := r.u32()
		if err != nil {
			return false, err
		}
		for range n + 1 {
			if err := u32(); err != nil {
				return false, err
			}
		}
		return false, nil
	case op == 0x11: // call_indirect
		if err := u32(); err != nil {
			return false, err
		}
		return false, u32()
	case op == 0x1C: // select t*
		n, err := r.u32()
		if err != nil {
			return false, err
		}
		return false, r.skip(int(n))
	case op >= 0x20 && op <= 0x22: // local.get/set/tee
		return false, u32()
	case op == 0x23 || op == 0x24: // global.get/set
		idx, err := r.u32()
		if err != nil {
			return false, err
		}
		if idx >= stopIdx {
			return false, fmt.Errorf("global index %d out of range", idx)
		}
		return false, nil
	case op == 0x25 || op == 0x26: // table.get/set
		return false, u32()
	case op >= 0x28 && op <= 0x3E: // loads and stores
		return false, r.memarg()
	case op == 0x3F || op == 0x40: // memory.size, memory.grow
		return false, r.memIndex()
	case op == 0x41:
		return false, r.skipSleb(32)
	case op == 0x42:
		return false, r.skipSleb(64)
	case op == 0x43:
		return false, r.skip(4)
	case op == 0x44:
		return false, r.skip(8)
	case op == 0xD0: // ref.null
		_, err := r.byte()
		return false, err
	case op == 0xFC:
		return false, r.prefixFC()
	case op == 0xFD:
		return false, r.prefixFD()
	case op <= 0x01 || op == 0x05 || op == 0x0B || op == 0x0F || op == 0x1A || op == 0x1B ||
		(op >= 0x45 && op <= 0xC4) || op == 0xD1:
		return false, nil
	case op == 0x12 || op == 0x13:
		return false, errors.New("tail calls are not supported")
	case op >= 0x06 && op <= 0x09 || op == 0x18 || op == 0x19 || op == 0x1F:
		return false, errors.New("exception handling is not supported")
	case op == 0xFE:
		return false, errors.New("threads and atomics are not supported")
	}
	return false, fmt.Errorf("unknown opcode 0x%02x", op)
}

func (r *wasmReader) blockType() error {
	if r.pos >= len(r.b) {
		return errWasmTruncated
	}
	switch r.b[r.pos] {
	case 0x40, valI32, valI64, valF32, valF64, valV128, valFuncref, valExternref:
		r.pos++
		return nil
	}
	return r.skipSleb(33) // a type index
}

func (r *wasmReader) memarg() error {
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		return errors.New("multiple memories are not supported")
	}
	_, err = r.uleb(64)
	return err
}

func (r *wasmReader) memIndex() error {
	idx, err := r.u32()
	if err == nil && idx != 0 {
		err = errors.New("multiple memories are not supported")
	}
	return err
}

func (r *wasmReader) prefixFC() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7: // saturating truncations
		return nil
	case sub == 8: // memory.init
		if _, err := r.u32(); err != nil {
			return err
		}
		return r.memIndex()
	case sub == 9 || sub == 13 || sub == 15 || sub == 16 || sub == 17: // data.drop, elem.drop, table.grow/size/fill
		_, err := r.u32()
		return err
	case sub == 10: // memory.copy
		if err := r.memIndex(); err != nil {
			return err
		}
		return r.memIndex()
	case sub == 11: // memory.fill
		return r.memIndex()
	case sub == 12 || sub == 14: // table.init, table.copy
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err := r.u32()
		return err
	}
	return fmt.Errorf("unknown opcode 0xfc %d", sub)
}

func (r *wasmReader) prefixFD() error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // loads, store, load_zero
		return r.memarg()
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load/store lane
		if err := r.memarg(); err != nil {
			return err
		}
		return r.skip(1)
	case sub <= 0xFF:
		return nil
	}
	return fmt.Errorf("unknown opcode 0xfd %d", sub)
}
