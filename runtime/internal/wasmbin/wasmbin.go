// Package wasmbin rewrites the few parts of a WebAssembly binary the runtime needs
// changed: the emscripten engine imports its linear memory, which a wazero host module
// cannot provide, and a snapshot-restored instance must not re-apply data segments.
package wasmbin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	secImport = 2
	secMemory = 5
	secExport = 7
	secStart  = 8
	secData   = 11

	kindMemory = 2
)

var header = []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}

type section struct {
	id      byte
	payload []byte
}

// Limits are a memory's page counts.
type Limits struct {
	Min, Max uint32
	HasMax   bool
}

// Rewritten is the result of OwnMemory.
type Rewritten struct {
	// Binary defines and exports its memory as "memory" instead of importing it.
	Binary []byte
	// Memory are the limits of the memory import that was replaced.
	Memory Limits
	// ImportModule and ImportName name the replaced memory import.
	ImportModule, ImportName string
}

// OwnMemory replaces the module's imported memory with a defined memory of the same
// limits, exported as "memory". With forSnapshot, the result is meant to run over a
// memory restored from a snapshot: every data segment is emptied (the segments stay,
// so indices and validation are unchanged) and the start function is removed, since
// both would re-initialize C state the snapshot already holds.
func OwnMemory(bin []byte, forSnapshot bool) (Rewritten, error) {
	secs, err := parse(bin)
	if err != nil {
		return Rewritten{}, err
	}
	var out Rewritten
	found := false
	var result []section
	for _, s := range secs {
		switch s.id {
		case secImport:
			p, lim, mod, name, ok, err := dropMemoryImport(s.payload)
			if err != nil {
				return Rewritten{}, fmt.Errorf("import section: %w", err)
			}
			if !ok {
				return Rewritten{}, errors.New("module does not import a memory")
			}
			found = true
			out.Memory, out.ImportModule, out.ImportName = lim, mod, name
			result = append(result, section{secImport, p})
		case secMemory:
			return Rewritten{}, errors.New("module already defines a memory")
		case secExport:
			if !found {
				return Rewritten{}, errors.New("export section before import section")
			}
			p, err := addMemoryExport(s.payload)
			if err != nil {
				return Rewritten{}, fmt.Errorf("export section: %w", err)
			}
			result = append(result, section{secExport, p})
		case secStart:
			if !forSnapshot {
				result = append(result, s)
			}
		case secData:
			if forSnapshot {
				p, err := emptyDataSegments(s.payload)
				if err != nil {
					return Rewritten{}, fmt.Errorf("data section: %w", err)
				}
				s.payload = p
			}
			result = append(result, s)
		default:
			result = append(result, s)
		}
	}
	if !found {
		return Rewritten{}, errors.New("module does not import a memory")
	}
	result = insertMemorySection(result, out.Memory)
	out.Binary = encode(result)
	return out, nil
}

// insertMemorySection places the memory section in canonical order: after type,
// import, function and table sections (ids 1-4), before everything else but customs.
func insertMemorySection(secs []section, lim Limits) []section {
	var p []byte
	p = appendU32(p, 1)
	if lim.HasMax {
		p = append(p, 1)
		p = appendU32(p, lim.Min)
		p = appendU32(p, lim.Max)
	} else {
		p = append(p, 0)
		p = appendU32(p, lim.Min)
	}
	at := len(secs)
	for i, s := range secs {
		if s.id > 4 { // custom sections (0) may sit anywhere
			at = i
			break
		}
	}
	out := make([]section, 0, len(secs)+1)
	out = append(out, secs[:at]...)
	out = append(out, section{secMemory, p})
	return append(out, secs[at:]...)
}

func parse(bin []byte) ([]section, error) {
	if !bytes.HasPrefix(bin, header) {
		return nil, errors.New("not a wasm binary (bad magic or version)")
	}
	r := &reader{b: bin[len(header):]}
	var secs []section
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		p, err := r.take(int(n))
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		secs = append(secs, section{id, p})
	}
	return secs, nil
}

func encode(secs []section) []byte {
	out := append([]byte(nil), header...)
	for _, s := range secs {
		out = append(out, s.id)
		out = appendU32(out, uint32(len(s.payload)))
		out = append(out, s.payload...)
	}
	return out
}

func dropMemoryImport(p []byte) (out []byte, lim Limits, mod, name string, found bool, err error) {
	r := &reader{b: p}
	n, err := r.u32()
	if err != nil {
		return nil, lim, "", "", false, err
	}
	var kept [][]byte
	for i := uint32(0); i < n; i++ {
		start := r.pos
		m, err := r.name()
		if err != nil {
			return nil, lim, "", "", false, err
		}
		f, err := r.name()
		if err != nil {
			return nil, lim, "", "", false, err
		}
		kind, err := r.byte()
		if err != nil {
			return nil, lim, "", "", false, err
		}
		var l Limits
		switch kind {
		case 0: // func: type index
			_, err = r.u32()
		case 1: // table: reftype + limits
			if _, err = r.byte(); err == nil {
				l, err = r.limits()
			}
		case 2:
			l, err = r.limits()
		case 3: // global: valtype + mut
			_, err = r.take(2)
		default:
			err = fmt.Errorf("unknown import kind %d", kind)
		}
		if err != nil {
			return nil, lim, "", "", false, err
		}
		if kind == kindMemory {
			if found {
				return nil, lim, "", "", false, errors.New("more than one memory import")
			}
			found, lim, mod, name = true, l, m, f
			continue
		}
		kept = append(kept, p[start:r.pos])
	}
	out = appendU32(nil, uint32(len(kept)))
	for _, k := range kept {
		out = append(out, k...)
	}
	return out, lim, mod, name, found, nil
}

func addMemoryExport(p []byte) ([]byte, error) {
	r := &reader{b: p}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	entries := r.pos
	for i := uint32(0); i < n; i++ {
		name, err := r.name()
		if err != nil {
			return nil, err
		}
		if name == "memory" {
			return nil, errors.New(`an export is already named "memory"`)
		}
		if _, err := r.byte(); err != nil {
			return nil, err
		}
		if _, err := r.u32(); err != nil {
			return nil, err
		}
	}
	out := appendU32(nil, n+1)
	out = append(out, p[entries:]...)
	out = appendU32(out, uint32(len("memory")))
	out = append(out, "memory"...)
	out = append(out, kindMemory)
	return appendU32(out, 0), nil
}

func emptyDataSegments(p []byte) ([]byte, error) {
	r := &reader{b: p}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	out := appendU32(nil, n)
	for i := uint32(0); i < n; i++ {
		start := r.pos
		flag, err := r.u32()
		if err != nil {
			return nil, err
		}
		switch flag {
		case 0:
			err = r.constExpr()
		case 1:
		case 2:
			if _, err = r.u32(); err == nil {
				err = r.constExpr()
			}
		default:
			err = fmt.Errorf("unknown data segment flag %d", flag)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p[start:r.pos]...)
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if _, err := r.take(int(size)); err != nil {
			return nil, err
		}
		out = appendU32(out, 0)
	}
	return out, nil
}

type reader struct {
	b   []byte
	pos int
}

func (r *reader) done() bool { return r.pos >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errors.New("unexpected end of binary")
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || r.pos+n > len(r.b) {
		return nil, errors.New("unexpected end of binary")
	}
	p := r.b[r.pos : r.pos+n]
	r.pos += n
	return p, nil
}

func (r *reader) u32() (uint32, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 || v > 0xffffffff {
		return 0, errors.New("bad LEB128 integer")
	}
	r.pos += n
	return uint32(v), nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.take(int(n))
	return string(b), err
}

func (r *reader) limits() (Limits, error) {
	flag, err := r.byte()
	if err != nil {
		return Limits{}, err
	}
	if flag > 1 {
		return Limits{}, fmt.Errorf("unsupported limits flag %#x (shared or 64-bit memory)", flag)
	}
	var l Limits
	if l.Min, err = r.u32(); err != nil {
		return l, err
	}
	if flag == 1 {
		l.HasMax = true
		l.Max, err = r.u32()
	}
	return l, err
}

// constExpr skips a constant expression (i32/i64.const or global.get, then end).
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b:
			return nil
		case 0x41, 0x42, 0x23: // i32.const, i64.const, global.get: one LEB128 operand
			for {
				c, err := r.byte()
				if err != nil {
					return err
				}
				if c&0x80 == 0 {
					break
				}
			}
		default:
			return fmt.Errorf("unsupported opcode %#x in constant expression", op)
		}
	}
}

func appendU32(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }
