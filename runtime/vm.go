package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tetratelabs/wazero/api"

	"github.com/reactord/reactord/runtime/internal/cowmem"
	"github.com/reactord/reactord/runtime/internal/engine"
)

// vm wraps one engine wasm instance: typed calls into the QuickJS C API by pointer.
// JSValue* pointers it hands out are heap cells in the instance's memory.
type vm struct {
	mod   api.Module
	mem   cowmem.Memory
	fn    vmFuncs
	stack []uint64 // scratch for CallWithStack; sized for the widest signature
}

type vmFuncs struct {
	malloc, free                             api.Function
	newRuntime, newContext, setMemoryLimit   api.Function
	enableInterrupt, setMaxStack             api.Function
	newString, getString, freeCString        api.Function
	newFunction, newError, throw             api.Function
	getGlobal, getProp, setProp              api.Function
	eval, call, resolveException, dump       api.Function
	freeValue, executePendingJob, getFloat64 api.Function
	getUndefined, argvPointer                api.Function
	ctors                                    api.Function
}

func bindFuncs(mod api.Module) (vmFuncs, error) {
	var f vmFuncs
	var errs []error
	get := func(name string) api.Function {
		var export string
		if name == "ctors" {
			export = engine.CtorsExport
		} else {
			fn, err := engine.Export(name)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			export = fn.Export
		}
		fn := mod.ExportedFunction(export)
		if fn == nil {
			errs = append(errs, fmt.Errorf("engine does not export %s (%s)", name, export))
		}
		return fn
	}
	f.malloc, f.free = get("malloc"), get("free")
	f.newRuntime, f.newContext = get("QTS_NewRuntime"), get("QTS_NewContext")
	f.setMemoryLimit = get("QTS_RuntimeSetMemoryLimit")
	f.enableInterrupt = get("QTS_RuntimeEnableInterruptHandler")
	f.setMaxStack = get("QTS_RuntimeSetMaxStackSize")
	f.newString, f.getString, f.freeCString = get("QTS_NewString"), get("QTS_GetString"), get("QTS_FreeCString")
	f.newFunction, f.newError, f.throw = get("QTS_NewFunction"), get("QTS_NewError"), get("QTS_Throw")
	f.getGlobal, f.getProp, f.setProp = get("QTS_GetGlobalObject"), get("QTS_GetProp"), get("QTS_SetProp")
	f.eval, f.call = get("QTS_Eval"), get("QTS_Call")
	f.resolveException, f.dump = get("QTS_ResolveException"), get("QTS_Dump")
	f.freeValue, f.executePendingJob = get("QTS_FreeValuePointer"), get("QTS_ExecutePendingJob")
	f.getFloat64, f.getUndefined = get("QTS_GetFloat64"), get("QTS_GetUndefined")
	f.argvPointer = get("QTS_ArgvGetJSValueConstPointer")
	f.ctors = get("ctors")
	return f, errors.Join(errs...)
}

func newVM(mod api.Module, mem cowmem.Memory) (*vm, error) {
	fns, err := bindFuncs(mod)
	if err != nil {
		return nil, err
	}
	return &vm{mod: mod, mem: mem, fn: fns, stack: make([]uint64, 8)}, nil
}

// c calls fn with i32 arguments and returns its first result (0 for void).
func (v *vm) c(ctx context.Context, fn api.Function, args ...uint32) (uint32, error) {
	s := v.stack[:max(len(args), 1)]
	for i, a := range args {
		s[i] = uint64(a)
	}
	if err := fn.CallWithStack(ctx, s); err != nil {
		return 0, err
	}
	return uint32(s[0]), nil
}

// cstring copies s into a fresh malloc'd, NUL-terminated buffer.
func (v *vm) cstring(ctx context.Context, s []byte) (uint32, error) {
	if bytes.IndexByte(s, 0) >= 0 {
		return 0, errors.New("string contains a NUL byte")
	}
	p, err := v.c(ctx, v.fn.malloc, uint32(len(s)+1))
	if err != nil {
		return 0, err
	}
	if p == 0 {
		return 0, errOutOfMemory
	}
	mem := v.mod.Memory()
	if !mem.Write(p, s) || !mem.WriteByte(p+uint32(len(s)), 0) {
		return 0, errors.New("cstring: write out of range")
	}
	return p, nil
}

// readCString returns a copy of the NUL-terminated string at p.
func (v *vm) readCString(p uint32) ([]byte, error) {
	buf := v.mem.Bytes()
	if int(p) >= len(buf) {
		return nil, errors.New("string pointer out of range")
	}
	n := bytes.IndexByte(buf[p:], 0)
	if n < 0 {
		return nil, errors.New("unterminated string")
	}
	return bytes.Clone(buf[p : int(p)+n]), nil
}

// newString returns an owned JSValue* holding s.
func (v *vm) newString(ctx context.Context, jsctx uint32, s []byte) (uint32, error) {
	p, err := v.cstring(ctx, s)
	if err != nil {
		return 0, err
	}
	val, err := v.c(ctx, v.fn.newString, jsctx, p)
	if _, ferr := v.c(ctx, v.fn.free, p); err == nil {
		err = ferr
	}
	if err == nil && val == 0 {
		err = errOutOfMemory
	}
	return val, err
}

// toString converts the JSValue at val with ToString and returns it.
func (v *vm) toString(ctx context.Context, jsctx, val uint32) ([]byte, error) {
	p, err := v.c(ctx, v.fn.getString, jsctx, val)
	if err != nil {
		return nil, err
	}
	if p == 0 {
		return nil, errors.New("value cannot be converted to a string")
	}
	s, rerr := v.readCString(p)
	_, err = v.c(ctx, v.fn.freeCString, jsctx, p)
	return s, errors.Join(rerr, err)
}

func (v *vm) freeValue(ctx context.Context, jsctx, val uint32) error {
	if val == 0 {
		return nil
	}
	_, err := v.c(ctx, v.fn.freeValue, jsctx, val)
	return err
}

// number reads the JSValue at val as a float64.
func (v *vm) number(ctx context.Context, jsctx, val uint32) (float64, error) {
	s := v.stack[:2]
	s[0], s[1] = uint64(jsctx), uint64(val)
	if err := v.fn.getFloat64.CallWithStack(ctx, s); err != nil {
		return 0, err
	}
	return math.Float64frombits(s[0]), nil
}

// exception returns an owned JSValue* of the pending exception if val is the
// exception marker, else 0.
func (v *vm) exception(ctx context.Context, jsctx, val uint32) (uint32, error) {
	return v.c(ctx, v.fn.resolveException, jsctx, val)
}

// describe renders a thrown value for diagnostics (name, message, stack as JSON).
func (v *vm) describe(ctx context.Context, jsctx, val uint32) string {
	p, err := v.c(ctx, v.fn.dump, jsctx, val)
	if err != nil || p == 0 {
		return "unknown error"
	}
	s, err := v.readCString(p)
	v.c(ctx, v.fn.freeCString, jsctx, p) //nolint:errcheck // best effort in a diagnostic path
	if err != nil {
		return "unknown error"
	}
	var e struct{ Name, Message, Stack string }
	if json.Unmarshal(s, &e) != nil || e.Name == "" {
		return string(s)
	}
	msg := e.Name + ": " + e.Message
	for _, line := range strings.Split(strings.TrimRight(e.Stack, "\n"), "\n") {
		// The layer's stacks repeat the message first; its own frames (node:...) are
		// the runtime's business, not the reactor author's.
		if line == "" || line == msg || strings.Contains(line, "(node:") || strings.Contains(line, " node:") {
			continue
		}
		msg += "\n" + line
	}
	return msg
}

// getProp returns an owned JSValue* of obj[name].
func (v *vm) getProp(ctx context.Context, jsctx, obj uint32, name string) (uint32, error) {
	key, err := v.newString(ctx, jsctx, []byte(name))
	if err != nil {
		return 0, err
	}
	val, err := v.c(ctx, v.fn.getProp, jsctx, obj, key)
	return val, errors.Join(err, v.freeValue(ctx, jsctx, key))
}

// setProp sets obj[name] = val (val is borrowed).
func (v *vm) setProp(ctx context.Context, jsctx, obj uint32, name string, val uint32) error {
	key, err := v.newString(ctx, jsctx, []byte(name))
	if err != nil {
		return err
	}
	_, err = v.c(ctx, v.fn.setProp, jsctx, obj, key, val)
	return errors.Join(err, v.freeValue(ctx, jsctx, key))
}

// eval evaluates code as a global script and returns an owned JSValue* of its
// completion value, or a *jsError.
func (v *vm) eval(ctx context.Context, jsctx uint32, code []byte, filename string) (uint32, error) {
	cp, err := v.cstring(ctx, code)
	if err != nil {
		return 0, err
	}
	defer v.c(ctx, v.fn.free, cp) //nolint:errcheck // freeing scratch; a failure surfaces on the next call
	fp, err := v.cstring(ctx, []byte(filename))
	if err != nil {
		return 0, err
	}
	defer v.c(ctx, v.fn.free, fp) //nolint:errcheck
	val, err := v.c(ctx, v.fn.eval, jsctx, cp, uint32(len(code)), fp, 0, 0)
	if err != nil {
		return 0, err
	}
	return v.checked(ctx, jsctx, val)
}

// checked turns the exception marker into a *jsError, freeing both values.
func (v *vm) checked(ctx context.Context, jsctx, val uint32) (uint32, error) {
	if val == 0 {
		return 0, errOutOfMemory
	}
	exc, err := v.exception(ctx, jsctx, val)
	if err != nil {
		return 0, err
	}
	if exc == 0 {
		return val, nil
	}
	msg := v.describe(ctx, jsctx, exc)
	return 0, errors.Join(&jsError{msg: msg}, v.freeValue(ctx, jsctx, exc), v.freeValue(ctx, jsctx, val))
}

// call calls fn(args...) with this = undefined; args are borrowed JSValue*s. argv is
// scratch memory in the instance for up to 4 pointers.
func (v *vm) call(ctx context.Context, jsctx, undefined, argv, fn uint32, args ...uint32) (uint32, error) {
	mem := v.mod.Memory()
	for i, a := range args {
		if !mem.WriteUint32Le(argv+uint32(4*i), a) {
			return 0, errors.New("argv out of range")
		}
	}
	val, err := v.c(ctx, v.fn.call, jsctx, fn, undefined, uint32(len(args)), argv)
	if err != nil {
		return 0, err
	}
	return v.checked(ctx, jsctx, val)
}

// growTo grows the wasm memory, in whole 64 KiB pages, to at least size bytes; it
// reports false when the memory cannot grow that far.
func (v *vm) growTo(size uint32) bool {
	mem := v.mod.Memory()
	if cur := mem.Size(); size > cur {
		_, ok := mem.Grow((size - cur + 65535) / 65536)
		return ok
	}
	return true
}

// runJobs runs QuickJS's job queue until it is empty.
func (v *vm) runJobs(ctx context.Context, rt, jsctx, lastCtx uint32) error {
	val, err := v.c(ctx, v.fn.executePendingJob, rt, math.MaxUint32, lastCtx) // -1: until empty
	if err != nil {
		return err
	}
	if val == 0 {
		return errOutOfMemory
	}
	n, err := v.number(ctx, jsctx, val)
	if err != nil {
		return err
	}
	if math.IsNaN(n) { // the value is the exception a job threw
		msg := v.describe(ctx, jsctx, val)
		return errors.Join(&jsError{msg: msg}, v.freeValue(ctx, jsctx, val))
	}
	return v.freeValue(ctx, jsctx, val)
}

// jsError is an exception that escaped to the host: a syntax error, an uncatchable
// interrupt, an error thrown by the Node layer itself.
type jsError struct{ msg string }

func (e *jsError) Error() string { return "javascript: " + e.msg }

var errOutOfMemory = errors.New("engine out of memory")
