package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	rt "github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// ErrSaturated means the tier's instances were all busy for longer than the queue wait.
var ErrSaturated = errors.New("scheduler: all instances of the tier are busy")

// PoolsConfig configures Pools.
type PoolsConfig struct {
	// Concurrency caps simultaneous invocations per tier; missing tiers get the
	// spec's defaults (standard 2 x cores, large 1 x cores, xlarge 1).
	Concurrency map[rt.Tier]int
	// QueueWait is how long an invocation waits for a busy tier before ErrSaturated.
	QueueWait time.Duration
	// IdleTTL is how long an idle instance beyond warm_concurrency is kept.
	IdleTTL time.Duration
	// Pristine resets each instance before reuse, so no state survives between
	// invocations even of the same version (slower; off by default, as on Lambda).
	Pristine bool
	// ReactorLogs is how reactors' console output is logged; "" is redacted.
	ReactorLogs ReactorLogs
	// ReactorLogLevel is the level of those records (the zero value is Info).
	ReactorLogLevel slog.Level
	Logger          *slog.Logger
	Metrics         *Metrics
}

// DefaultConcurrency returns a tier's per-worker concurrency: standard 2 x cores,
// large 1 x cores, xlarge 1. Cores are GOMAXPROCS, which follows a container's CPU
// limit, not the node's CPU count.
func DefaultConcurrency(t rt.Tier) int {
	switch t {
	case rt.Large:
		return runtime.GOMAXPROCS(0)
	case rt.XLarge:
		return 1
	}
	return 2 * runtime.GOMAXPROCS(0)
}

// Pools keeps a worker's instances: per reactor version a stack of idle instances,
// built from one snapshot per bundle.
type Pools struct {
	eng     *rt.Engine
	bundles store.Bundles
	cfg     PoolsConfig
	log     *slog.Logger
	slots   map[rt.Tier]chan struct{}

	mu        sync.Mutex
	versions  map[versionKey]*version
	snapshots map[string]*snapshotEntry // image + bundle sha
}

type versionKey struct {
	reactor, bundle string
	tier            rt.Tier
}

type version struct {
	key     versionKey
	image   string
	limits  rt.Limits
	warm    int
	idle    []idleInstance
	live    int // idle + running
	filling bool
	used    time.Time
}

type idleInstance struct {
	in   *rt.Instance
	used time.Time
}

type snapshotEntry struct {
	ready chan struct{}
	snap  *rt.Snapshot
	err   error
	refs  int
}

// NewPools returns pools running on eng with bundles from the store.
func NewPools(eng *rt.Engine, bundles store.Bundles, cfg PoolsConfig) *Pools {
	if cfg.QueueWait == 0 {
		cfg.QueueWait = 250 * time.Millisecond
	}
	if cfg.IdleTTL == 0 {
		cfg.IdleTTL = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pools{eng: eng, bundles: bundles, cfg: cfg, log: cfg.Logger, slots: map[rt.Tier]chan struct{}{},
		versions: map[versionKey]*version{}, snapshots: map[string]*snapshotEntry{}}
	for _, t := range rt.Tiers {
		n := cfg.Concurrency[t]
		if n <= 0 {
			n = DefaultConcurrency(t)
		}
		p.slots[t] = make(chan struct{}, n)
	}
	return p
}

// Run runs one invocation on an instance of the request's reactor version; started,
// if not nil, is called when it has a tier slot and begins.
func (p *Pools) Run(ctx context.Context, req Request, started func()) (Reply, error) {
	tier := rt.Tier(req.Tier)
	slots, ok := p.slots[tier]
	if !ok {
		return Reply{}, fmt.Errorf("scheduler: unknown tier %q", req.Tier)
	}
	select {
	case slots <- struct{}{}: // a free slot: no timer needed
	default:
		wait := time.NewTimer(p.cfg.QueueWait)
		select {
		case slots <- struct{}{}:
			wait.Stop()
		case <-wait.C:
			return Reply{}, ErrSaturated
		case <-ctx.Done():
			wait.Stop()
			return Reply{}, ctx.Err()
		}
	}
	defer func() { <-slots }()
	if started != nil {
		started()
	}

	v, err := p.version(req)
	if err != nil {
		return Reply{}, err
	}
	took := time.Now()
	in, cold, err := p.take(ctx, v)
	if err != nil {
		return Reply{}, err
	}
	invoked := time.Now()
	ev := rt.Event{Args: req.Args, Configuration: req.Configuration}
	if req.BT != nil {
		ev.BT = json.RawMessage(`{}`)
		ctx = WithGrant(ctx, req.BT)
	}
	resp, err := in.Invoke(ctx, ev)
	if cold {
		p.log.Debug("cold start", "reactor_id", req.ReactorID, "trace_id", req.TraceID,
			"instance", invoked.Sub(took).String(), "invoke", time.Since(invoked).String())
	}
	p.put(v, in)
	if err != nil {
		return Reply{}, err
	}
	r := replyFrom(resp, req.WantResult)
	r.ColdStart = cold
	p.cfg.Metrics.observe(tier, resp, cold)
	if !notGranted(ctx) {
		p.logConsole(ctx, req, resp)
	}
	return r, nil
}

func limitsFor(req Request) (rt.Limits, error) {
	l, err := rt.TierLimits(rt.Tier(req.Tier))
	if err != nil {
		return l, err
	}
	if req.TimeoutMS > 0 {
		l.Timeout = time.Duration(req.TimeoutMS) * time.Millisecond
	}
	return l, nil
}

// version returns the pool of the request's reactor version, creating it.
func (p *Pools) version(req Request) (*version, error) {
	key := versionKey{req.ReactorID, req.Bundle, rt.Tier(req.Tier)}
	limits, err := limitsFor(req)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	v := p.versions[key]
	if v == nil {
		v = &version{key: key, image: req.Image, limits: limits, used: time.Now()}
		p.versions[key] = v
		p.refSnapshotLocked(req.Image, req.Bundle)
	}
	v.limits = limits
	v.warm = req.WarmConcurrency
	v.used = time.Now()
	return v, nil
}

// Prepare loads a reactor version's snapshot and its warm_concurrency instances in the
// background. A version deployed (created or changed) within IdleTTL of now also gets
// one instance beyond warm_concurrency, released after IdleTTL like any idle one, so
// that the first invocation after a deploy finds it ready; versions that merely exist
// when the worker starts do not.
func (p *Pools) Prepare(req Request, deployed time.Time) error {
	v, err := p.version(req)
	if err != nil {
		return err
	}
	spare := 0
	if time.Since(deployed) < p.cfg.IdleTTL {
		spare = 1
	}
	go func() {
		if _, err := p.snapshot(context.Background(), v.image, v.key.bundle); err != nil {
			p.log.Error("prepare reactor", "reactor_id", req.ReactorID, "error", err)
			return
		}
		p.fill(v, spare)
	}()
	return nil
}

// take returns an idle instance of v, or a new one (a cold start).
func (p *Pools) take(ctx context.Context, v *version) (*rt.Instance, bool, error) {
	p.mu.Lock()
	if n := len(v.idle); n > 0 {
		in := v.idle[n-1].in
		v.idle = v.idle[:n-1]
		p.mu.Unlock()
		p.cfg.Metrics.setIdle(v.key.tier, -1)
		p.refill(v)
		return in, false, nil
	}
	v.live++
	p.mu.Unlock()
	in, err := p.newInstance(ctx, v)
	if err != nil {
		p.mu.Lock()
		v.live--
		p.mu.Unlock()
		return nil, false, err
	}
	return in, true, nil
}

func (p *Pools) newInstance(ctx context.Context, v *version) (*rt.Instance, error) {
	snap, err := p.snapshot(ctx, v.image, v.key.bundle)
	if err != nil {
		return nil, err
	}
	return snap.NewInstance(ctx, v.limits)
}

// put returns an instance after an invocation; a discarded one is dropped.
func (p *Pools) put(v *version, in *rt.Instance) {
	if in.Closed() {
		p.mu.Lock()
		v.live--
		p.mu.Unlock()
		p.refill(v)
		return
	}
	if p.cfg.Pristine {
		if err := in.Reset(context.Background()); err != nil {
			p.mu.Lock()
			v.live--
			p.mu.Unlock()
			return
		}
	}
	p.mu.Lock()
	if p.versions[v.key] != v { // released while running
		p.mu.Unlock()
		in.Close(context.Background())
		return
	}
	v.idle = append(v.idle, idleInstance{in: in, used: time.Now()})
	p.mu.Unlock()
	p.cfg.Metrics.setIdle(v.key.tier, 1)
}

func (p *Pools) refill(v *version) { p.fill(v, 0) }

// fill starts instances in the background until v has max(warm_concurrency, atLeast)
// idle ones.
func (p *Pools) fill(v *version, atLeast int) {
	p.mu.Lock()
	if v.filling || len(v.idle) >= max(v.warm, atLeast) || p.versions[v.key] != v {
		p.mu.Unlock()
		return
	}
	v.filling = true
	p.mu.Unlock()
	go func() {
		ctx := context.Background()
		for {
			p.mu.Lock()
			if len(v.idle) >= max(v.warm, atLeast) || p.versions[v.key] != v {
				v.filling = false
				p.mu.Unlock()
				return
			}
			v.live++
			p.mu.Unlock()
			in, err := p.newInstance(ctx, v)
			if err == nil {
				// Made ahead of any request: its first one need not map pages, nor pay
				// for a first pass through the invocation path.
				in.Prefault()
				if err = in.Warm(ctx); err != nil {
					in.Close(ctx)
				}
			}
			if err != nil {
				p.log.Error("warm instance", "reactor_id", v.key.reactor, "error", err)
				p.mu.Lock()
				v.live--
				v.filling = false
				p.mu.Unlock()
				return
			}
			p.put(v, in)
		}
	}()
}

// Release drops every instance of a reactor whose bundle is not keep ("" drops all).
func (p *Pools) Release(reactorID, keep string) {
	p.mu.Lock()
	var drop []idleInstance
	for k, v := range p.versions {
		if k.reactor != reactorID || k.bundle == keep {
			continue
		}
		drop = append(drop, v.idle...)
		p.cfg.Metrics.setIdle(k.tier, -len(v.idle))
		v.idle = nil
		delete(p.versions, k)
		p.unrefSnapshotLocked(v.image, k.bundle)
	}
	p.mu.Unlock()
	for _, d := range drop {
		d.in.Close(context.Background())
	}
}

// Evict closes idle instances unused for IdleTTL beyond each version's warm count,
// and forgets versions left with nothing.
func (p *Pools) Evict(now time.Time) {
	p.mu.Lock()
	var drop []idleInstance
	for k, v := range p.versions {
		keep := v.idle[:0]
		for i, ii := range v.idle {
			if len(v.idle)-i > v.warm && now.Sub(ii.used) > p.cfg.IdleTTL {
				drop = append(drop, ii)
				v.live--
				p.cfg.Metrics.setIdle(k.tier, -1)
				continue
			}
			keep = append(keep, ii)
		}
		v.idle = keep
		if v.live == 0 && v.warm == 0 && now.Sub(v.used) > p.cfg.IdleTTL {
			delete(p.versions, k)
			p.unrefSnapshotLocked(v.image, k.bundle)
		}
	}
	p.mu.Unlock()
	for _, d := range drop {
		d.in.Close(context.Background())
	}
}

// RunEvictions evicts every interval until ctx ends.
func (p *Pools) RunEvictions(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p.Evict(now)
		}
	}
}

// Close closes every instance.
func (p *Pools) Close() {
	p.mu.Lock()
	var ids []string
	for k := range p.versions {
		ids = append(ids, k.reactor)
	}
	p.mu.Unlock()
	for _, id := range ids {
		p.Release(id, "")
	}
}

func (p *Pools) refSnapshotLocked(image, bundle string) {
	key := image + "/" + bundle
	e := p.snapshots[key]
	if e == nil {
		e = &snapshotEntry{}
		p.snapshots[key] = e
	}
	e.refs++
}

func (p *Pools) unrefSnapshotLocked(image, bundle string) {
	key := image + "/" + bundle
	e := p.snapshots[key]
	if e == nil {
		return
	}
	if e.refs--; e.refs > 0 {
		return
	}
	delete(p.snapshots, key)
	if e.ready != nil {
		go func() {
			<-e.ready
			if e.snap != nil {
				e.snap.Close()
			}
		}()
	}
}

// snapshot loads a bundle once and shares the snapshot between versions.
func (p *Pools) snapshot(ctx context.Context, image, bundle string) (*rt.Snapshot, error) {
	key := image + "/" + bundle
	p.mu.Lock()
	e := p.snapshots[key]
	if e == nil {
		p.mu.Unlock()
		return nil, errors.New("scheduler: version released")
	}
	if e.ready != nil {
		p.mu.Unlock()
		select {
		case <-e.ready:
			return e.snap, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e.ready = make(chan struct{})
	p.mu.Unlock()
	code, err := p.bundles.Get(ctx, bundle)
	if err == nil {
		e.snap, err = p.eng.Load(ctx, rt.Bundle{Image: image, Code: code})
	}
	if err != nil {
		e.err = fmt.Errorf("scheduler: load bundle %s: %w", bundle, err)
		p.mu.Lock()
		if p.snapshots[key] == e { // let a later request retry
			p.snapshots[key] = &snapshotEntry{refs: e.refs}
		}
		p.mu.Unlock()
	}
	close(e.ready)
	return e.snap, e.err
}
