package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Host memory accounting. Everything a host operation holds for an invocation, its
// argument, what its handler reads and its result until JavaScript has it, is
// charged to the invocation; the charge plus the instance's wasm memory may not
// exceed the tier's memory. A charge that would fails the operation, which rejects
// inside the sandbox; the invocation itself goes on.

// ErrHostMemory is returned (wrapped) by ChargeHostMemory when the invocation's memory
// limit would be exceeded.
var ErrHostMemory = errors.New("the reactor's memory limit is reached")

// hostOp is the accounting of one host operation in flight.
type hostOp struct {
	inv     *invocation
	charged atomic.Int64
}

type hostOpKey struct{}

// ChargeHostMemory counts n bytes that the host operation running under ctx holds
// (a request or response body, for instance) against its invocation's memory limit,
// until the operation completes. It fails, charging nothing, when the invocation's
// wasm memory and host memory would exceed the limit; the operation should then give
// up. Outside a host operation it does nothing.
func ChargeHostMemory(ctx context.Context, n int) error {
	op, _ := ctx.Value(hostOpKey{}).(*hostOp)
	if op == nil || n <= 0 {
		return nil
	}
	if err := op.inv.charge(int64(n)); err != nil {
		return err
	}
	op.charged.Add(int64(n))
	return nil
}

// charge reserves n bytes of host memory for the invocation.
func (inv *invocation) charge(n int64) error {
	limit := int64(inv.limits.Memory)
	for {
		held := inv.hostBytes.Load()
		wasm := inv.wasmBytes.Load()
		if held+n+wasm > limit {
			return fmt.Errorf("%w: %d MiB (the sandbox uses %d MiB, requests in flight hold %d MiB, this one needs %d MiB more)",
				ErrHostMemory, limit>>20, wasm>>20, held>>20, (n+1<<20-1)>>20)
		}
		if inv.hostBytes.CompareAndSwap(held, held+n) {
			return nil
		}
	}
}

func (inv *invocation) release(n int64) {
	if n != 0 {
		inv.hostBytes.Add(-n)
	}
}

// noteWasmSize records the instance's wasm memory length, which host charges are
// added to. It runs on the invocation's goroutine, the only one that may read it.
func (inv *invocation) noteWasmSize() {
	if inv.mem != nil {
		inv.wasmBytes.Store(int64(len(inv.mem.Bytes())))
	}
}

func (inv *invocation) maxHostOps() int {
	if inv.limits.MaxHostOps > 0 {
		return inv.limits.MaxHostOps
	}
	return DefaultMaxHostOps
}
