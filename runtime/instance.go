package runtime

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/internal/redact"
	"github.com/reactord/reactord/runtime/internal/cowmem"
)

// ErrClosed is returned by Invoke on an instance that was closed or discarded after
// a timeout, an out-of-memory or a crash, and by every call once the engine closes.
var ErrClosed = errors.New("runtime: instance is closed")

// Event is one invocation's input.
type Event struct {
	// Args is the request's args as JSON (detokenized by the caller).
	Args json.RawMessage
	// Configuration is the reactor's configuration.
	Configuration map[string]string
	// BT, when set (a JSON object), gives the code its Basis Theory client (req.bt /
	// event.bt); nil gives null. The client's requests reach the host's fetch, which
	// owns the credentials (see docs/host-abi.md).
	BT json.RawMessage
}

// Instance is one wasm instance with one JS context and a loaded bundle. It runs one
// invocation at a time.
type Instance struct {
	snap   *Snapshot
	limits Limits
	vm     *vm
	mem    cowmem.Memory
	state  *hostState

	mu     sync.Mutex
	closed bool
	// seeded is false until an invocation after a restore has delivered a fresh seed
	// to the layer (a rejected invocation does not).
	seeded bool
	// invocations counts invocations that ran; the first two teach the snapshot's
	// image which pages later instances should populate up front (the second touches
	// pages the first does not, such as the allocator's next free blocks).
	invocations int
	// learnPending is set when an invocation's pages are still to be learned: a
	// goroutine does it after the caller has its response, or the instance's next use
	// first, whichever comes first.
	learnPending bool
}

// NewInstance starts an instance from the snapshot, bounded by limits.
func (s *Snapshot) NewInstance(ctx context.Context, limits Limits) (*Instance, error) {
	if limits.Memory == 0 {
		return nil, errors.New("runtime: limits.Memory is zero; use TierLimits")
	}
	if !s.eng.enter() {
		return nil, ErrClosed
	}
	defer s.eng.inflight.Done()
	v, err := s.eng.blankInstance(ctx, limits.Memory)
	if err != nil {
		return nil, err
	}
	size, err := v.mem.Attach(s.image)
	if errors.Is(err, cowmem.ErrLimit) {
		v.mod.Close(ctx)
		return nil, fmt.Errorf("runtime: the reactor's snapshot (%d MiB) does not fit the memory limit of %d MiB", s.image.Size()>>20, limits.Memory>>20)
	}
	if err != nil {
		v.mod.Close(ctx)
		return nil, err
	}
	// Tell wazero the memory's length when the snapshot is longer than a blank memory.
	if !v.growTo(uint32(size)) {
		v.mod.Close(ctx)
		return nil, errors.New("runtime: cannot size the memory to the snapshot")
	}
	in := &Instance{snap: s, limits: limits, vm: v, mem: v.mem, state: &hostState{vm: v}}
	if err := in.applyLimits(ctx); err != nil {
		in.Close(ctx)
		return nil, err
	}
	return in, nil
}

// applyLimits sets the engine heap limit. It lives in the instance's memory, so a
// reset undoes it.
func (in *Instance) applyLimits(ctx context.Context) error {
	lim := heapLimit(in.limits.Memory)
	_, err := in.vm.c(ctx, in.vm.fn.setMemoryLimit, in.snap.ptrs.rt, uint32(lim))
	return err
}

// Limits returns the instance's limits.
func (in *Instance) Limits() Limits { return in.limits }

// Snapshot returns the snapshot the instance was started from.
func (in *Instance) Snapshot() *Snapshot { return in.snap }

// Prefault moves to now the cost of mapping the snapshot pages that the instance's
// first invocation reads, on machines that charge it on first access (virtual machines
// that back a guest's pages lazily). It is for instances made before a request needs
// them: there it takes about 1 ms off their first invocation, while an instance about
// to run at once would pay more for it than it saves.
func (in *Instance) Prefault() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.enter() {
		return
	}
	defer in.leave()
	in.mem.Prefault()
}

// enter registers a use of the instance's memory with the engine, unless the instance
// or the engine is closed; leave ends it. Closing the engine frees every memory
// without the instance's lock, so it waits for the uses entered. The caller holds
// in.mu.
func (in *Instance) enter() bool { return !in.closed && in.snap.eng.enter() }

func (in *Instance) leave() { in.snap.eng.inflight.Done() }

// Closed reports whether the instance was closed or discarded.
func (in *Instance) Closed() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.closed
}

// Reset returns the instance to its snapshot: every global, timer and heap object an
// invocation left behind is gone.
func (in *Instance) Reset(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.enter() {
		return ErrClosed
	}
	defer in.leave()
	in.learn()
	if err := in.mem.Reset(); err != nil {
		in.discard(ctx)
		return err
	}
	in.seeded = false
	return in.applyLimits(ctx)
}

// Close releases the instance.
func (in *Instance) Close(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.learnPending && in.enter() {
		in.learn()
		in.leave()
	}
	return in.discard(ctx)
}

func (in *Instance) discard(ctx context.Context) error {
	if in.closed {
		return nil
	}
	in.closed = true
	return in.vm.mod.Close(ctx) // frees the memory through the allocator
}

// Invoke runs the handler once. The returned Response describes what the caller
// gets, errors of the reactor code included; an error is returned only when the
// instance could not run at all. After an invocation ends in Timeout, OutOfMemory or
// Crashed, the instance is discarded and Closed reports true.
//
// Invoke runs on the caller's goroutine and returns when the engine reaches an
// interrupt point after the deadline, which QuickJS does while it runs bytecode. A
// long native builtin (bounded to about 2 s by the engine's stack limit) can delay
// that; callers that must answer on time (the scheduler's worker) keep their own
// timer.
func (in *Instance) Invoke(ctx context.Context, ev Event) (Response, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.enter() {
		return Response{}, ErrClosed
	}
	defer in.leave()
	in.learn() // the last invocation's pages, if its goroutine has not yet
	start := time.Now()
	inv := newInvocation(in.snap.eng, in.limits)
	resp, fatal := in.run(ctx, inv, ev, false)
	resp.Logs, resp.LogsTruncated = inv.logs, inv.logsTruncated
	resp.Duration = time.Since(start)
	if fatal {
		in.discard(ctx)
	} else if in.invocations++; in.invocations <= 2 && resp.Outcome == OK {
		// Reading which pages the invocation touched takes a few hundred µs on a
		// virtual machine: the caller does not wait for it.
		in.learnPending = true
		go in.learnLater()
	}
	return resp, nil
}

// Warm runs the Node layer's invocation path once with a no-op handler in place of the
// reactor's: none of the reactor's code runs, and no host operation may start. An
// instance's first invocation costs several times its later ones, most of it in that
// path (a first touch of its memory); the pools warm the instances they make ahead of
// use, so that a request does not wait for it.
func (in *Instance) Warm(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.enter() {
		return ErrClosed
	}
	defer in.leave()
	resp, fatal := in.run(ctx, newInvocation(in.snap.eng, in.limits), Event{}, true)
	if fatal {
		in.discard(ctx)
	}
	if resp.Outcome != OK {
		return fmt.Errorf("runtime: warming an instance: %s %s", resp.Outcome, resp.Body)
	}
	return nil
}

// learnLater learns what the last invocation touched unless the instance's next use
// already did.
func (in *Instance) learnLater() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.learnPending || !in.enter() {
		return
	}
	defer in.leave()
	in.learn()
}

// learn records the snapshot pages the instance's invocations touched so far, for the
// instances made after it (see cowmem.Memory.Learn). The caller holds in.mu and has
// entered the engine.
func (in *Instance) learn() {
	if in.learnPending {
		in.learnPending = false
		in.mem.Learn()
	}
}

// run drives one invocation: start the handler (the layer's no-op one when warm), then
// alternate between QuickJS's job queue, due timers and completed host operations
// until the handler reports. Only the reactor's own handler may start host operations.
func (in *Instance) run(ctx context.Context, inv *invocation, ev Event, warm bool) (resp Response, fatal bool) {
	event, err := encodeEvent(ev, !in.seeded)
	if err != nil {
		return errorResponse(Rejected, apierror.Error{Title: "Bad Request", Status: 400, Detail: err.Error()}), false
	}
	if len(event) > in.limits.MaxArgs {
		return errorResponse(Rejected, apierror.Error{Title: "Payload Too Large", Status: 413,
			Detail: fmt.Sprintf("args and configuration exceed the limit of %d bytes", in.limits.MaxArgs)}), false
	}
	ctx, cancel := context.WithTimeout(ctx, in.limits.Timeout)
	defer cancel()
	inv.interruptOn(ctx)
	entry := in.snap.ptrs.warm
	if !warm {
		entry = in.snap.ptrs.invoke
		inv.allowAsync(ctx)
	}
	defer inv.stop()
	in.state.inv = inv
	inv.mem = in.mem
	defer func() { in.state.inv = nil }()
	hctx := context.WithValue(ctx, hostStateKey{}, in.state)

	v, p := in.vm, in.snap.ptrs
	fail := func(err error) (Response, bool) { return in.failure(inv, err) }

	arg, err := v.newString(hctx, p.ctx, event)
	if err != nil {
		return fail(err)
	}
	// Only an event that reaches the layer carries the seed to its PRNG; a rejected
	// one must leave the next invocation to send it.
	in.seeded = true
	res, err := v.call(hctx, p.ctx, p.undefined, p.argv, entry, arg)
	if err := errors.Join(err, v.freeValue(hctx, p.ctx, arg), v.freeValue(hctx, p.ctx, res)); err != nil {
		return fail(err)
	}
	completions := []byte("[]")
	for {
		if err := v.runJobs(hctx, p.rt, p.ctx, p.lastCtx); err != nil {
			return fail(err)
		}
		if inv.settled {
			break
		}
		if inv.isInterrupted() {
			return fail(errInterrupted)
		}
		next, err := in.tick(hctx, completions)
		if err != nil {
			return fail(err)
		}
		if err := v.runJobs(hctx, p.rt, p.ctx, p.lastCtx); err != nil {
			return fail(err)
		}
		if inv.settled {
			break
		}
		if next < 0 && inv.pending == 0 {
			return runtimeError("reactor never returned: its promise can no longer settle (no timer or request is pending)"), false
		}
		completions, err = inv.wait(ctx, next)
		if err != nil {
			return fail(err)
		}
	}
	if in.mem.AtLimit() {
		return oomResponse(in.limits.Memory), true
	}
	if inv.isInterrupted() { // settled, but after the deadline (a long native call)
		return timeoutResponse(in.limits.Timeout), true
	}
	if inv.failed {
		var t thrownError
		if err := json.Unmarshal(inv.result, &t); err != nil {
			return runtimeError("reactor threw an error that could not be read"), false
		}
		if t.isOutOfMemory() {
			return oomResponse(in.limits.Memory), true
		}
		return thrownResponse(t), false
	}
	if len(inv.result) > in.limits.MaxResult {
		return runtimeError(fmt.Sprintf("reactor result is %d bytes, over the limit of %d bytes", len(inv.result), in.limits.MaxResult)), false
	}
	return resultResponse(in.snap.img.Contract == images.ContractNode22, inv.result), false
}

// tick calls the layer's tick with completed host operations and returns the delay
// until its next timer (negative: none).
func (in *Instance) tick(ctx context.Context, completions []byte) (time.Duration, error) {
	v, p := in.vm, in.snap.ptrs
	arg, err := v.newString(ctx, p.ctx, completions)
	if err != nil {
		return 0, err
	}
	res, err := v.call(ctx, p.ctx, p.undefined, p.argv, p.tick, arg)
	if err != nil {
		return 0, errors.Join(err, v.freeValue(ctx, p.ctx, arg))
	}
	ms, err := v.number(ctx, p.ctx, res)
	if err := errors.Join(err, v.freeValue(ctx, p.ctx, arg), v.freeValue(ctx, p.ctx, res)); err != nil {
		return 0, err
	}
	if ms < 0 || ms != ms {
		return -1, nil
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

var errInterrupted = errors.New("interrupted")

// failure classifies an error that stopped an invocation; fatal ones discard the
// instance.
func (in *Instance) failure(inv *invocation, err error) (Response, bool) {
	var js *jsError
	switch {
	case inv.isInterrupted():
		return timeoutResponse(in.limits.Timeout), true
	case errors.Is(err, errOutOfMemory), in.mem.AtLimit(),
		errors.As(err, &js) && strings.Contains(js.msg, "out of memory"):
		return oomResponse(in.limits.Memory), true
	case errors.As(err, &js):
		// An exception the Node layer could not catch: a stack overflow in its own
		// frames, or tampering with it. The instance may be inconsistent.
		in.snap.eng.log.Warn("reactor exception escaped the Node layer", "error", redact.String(js.msg))
		return runtimeError("reactor failed: " + firstLine(js.msg)), true
	default:
		in.snap.eng.log.Error("reactor instance crashed", "error", err)
		r := runtimeError("reactor crashed")
		r.Outcome = Crashed
		return r, true
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// encodeEvent builds the layer's invoke argument. A seed (four 32-bit words) goes
// only with the first invocation after a restore: the snapshot holds one PRNG state
// for every instance, and reseeding later would just cost time.
func encodeEvent(ev Event, seed bool) ([]byte, error) {
	args := ev.Args
	if len(args) == 0 {
		args = json.RawMessage("null")
	}
	cfg := ev.Configuration
	if cfg == nil {
		cfg = map[string]string{}
	}
	var words []uint32
	if seed {
		var b [16]byte
		rand.Read(b[:])
		for i := 0; i < 16; i += 4 {
			words = append(words, binary.LittleEndian.Uint32(b[i:]))
		}
	}
	// Marshal validates args (a RawMessage) as it copies them; only they can fail.
	// go-json: the event is encoded on every invocation.
	b, err := gojson.Marshal(struct {
		Args          json.RawMessage   `json:"args"`
		Configuration map[string]string `json:"configuration"`
		Seed          []uint32          `json:"seed,omitempty"`
		BT            json.RawMessage   `json:"bt"`
	}{args, cfg, words, ev.BT})
	if err != nil {
		return nil, errors.New("args is not valid JSON")
	}
	return b, nil
}

// invocation is the host side of one invocation (or of a snapshot load).
type invocation struct {
	eng    *Engine
	limits Limits

	interrupted atomic.Bool
	until       context.Context // the code is interrupted once it ends; nil after stop

	settled, failed bool
	result          []byte

	logs          []LogLine
	logBytes      int
	logsTruncated bool

	nextID  int
	pending int
	done    chan completion
	cancel  context.CancelFunc
	opCtx   context.Context // host operations' context, made by the first
	// asyncBase is the context host operations derive from; nil while code loads.
	asyncBase context.Context
	permit    Permit // asked before each host operation starts; nil allows all

	// mem is the instance's memory (nil during loads); wasmBytes its length and
	// hostBytes the host memory charged for operations (see hostmem.go).
	mem       cowmem.Memory
	wasmBytes atomic.Int64
	hostBytes atomic.Int64
	// queue holds completions not yet delivered; delivered is the charge of those
	// handed to the layer, released once the layer has them.
	queue     []completion
	delivered int64
}

type completion struct {
	ID    string          `json:"id"`
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value,omitempty"`
	Error string          `json:"error,omitempty"`
	// charged is the host memory the completion holds until delivered.
	charged int64
}

func newInvocation(e *Engine, l Limits) *invocation {
	return &invocation{eng: e, limits: l}
}

// interruptOn makes QuickJS's interrupt handler stop the code once ctx ends. The
// handler asks ctx (an atomic load) rather than ctx calling back: a callback
// registered on every invocation cost a quarter of its host-side allocations.
func (inv *invocation) interruptOn(ctx context.Context) { inv.until = ctx }

// isInterrupted reports whether the code must stop: its context ended, or a wait
// for host operations saw it end.
func (inv *invocation) isInterrupted() bool {
	return inv.interrupted.Load() || (inv.until != nil && inv.until.Err() != nil)
}

// allowAsync lets the invocation start host operations, which end with ctx or stop.
// Loads never call it: reactor code must not reach the network while it is snapshotted.
// The operations' context is made by the first one: most invocations start none.
func (inv *invocation) allowAsync(ctx context.Context) {
	inv.asyncBase = ctx
	inv.permit, _ = ctx.Value(permitKey{}).(Permit)
}

func (inv *invocation) stop() {
	inv.until = nil
	if inv.cancel != nil {
		inv.cancel()
	}
}

func (inv *invocation) log(level, msg string) {
	if inv.logsTruncated {
		return
	}
	if inv.logBytes+len(msg) > inv.limits.MaxLogs {
		inv.logsTruncated = true
		return
	}
	inv.logBytes += len(msg)
	inv.logs = append(inv.logs, LogLine{Level: level, Message: msg})
}

// startAsync starts a host operation JavaScript will await; its completion arrives
// through wait and the layer's tick.
func (inv *invocation) startAsync(ctx context.Context, arg []byte) ([]byte, error) {
	var req struct {
		Op  string          `json:"op"`
		Arg json.RawMessage `json:"arg"`
	}
	if err := json.Unmarshal(arg, &req); err != nil {
		return nil, fmt.Errorf("async: %w", err)
	}
	h := inv.eng.cfg.Async[req.Op]
	if h == nil {
		return nil, fmt.Errorf("%s is not available in this runtime", req.Op)
	}
	if inv.asyncBase == nil {
		return nil, fmt.Errorf("%s cannot run while the reactor code loads", req.Op)
	}
	if inv.opCtx == nil {
		inv.opCtx, inv.cancel = context.WithCancel(inv.asyncBase)
	}
	if max := inv.maxHostOps(); inv.pending >= max {
		return nil, fmt.Errorf("too many requests in flight: a reactor may wait on at most %d at once; await some before starting more", max)
	}
	// The argument is held until the handler returns.
	inv.noteWasmSize()
	if err := inv.charge(int64(len(req.Arg))); err != nil {
		return nil, err
	}
	op := &hostOp{inv: inv}
	op.charged.Store(int64(len(req.Arg)))
	if inv.done == nil {
		// Made by the first operation: most invocations start none, and a receive
		// from the nil channel in wait and drain is simply never ready.
		inv.done = make(chan completion, 16)
	}
	inv.nextID++
	id := strconv.Itoa(inv.nextID)
	inv.pending++
	opCtx := context.WithValue(inv.opCtx, hostOpKey{}, op)
	go func() {
		c := completion{ID: id}
		var v any
		var err error
		if inv.permit != nil {
			err = inv.permit(opCtx)
		}
		if err == nil {
			v, err = h(opCtx, req.Arg)
		}
		if err == nil {
			c.Value, err = json.Marshal(v)
		}
		// What the handler held is garbage now; the completion holds its own bytes
		// until delivered.
		inv.release(op.charged.Swap(0))
		if err == nil {
			if err = inv.charge(int64(len(c.Value))); err == nil {
				c.charged = int64(len(c.Value))
			} else {
				c.Value = nil
			}
		}
		if err != nil {
			c.Error = err.Error()
		} else {
			c.OK = true
		}
		select {
		case inv.done <- c:
		case <-opCtx.Done():
			inv.release(c.charged)
		}
	}()
	return []byte(id), nil
}

// wait blocks until the next timer is due (d >= 0), a host operation completes, or
// ctx ends, and returns the completions to deliver.
func (inv *invocation) wait(ctx context.Context, d time.Duration) ([]byte, error) {
	// The layer has the last completions: their bytes are its memory now.
	inv.release(inv.delivered)
	inv.delivered = 0
	inv.noteWasmSize()
	if d == 0 || len(inv.queue) > 0 {
		return inv.drain()
	}
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case c := <-inv.done:
		inv.queue = append(inv.queue, c)
		return inv.drain()
	case <-timer:
		return inv.drain()
	case <-ctx.Done():
		inv.interrupted.Store(true)
		return nil, errInterrupted
	}
}

// deliverBytes bounds the completions handed to the layer in one tick (one always
// goes): each is copied into the sandbox's memory and parsed there, so a burst of
// large results arrives one at a time and the code can drop each before the next.
const deliverBytes = 1 << 20

// drain returns the next completions to deliver as JSON, queueing the rest.
func (inv *invocation) drain() ([]byte, error) {
	for {
		select {
		case c := <-inv.done:
			inv.queue = append(inv.queue, c)
			continue
		default:
		}
		break
	}
	if len(inv.queue) == 0 {
		return []byte("[]"), nil
	}
	n, size := 0, 0
	for n < len(inv.queue) {
		c := &inv.queue[n]
		if n > 0 && size+len(c.Value)+len(c.Error) > deliverBytes {
			break
		}
		size += len(c.Value) + len(c.Error)
		inv.delivered += c.charged
		n++
	}
	b, err := json.Marshal(inv.queue[:n])
	clear(inv.queue[:n])
	inv.queue = inv.queue[n:]
	inv.pending -= n
	return b, err
}
