package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	rt "github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// memBundles is an in-memory bundle store for pool tests.
type memBundles struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (b *memBundles) Put(ctx context.Context, data []byte) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sha := store.Hash(data)
	b.m[sha] = data
	return sha, nil
}

func (b *memBundles) Get(ctx context.Context, sha string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.m[sha]
	if !ok {
		return nil, store.ErrNotFound
	}
	return d, nil
}

func newPools(t *testing.T, cfg PoolsConfig) (*Pools, *memBundles) {
	t.Helper()
	ctx := context.Background()
	eng, err := rt.NewEngine(ctx, rt.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b := &memBundles{m: map[string][]byte{}}
	p := NewPools(eng, b, cfg)
	t.Cleanup(func() {
		p.Close()
		eng.Close(ctx)
	})
	return p, b
}

func request(t *testing.T, b *memBundles, reactor, code string) Request {
	sha, _ := b.Put(context.Background(), []byte(code))
	return Request{ReactorID: reactor, Bundle: sha, Image: "node-bt", Tier: "standard", TimeoutMS: 5000, Args: json.RawMessage(`{}`)}
}

func (p *Pools) idleCount(reactor string) (n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.versions {
		if k.reactor == reactor {
			n += len(v.idle)
		}
	}
	return n
}

// waitIdle waits up to 10 s for reactor to have n idle instances and returns how many
// it has.
func (p *Pools) waitIdle(reactor string, n int) int {
	deadline := time.Now().Add(10 * time.Second)
	for p.idleCount(reactor) < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return p.idleCount(reactor)
}

func TestPoolsReuseAndRelease(t *testing.T) {
	p, b := newPools(t, PoolsConfig{})
	req := request(t, b, "r1", `let n = 0; module.exports = async () => ({ raw: ++n })`)
	ctx := context.Background()
	for i, wantCold := range []bool{true, false, false} {
		r, err := p.Run(ctx, req, nil)
		if err != nil || r.Status != 200 || r.ColdStart != wantCold {
			t.Fatalf("run %d: %v %d cold=%v %s", i, err, r.Status, r.ColdStart, r.Body)
		}
	}
	if n := p.idleCount("r1"); n != 1 {
		t.Errorf("%d idle instances, want 1", n)
	}
	p.Release("r1", "")
	if n := p.idleCount("r1"); n != 0 {
		t.Errorf("%d idle instances after release", n)
	}
	r, err := p.Run(ctx, req, nil)
	if err != nil || !r.ColdStart || string(r.Body) != `{"tokens":null,"raw":1}` {
		t.Errorf("after release: %v cold=%v %s", err, r.ColdStart, r.Body)
	}
}

func TestPoolsSaturation(t *testing.T) {
	p, b := newPools(t, PoolsConfig{Concurrency: map[rt.Tier]int{rt.Standard: 1}, QueueWait: 50 * time.Millisecond})
	req := request(t, b, "slow", `module.exports = () => new Promise(r => setTimeout(() => r({ raw: 1 }), 400))`)
	ctx := context.Background()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := p.Run(ctx, req, func() { close(started) })
		done <- err
	}()
	<-started
	if _, err := p.Run(ctx, req, nil); !errors.Is(err, ErrSaturated) {
		t.Errorf("second run: %v, want ErrSaturated", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(ctx, req, nil); err != nil {
		t.Errorf("after the slot freed: %v", err)
	}
}

func TestPoolsWarmAndEvict(t *testing.T) {
	p, b := newPools(t, PoolsConfig{IdleTTL: time.Millisecond})
	warm := request(t, b, "warm", `module.exports = async () => ({ raw: 'w' })`)
	warm.WarmConcurrency = 2
	if err := p.Prepare(warm, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if n := p.waitIdle("warm", 2); n != 2 {
		t.Fatalf("%d warm instances, want 2", n)
	}
	cold := request(t, b, "cold", `module.exports = async () => ({ raw: 'c' })`)
	if _, err := p.Run(context.Background(), cold, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	p.Evict(time.Now())
	if n := p.idleCount("cold"); n != 0 {
		t.Errorf("idle instance of a warm_concurrency 0 reactor not evicted")
	}
	if n := p.idleCount("warm"); n != 2 {
		t.Errorf("eviction dropped warm instances: %d left", n)
	}
}

// TestPrepareAfterDeploy: a version deployed within the idle TTL gets one instance
// ready beyond its warm_concurrency of 0, so its first invocation is not a cold start;
// a version deployed long ago (found when the worker starts) gets none.
func TestPrepareAfterDeploy(t *testing.T) {
	p, b := newPools(t, PoolsConfig{IdleTTL: time.Minute})
	fresh := request(t, b, "fresh", `module.exports = async () => ({ raw: 'f' })`)
	old := request(t, b, "old", `module.exports = async () => ({ raw: 'o' })`)
	if err := p.Prepare(fresh, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := p.Prepare(old, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := p.waitIdle("fresh", 1); n != 1 {
		t.Fatalf("freshly deployed version: %d idle instances, want 1", n)
	}
	time.Sleep(100 * time.Millisecond) // the old version's preparation has had its chance
	if n := p.idleCount("old"); n != 0 {
		t.Errorf("version deployed an hour ago: %d idle instances, want 0", n)
	}
	for _, tc := range []struct {
		req      Request
		wantCold bool
	}{{fresh, false}, {old, true}} {
		r, err := p.Run(context.Background(), tc.req, nil)
		if err != nil || r.Status != 200 || r.ColdStart != tc.wantCold {
			t.Errorf("%s: %v %d cold=%v, want cold=%v", tc.req.ReactorID, err, r.Status, r.ColdStart, tc.wantCold)
		}
	}
}

// TestMetricsCount: invocations are counted by tier and outcome, cold starts by tier,
// and idle instances show in the warm gauge.
func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewRegistry()
	p, b := newPools(t, PoolsConfig{Metrics: NewMetrics(reg)})
	req := request(t, b, "m", `module.exports = async () => ({ raw: 1 })`)
	for range 3 {
		if r, err := p.Run(context.Background(), req, nil); err != nil || r.Status != 200 {
			t.Fatalf("run: %v %d", err, r.Status)
		}
	}
	m := p.cfg.Metrics
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"invocations ok", m.invocations.WithLabelValues("standard", "ok"), 3},
		{"cold starts", m.coldStarts.WithLabelValues("standard"), 1},
		{"warm instances", m.warm.WithLabelValues("standard"), 1},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
}
