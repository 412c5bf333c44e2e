package runtime

import (
	"fmt"
	"time"
)

// Tier is a resource tier a reactor runs in.
type Tier string

// The resource tiers of the spec.
const (
	Standard Tier = "standard"
	Large    Tier = "large"
	XLarge   Tier = "xlarge"
)

// Tiers lists the tiers from smallest to largest.
var Tiers = []Tier{Standard, Large, XLarge}

// Limits bound one instance and each invocation on it.
type Limits struct {
	// Memory is the wasm linear memory maximum in bytes. Host memory held for an
	// invocation's operations (fetch bodies, results waiting for delivery) counts
	// against it too.
	Memory uint64
	// Timeout bounds an invocation's wall time, waiting on timers and fetch included.
	Timeout time.Duration
	// MaxArgs caps the encoded request (args and configuration) in bytes.
	MaxArgs int
	// MaxResult caps the encoded result in bytes.
	MaxResult int
	// MaxLogs caps the captured console output per invocation in bytes.
	MaxLogs int
	// MaxHostOps caps the host operations (fetch, Basis Theory client calls) one
	// invocation may have in flight; starting one more rejects inside the sandbox.
	// 0 means DefaultMaxHostOps.
	MaxHostOps int
}

// Defaults of the spec: 10 s timeout, 1 MiB args, 5 MiB result.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultMaxArgs   = 1 << 20
	DefaultMaxResult = 5 << 20
	DefaultMaxLogs   = 64 << 10
	// DefaultMaxHostOps is how many host operations an invocation may have in flight.
	DefaultMaxHostOps = 16
	// MaxTimeout is the longest timeout a reactor may ask for.
	MaxTimeout = 30 * time.Second
)

// TierLimits returns the default limits of a tier ("" means standard).
func TierLimits(t Tier) (Limits, error) {
	l := Limits{Timeout: DefaultTimeout, MaxArgs: DefaultMaxArgs, MaxResult: DefaultMaxResult, MaxLogs: DefaultMaxLogs,
		MaxHostOps: DefaultMaxHostOps}
	switch t {
	case Standard, "":
		l.Memory = 128 << 20
	case Large:
		l.Memory = 512 << 20
	case XLarge:
		l.Memory = 1 << 30
	default:
		return Limits{}, fmt.Errorf("unknown resources tier %q: use standard, large or xlarge", t)
	}
	return l, nil
}

// heapLimit is the engine's own allocation limit for a memory of the given size. It
// equals the wasm maximum, which the engine's malloc always reaches first (the memory
// also holds static data and the stack), so running out is seen by the host as a
// refused growth: that makes exhaustion detectable even when reactor code catches the
// "out of memory" error QuickJS throws.
func heapLimit(memory uint64) uint64 { return min(memory, 1<<32-1) }
