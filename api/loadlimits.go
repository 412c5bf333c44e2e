package api

import (
	"time"

	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// loadLimits bounds evaluating code at create and update by the tier and timeout the
// code will run with (nil: no runtime options, the standard tier and the default
// timeout).
func loadLimits(rt *store.Runtime) runtime.Limits {
	tier, timeout := runtime.Standard, runtime.DefaultTimeout
	if rt != nil && rt.Resources != "" {
		tier = runtime.Tier(rt.Resources)
	}
	if rt != nil && rt.Timeout > 0 {
		timeout = time.Duration(rt.Timeout) * time.Second
	}
	l, err := runtime.TierLimits(tier)
	if err != nil { // validated before; fall back to the smallest tier
		l, _ = runtime.TierLimits(runtime.Standard)
	}
	l.Timeout = timeout
	return l
}
