// Package ratelimit keeps one token bucket per key (an application), so that one
// application's burst cannot take the gateway from the others.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds one token bucket per key; a zero rate disables it.
type Limiter struct {
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

// New returns a limiter of perSecond requests per key with bursts of burst (default:
// one second's worth); a zero rate allows everything.
func New(perSecond float64, burst int) *Limiter {
	if burst <= 0 {
		burst = max(1, int(perSecond))
	}
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, byApp: map[string]*limiter{}, maxIdle: 10 * time.Minute}
}

// Allow takes one request from the key's bucket. When refused it returns how long to
// wait, for Retry-After.
func (l *Limiter) Allow(app string) (bool, time.Duration) {
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
