// Package runtime runs reactor code: QuickJS-NG compiled to WebAssembly under wazero,
// one isolated instance per invocation at a time, started from copy-on-write memory
// snapshots and bounded by the limits of a resource tier.
//
// An Engine compiles the engine wasm once per process. Engine.Load evaluates an image's
// Node layer and a reactor's code once and freezes the result as a Snapshot; instances
// of the snapshot start from that memory instead of re-running any of it, and
// Instance.Reset returns a used instance to it.
package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/runtime/internal/cowmem"
	"github.com/reactord/reactord/runtime/internal/engine"
	"github.com/reactord/reactord/runtime/internal/wasmbin"
)

// AsyncHandler performs a host operation that JavaScript awaits, such as fetch. arg is
// the JSON the Node layer sent; the result is marshalled to JSON for it. Handlers run
// on their own goroutine and must honour ctx, which ends with the invocation.
type AsyncHandler func(ctx context.Context, arg []byte) (any, error)

// Config configures an Engine. The zero value is usable.
type Config struct {
	// CacheDir holds wazero's compilation cache, so a restart skips compiling the
	// engine. Empty means no cache on disk.
	CacheDir string
	// CopyMemory forces the portable memory backing (copy on create and reset)
	// instead of copy-on-write mappings.
	CopyMemory bool
	// Logger receives engine diagnostics; nil means slog.Default().
	Logger *slog.Logger
	// Async names the asynchronous host operations reactor code may start.
	Async map[string]AsyncHandler
	// Images resolves image names; nil means images.Lookup.
	Images func(name string) (images.Image, error)
	// SpareInstances is how many blank instances the engine keeps instantiated per
	// memory limit, so a cold start only maps a snapshot into one. 0 means 2; a
	// negative number disables them.
	SpareInstances int
	// MaxLoads is how many Load calls may evaluate code at once; more wait their
	// turn (or for their context to end). Each holds up to its limits' memory. 0
	// means GOMAXPROCS; a negative number means no bound.
	MaxLoads int
}

// Engine is the compiled engine and the base snapshot of each image. It is safe for
// concurrent use; create one per process.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	rt       wazero.Runtime
	full     wazero.CompiledModule // with data segments: builds base snapshots
	restored wazero.CompiledModule // without: instantiated over snapshot memory
	memLimit uint32                // the module's own maximum, in pages
	mode     cowmem.Mode

	// CompileTime is how long compiling the two engine modules took.
	CompileTime time.Duration

	// inflight counts running invocations: closing the runtime under one would free the
	// memory it is executing in.
	inflight sync.WaitGroup

	// loads holds a token per Load evaluating code (nil: unbounded).
	loads chan struct{}

	mu     sync.Mutex
	bases  map[string]*baseSnapshot
	spares map[uint64]*sparePool
	closed bool
	wg     sync.WaitGroup
}

// sparePool holds blank instances of one memory limit: instantiated, with an unused
// memory, ready to have any snapshot attached.
type sparePool struct {
	ch        chan *vm
	refilling bool
}

// NewEngine compiles the engine. With a warm cache directory this takes tens of
// milliseconds, otherwise about half a second.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	e := &Engine{cfg: cfg, log: cfg.Logger, bases: map[string]*baseSnapshot{}, spares: map[uint64]*sparePool{}}
	if e.cfg.SpareInstances == 0 {
		e.cfg.SpareInstances = 2
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.cfg.MaxLoads == 0 {
		e.cfg.MaxLoads = goruntime.GOMAXPROCS(0)
	}
	if e.cfg.MaxLoads > 0 {
		e.loads = make(chan struct{}, e.cfg.MaxLoads)
	}
	if e.cfg.Images == nil {
		e.cfg.Images = images.Lookup
	}
	if cfg.CopyMemory {
		e.mode = cowmem.ModeCopy
	}
	rcfg := wazero.NewRuntimeConfigCompiler().WithCloseOnContextDone(false)
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.CacheDir, err)
		}
		rcfg = rcfg.WithCompilationCache(cache)
	}
	e.rt = wazero.NewRuntimeWithConfig(ctx, rcfg)
	if err := e.instantiateHost(ctx); err != nil {
		e.rt.Close(ctx)
		return nil, err
	}
	start := time.Now()
	full, err := wasmbin.OwnMemory(engine.Wasm(), false)
	if err != nil {
		e.rt.Close(ctx)
		return nil, fmt.Errorf("rewrite engine wasm: %w", err)
	}
	stripped, err := wasmbin.OwnMemory(engine.Wasm(), true)
	if err != nil {
		e.rt.Close(ctx)
		return nil, fmt.Errorf("rewrite engine wasm: %w", err)
	}
	e.memLimit = full.Memory.Max
	if e.full, err = e.rt.CompileModule(ctx, full.Binary); err != nil {
		e.rt.Close(ctx)
		return nil, fmt.Errorf("compile engine: %w", err)
	}
	if e.restored, err = e.rt.CompileModule(ctx, stripped.Binary); err != nil {
		e.rt.Close(ctx)
		return nil, fmt.Errorf("compile engine: %w", err)
	}
	e.CompileTime = time.Since(start)
	return e, nil
}

// Close waits for running invocations, then releases the engine; snapshots and
// instances made from it must not be used afterwards.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	for _, b := range e.bases {
		b.image.Close()
	}
	e.bases = nil
	e.mu.Unlock()
	e.wg.Wait()
	e.inflight.Wait()
	for _, p := range e.spares {
		close(p.ch)
		for v := range p.ch {
			v.mod.Close(ctx)
		}
	}
	return e.rt.Close(ctx)
}

// enter registers a running invocation; it fails once the engine is closing.
func (e *Engine) enter() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.inflight.Add(1)
	return true
}

// acquireLoad waits for a free Load slot or for ctx to end.
func (e *Engine) acquireLoad(ctx context.Context) error {
	if e.loads == nil {
		return nil
	}
	select {
	case e.loads <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting to load reactor code: %w", ctx.Err())
	}
}

func (e *Engine) releaseLoad() {
	if e.loads != nil {
		<-e.loads
	}
}

// blankInstance returns an instance whose memory (limit bytes at most) is unused,
// from the spares when one is ready, and starts refilling them.
func (e *Engine) blankInstance(ctx context.Context, limit uint64) (*vm, error) {
	if e.cfg.SpareInstances > 0 {
		e.mu.Lock()
		p := e.spares[limit]
		if p == nil && !e.closed {
			p = &sparePool{ch: make(chan *vm, e.cfg.SpareInstances)}
			e.spares[limit] = p
		}
		var v *vm
		if p != nil {
			select {
			case v = <-p.ch:
			default:
			}
			e.refillLocked(limit, p)
		}
		e.mu.Unlock()
		if v != nil {
			return v, nil
		}
	}
	return e.newBlank(ctx, limit)
}

// newBlank instantiates the restored variant over a new, unused memory.
func (e *Engine) newBlank(ctx context.Context, limit uint64) (*vm, error) {
	mem, err := cowmem.NewMemory(limit, e.mode)
	if err != nil {
		return nil, err
	}
	v, err := e.instantiate(ctx, mem, true)
	if err != nil {
		mem.Free()
	}
	return v, err
}

func (e *Engine) refillLocked(limit uint64, p *sparePool) {
	if p.refilling || e.closed || len(p.ch) == cap(p.ch) {
		return
	}
	p.refilling = true
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ctx := context.Background()
		for {
			e.mu.Lock()
			if e.closed || len(p.ch) == cap(p.ch) {
				p.refilling = false
				e.mu.Unlock()
				return
			}
			e.mu.Unlock()
			v, err := e.newBlank(ctx, limit)
			if err != nil {
				e.log.Error("spare instance", "error", err)
				e.mu.Lock()
				p.refilling = false
				e.mu.Unlock()
				return
			}
			p.ch <- v // never blocks: only this goroutine fills, and it checked the room
		}
	}()
}

// instantiate makes an engine instance over mem. Restored instances skip data
// segments and constructors: both are in the snapshot already.
func (e *Engine) instantiate(ctx context.Context, mem cowmem.Memory, restored bool) (*vm, error) {
	compiled := e.full
	if restored {
		compiled = e.restored
	}
	actx := contextWithAllocator(ctx, mem)
	mod, err := e.rt.InstantiateModule(actx, compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("instantiate engine: %w", err)
	}
	v, err := newVM(mod, mem)
	if err != nil {
		mod.Close(ctx)
		return nil, err
	}
	return v, nil
}

// hostState is what host functions called from one wasm instance need: the
// invocation in progress, if any.
type hostState struct {
	inv *invocation
	vm  *vm
}

type hostStateKey struct{}

func stateFrom(ctx context.Context) *hostState {
	s, _ := ctx.Value(hostStateKey{}).(*hostState)
	return s
}

// instantiateHost defines the engine's imports (module "a"). QuickJS only needs a
// clock, a heap that can grow, an interrupt check and the host-call bridge; the
// emscripten file, environment and module-loading imports answer "not supported".
func (e *Engine) instantiateHost(ctx context.Context) error {
	const i32, i64, f64 = api.ValueTypeI32, api.ValueTypeI64, api.ValueTypeF64
	b := e.rt.NewHostModuleBuilder("a")
	def := func(role string, fn api.GoModuleFunc, params, results []api.ValueType) {
		b.NewFunctionBuilder().WithGoModuleFunction(fn, params, results).Export(engine.Imports[role])
	}
	trap := func(msg string) api.GoModuleFunc {
		return func(ctx context.Context, m api.Module, stack []uint64) { panic(errors.New(msg)) }
	}
	ret := func(v uint64) api.GoModuleFunc {
		return func(ctx context.Context, m api.Module, stack []uint64) { stack[0] = v }
	}
	def("assert_fail", trap("engine assertion failed"), []api.ValueType{i32, i32, i32, i32}, nil)
	def("abort", trap("engine aborted"), nil, nil)
	def("proc_exit", trap("engine called exit"), []api.ValueType{i32}, nil)
	def("fd_write", hostFdWrite, []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	def("fd_close", ret(52), []api.ValueType{i32}, []api.ValueType{i32})               // ENOSYS
	def("fd_seek", ret(70), []api.ValueType{i32, i64, i32, i32}, []api.ValueType{i32}) // ESPIPE
	def("environ_get", ret(0), []api.ValueType{i32, i32}, []api.ValueType{i32})
	def("environ_sizes_get", hostEnvironSizes, []api.ValueType{i32, i32}, []api.ValueType{i32})
	def("load_module_source", ret(0), []api.ValueType{i32, i32, i32}, []api.ValueType{i32})
	def("normalize_module", ret(0), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32})
	def("interrupt_handler", hostInterrupt, []api.ValueType{i32}, []api.ValueType{i32})
	def("setitimer", ret(0), []api.ValueType{i32, f64}, []api.ValueType{i32})
	def("resize_heap", hostResizeHeap, []api.ValueType{i32}, []api.ValueType{i32})
	def("keepalive_clear", func(context.Context, api.Module, []uint64) {}, nil, nil)
	def("localtime", hostLocaltime, []api.ValueType{i64, i32}, nil)
	def("tzset", hostTzset, []api.ValueType{i32, i32, i32, i32}, nil)
	def("date_now", hostDateNow, nil, []api.ValueType{f64})
	def("clock_time_get", hostClockTimeGet, []api.ValueType{i32, i64, i32}, []api.ValueType{i32})
	def("host_call_function", hostCallFunction, []api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32})
	def("free_host_ref", func(context.Context, api.Module, []uint64) {}, []api.ValueType{i32, i32}, nil)
	_, err := b.Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("instantiate host module: %w", err)
	}
	return nil
}

// contentHash names a bundle version.
func contentHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// base returns the image's base snapshot (engine + Node layer), building it once.
func (e *Engine) base(ctx context.Context, img images.Image) (*baseSnapshot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bases == nil {
		return nil, errors.New("engine is closed")
	}
	if b, ok := e.bases[img.Name]; ok {
		return b, nil
	}
	b, err := e.buildBase(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	e.bases[img.Name] = b
	return b, nil
}
