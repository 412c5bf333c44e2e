package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/experimental"

	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/runtime/internal/cowmem"
)

// Bundle is a reactor version's code as the runtime runs it.
type Bundle struct {
	// Image names the runtime image ("" means node-bt).
	Image string
	// Code is one CommonJS script whose module.exports is the handler.
	Code []byte
	// Filename appears in stack traces; "" means "reactor.js".
	Filename string
	// Limits bound evaluating the code: its Memory and Timeout are used, and should be
	// those of the reactor the code belongs to, so code that is only being checked
	// gets no more than it would when it runs. Zero fields mean the largest tier's
	// memory and 10 s.
	Limits Limits
}

// CodeError reports reactor code that cannot be loaded: a syntax error, an error
// thrown while its module body ran, or no exported function.
type CodeError struct{ Message string }

func (e *CodeError) Error() string { return e.Message }

// pointers locate, inside a snapshot's memory, what the host calls. They are the same
// in every instance restored from the snapshot.
type pointers struct {
	rt, ctx, global, undefined uint32
	load, invoke, warm, tick   uint32 // owned JSValue* of the Node layer's functions
	argv, lastCtx              uint32 // scratch: 4 argument pointers, one JSContext*
}

type baseSnapshot struct {
	image cowmem.Image
	ptrs  pointers
}

// loadTimeout bounds evaluating a reactor's module body.
const loadTimeout = 10 * time.Second

// maxStackSize bounds QuickJS's C stack. Native recursion in JSON.stringify and
// JSON.parse is quadratic in nesting depth and never reaches the interrupt handler;
// this limit caps the depth, and with it such a call, at about 2 s on this engine
// (JS recursion then stops at ~1,600 frames with a RangeError).
const maxStackSize = 256 << 10

// maxMemory is the largest limit any instance may have: snapshots are built under it.
const maxMemory = 1 << 30

func contextWithAllocator(ctx context.Context, mem cowmem.Memory) context.Context {
	return experimental.WithMemoryAllocator(ctx, cowmem.Allocator{Mem: mem})
}

// buildBase boots the engine, installs the host bridge and evaluates the image's Node
// layer, then freezes the memory.
func (e *Engine) buildBase(ctx context.Context, img images.Image) (*baseSnapshot, error) {
	mem, err := cowmem.NewMemory(maxMemory, e.mode)
	if err != nil {
		return nil, err
	}
	v, err := e.instantiate(ctx, mem, false)
	if err != nil {
		mem.Free()
		return nil, err
	}
	defer v.mod.Close(ctx)
	inv := newInvocation(e, Limits{MaxLogs: DefaultMaxLogs})
	st := &hostState{inv: inv, vm: v}
	ctx = context.WithValue(ctx, hostStateKey{}, st)

	if _, err := v.c(ctx, v.fn.ctors); err != nil {
		return nil, fmt.Errorf("engine constructors: %w", err)
	}
	var p pointers
	if p.rt, err = v.c(ctx, v.fn.newRuntime); err != nil || p.rt == 0 {
		return nil, fmt.Errorf("new runtime: %w", errors.Join(err, errOutOfMemory))
	}
	if p.ctx, err = v.c(ctx, v.fn.newContext, p.rt, 0); err != nil || p.ctx == 0 {
		return nil, fmt.Errorf("new context: %w", errors.Join(err, errOutOfMemory))
	}
	if _, err := v.c(ctx, v.fn.enableInterrupt, p.rt); err != nil {
		return nil, err
	}
	if _, err := v.c(ctx, v.fn.setMaxStack, p.rt, maxStackSize); err != nil {
		return nil, err
	}
	if p.undefined, err = v.c(ctx, v.fn.getUndefined); err != nil {
		return nil, err
	}
	if p.argv, err = v.c(ctx, v.fn.malloc, 16); err != nil || p.argv == 0 {
		return nil, errors.Join(err, errOutOfMemory)
	}
	if p.lastCtx, err = v.c(ctx, v.fn.malloc, 4); err != nil || p.lastCtx == 0 {
		return nil, errors.Join(err, errOutOfMemory)
	}
	if p.global, err = v.c(ctx, v.fn.getGlobal, p.ctx); err != nil {
		return nil, err
	}
	name, err := v.cstring(ctx, []byte("__host"))
	if err != nil {
		return nil, err
	}
	host, err := v.c(ctx, v.fn.newFunction, p.ctx, name, 2, 0, hostRefHost)
	if err != nil {
		return nil, err
	}
	if _, err := v.checked(ctx, p.ctx, host); err != nil {
		return nil, err
	}
	if err := v.setProp(ctx, p.ctx, p.global, "__host", host); err != nil {
		return nil, err
	}
	if err := v.freeValue(ctx, p.ctx, host); err != nil {
		return nil, err
	}
	if _, err := v.c(ctx, v.fn.free, name); err != nil {
		return nil, err
	}
	res, err := v.eval(ctx, p.ctx, []byte(img.Layer), "node:"+img.Name)
	if err != nil {
		return nil, fmt.Errorf("evaluate Node layer: %w", err)
	}
	if err := v.freeValue(ctx, p.ctx, res); err != nil {
		return nil, err
	}
	if err := v.runJobs(ctx, p.rt, p.ctx, p.lastCtx); err != nil {
		return nil, fmt.Errorf("evaluate Node layer: %w", err)
	}
	check, err := v.eval(ctx, p.ctx, []byte(`typeof __reactor === "object" && ["load", "invoke", "warm", "tick"].every(k => typeof __reactor[k] === "function") ? 1 : 0`), "node:check")
	if err != nil {
		return nil, err
	}
	ok, err := v.number(ctx, p.ctx, check)
	if err := errors.Join(err, v.freeValue(ctx, p.ctx, check)); err != nil {
		return nil, err
	}
	if ok != 1 {
		return nil, errors.New("the Node layer did not define __reactor.load, invoke, warm and tick (docs/host-abi.md)")
	}
	reactor, err := v.getProp(ctx, p.ctx, p.global, "__reactor")
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *uint32
	}{{"load", &p.load}, {"invoke", &p.invoke}, {"warm", &p.warm}, {"tick", &p.tick}} {
		if *f.dst, err = v.getProp(ctx, p.ctx, reactor, f.name); err != nil {
			return nil, fmt.Errorf("Node layer: __reactor.%s: %w", f.name, err)
		}
	}
	if err := v.freeValue(ctx, p.ctx, reactor); err != nil {
		return nil, err
	}
	image, err := cowmem.NewImage(mem.Bytes(), e.mode)
	if err != nil {
		return nil, err
	}
	return &baseSnapshot{image: image, ptrs: p}, nil
}

// Snapshot is a reactor version ready to run: the engine, the image's Node layer and
// the reactor's code evaluated once and frozen. Instances start from it.
type Snapshot struct {
	eng   *Engine
	img   images.Image
	image cowmem.Image
	ptrs  pointers

	// Hash identifies the image layer and code the snapshot holds.
	Hash string
	// BuildTime is how long evaluating the code and freezing the memory took.
	BuildTime time.Duration
	// Logs is console output the code printed while loading.
	Logs []LogLine
}

// Image is the runtime image the snapshot runs on.
func (s *Snapshot) Image() images.Image { return s.img }

// Load evaluates a bundle on its image's base snapshot and freezes the result. A
// *CodeError reports code that cannot run (syntax error, no exported function).
func (e *Engine) Load(ctx context.Context, b Bundle) (*Snapshot, error) {
	if !e.enter() {
		return nil, ErrClosed
	}
	defer e.inflight.Done()
	img, err := e.cfg.Images(b.Image)
	if err != nil {
		return nil, err
	}
	base, err := e.base(ctx, img)
	if err != nil {
		return nil, err
	}
	memLimit, timeout := uint64(maxMemory), loadTimeout
	if b.Limits.Memory > 0 {
		memLimit = min(b.Limits.Memory, maxMemory)
	}
	if b.Limits.Timeout > 0 {
		timeout = b.Limits.Timeout
	}
	if err := e.acquireLoad(ctx); err != nil {
		return nil, err
	}
	defer e.releaseLoad()
	start := time.Now()
	mem, err := base.image.NewMemory(memLimit)
	if errors.Is(err, cowmem.ErrLimit) {
		return nil, &CodeError{Message: fmt.Sprintf("the %s image does not fit a memory limit of %d MiB", img.Name, memLimit>>20)}
	}
	if err != nil {
		return nil, err
	}
	v, err := e.instantiate(ctx, mem, true)
	if err != nil {
		mem.Free()
		return nil, err
	}
	defer v.mod.Close(ctx)
	// Tell wazero the memory's length when the base image is longer than a blank memory
	// (a layer whose evaluation grew the heap past the module's initial pages).
	if !v.growTo(uint32(base.image.Size())) {
		return nil, errors.New("runtime: cannot size the memory to the image's base snapshot")
	}
	p := base.ptrs
	lim := Limits{Memory: memLimit, Timeout: timeout, MaxLogs: DefaultMaxLogs}
	inv := newInvocation(e, lim)
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	inv.interruptOn(lctx) // a module body that never ends cannot hang a load
	defer inv.stop()
	ctx = context.WithValue(ctx, hostStateKey{}, &hostState{inv: inv, vm: v})
	if _, err := v.c(ctx, v.fn.setMemoryLimit, p.rt, uint32(heapLimit(memLimit))); err != nil {
		return nil, err
	}

	filename := b.Filename
	if filename == "" {
		filename = "reactor.js"
	}
	// The wrapper keeps the code's line numbers: it adds no line before the code.
	src := make([]byte, 0, len(b.Code)+96)
	src = append(src, "(function (exports, require, module, __filename, __dirname) {"...)
	src = append(src, b.Code...)
	src = append(src, "\n})"...)
	wrapper, err := v.eval(ctx, p.ctx, src, filename)
	if err != nil {
		return nil, loadError(inv, mem, err)
	}
	msg, err := v.call(ctx, p.ctx, p.undefined, p.argv, p.load, wrapper)
	if ferr := v.freeValue(ctx, p.ctx, wrapper); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, loadError(inv, mem, err)
	}
	text, err := v.toString(ctx, p.ctx, msg)
	if ferr := v.freeValue(ctx, p.ctx, msg); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, err
	}
	if len(text) > 0 {
		return nil, &CodeError{Message: string(text)}
	}
	if err := v.runJobs(ctx, p.rt, p.ctx, p.lastCtx); err != nil {
		return nil, loadError(inv, mem, err)
	}
	if mem.AtLimit() { // exhausted, even if the code caught the error
		return nil, loadError(inv, mem, errOutOfMemory)
	}
	image, err := cowmem.NewImage(mem.Bytes(), e.mode)
	if err != nil {
		return nil, err
	}
	cowmem.Derive(image, base.image)
	return &Snapshot{
		eng: e, img: img, image: image, ptrs: p,
		Hash:      contentHash([]byte(img.Name), []byte(img.Layer), b.Code),
		BuildTime: time.Since(start),
		Logs:      inv.logs,
	}, nil
}

func loadError(inv *invocation, mem cowmem.Memory, err error) error {
	var js *jsError
	switch {
	case inv.isInterrupted():
		return &CodeError{Message: fmt.Sprintf("reactor code did not finish loading within %s", inv.limits.Timeout)}
	case errors.Is(err, errOutOfMemory), mem.AtLimit(),
		errors.As(err, &js) && strings.Contains(js.msg, "out of memory"):
		return &CodeError{Message: fmt.Sprintf("reactor code exceeded its memory limit of %d MiB while loading", inv.limits.Memory>>20)}
	case errors.As(err, &js):
		return &CodeError{Message: js.msg}
	}
	return err
}

// Close releases the snapshot's memory image. Instances made from it keep working
// until closed.
func (s *Snapshot) Close() error { return s.image.Close() }
