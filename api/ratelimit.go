package api

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters holds one token bucket per application; a zero rate disables them.
type limiters struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	byApp   map[string]*limiter
	swept   time.Time
	maxIdle time.Duration
}

type limiter struct {
	*rate.Limiter
	seen time.Time
}

func newLimiters(perSecond float64, burst int) *limiters {
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &limiters{rate: rate.Limit(perSecond), burst: burst, byApp: map[string]*limiter{}, maxIdle: 10 * time.Minute}
}

// allow takes one request from the application's bucket. When refused it returns how
// long to wait, for Retry-After.
func (l *limiters) allow(app string) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	now := time.Now()
	l.mu.Lock()
	lim := l.byApp[app]
	if lim == nil {
		lim = &limiter{Limiter: rate.NewLimiter(l.rate, l.burst)}
		l.byApp[app] = lim
	}
	lim.seen = now
	if now.Sub(l.swept) > l.maxIdle { // forget applications that went quiet
		for id, x := range l.byApp {
			if now.Sub(x.seen) > l.maxIdle {
				delete(l.byApp, id)
			}
		}
		l.swept = now
	}
	l.mu.Unlock()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(d.Seconds()) + 1)
}
