package lifecycle_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/internal/natsd/natstest"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/lifecycle"
	"github.com/reactord/reactord/store"
)

// fakeBuilder stands in for npm and esbuild: it returns the code as the bundle,
// fails code "fail", and blocks code "block" until its context ends.
type fakeBuilder struct {
	mu        sync.Mutex
	builds    []string
	lockfiles []string
	// during, when set, runs inside each build (to change the record meanwhile).
	during func()
}

func (f *fakeBuilder) Build(ctx context.Context, in lifecycle.Input) (*lifecycle.Output, error) {
	f.mu.Lock()
	f.builds = append(f.builds, string(in.Code))
	f.lockfiles = append(f.lockfiles, string(in.Lockfile))
	during := f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	switch string(in.Code) {
	case "fail":
		return nil, &lifecycle.Failure{Code: "dependency_not_found", Message: "no such version"}
	case "block":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &lifecycle.Output{Bundle: []byte("bundled:" + string(in.Code)), Resolved: map[string]string{"lodash": "4.17.21"},
		Lockfile: []byte(`{"lockfileVersion":3,"code":"` + string(in.Code) + `"}`)}, nil
}

type env struct {
	reactors *store.Reactors
	proxies  *store.Proxies
	bundles  bundles.Store
	builder  *fakeBuilder
}

func newEnv(t *testing.T) env {
	t.Helper()
	js, dir := natstest.JetStream(t)
	key, err := seal.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	reactors, err := store.OpenReactors(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	proxies, err := store.OpenProxies(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundles.Open(ctx, "file:"+dir+"/bundles", bundles.S3Config{})
	if err != nil {
		t.Fatal(err)
	}
	return env{reactors: reactors, proxies: proxies, bundles: b, builder: &fakeBuilder{}}
}

func (e env) manager(ctx context.Context, t *testing.T) *lifecycle.Manager {
	t.Helper()
	m := lifecycle.New(lifecycle.Config{Reactors: e.reactors, Proxies: e.proxies, Builder: e.builder, Bundles: e.bundles})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return m
}

var node22 = &store.Runtime{Image: images.Node22, Dependencies: map[string]string{"lodash": "4.17.21"}}

func pendingReactor(t *testing.T, e env, id, code, state string) *store.Reactor {
	t.Helper()
	rec := &store.Reactor{ID: id, Name: "r", State: state, CreatedAt: time.Now(),
		Requested: &store.Requested{Reactor: &store.Pending{Name: "r", Code: code, Runtime: node22}}}
	if err := e.reactors.Create(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func pendingProxy(t *testing.T, e env, id, code string) *store.Proxy {
	t.Helper()
	ts := []store.ProxyTransform{{Type: "code", Code: code, Runtime: node22}, {Type: "mask", Matcher: "chase_stratus_pan", Replacement: "X"}}
	rec := &store.Proxy{ID: id, Name: "p", Key: id, State: store.StateCreating, CreatedAt: time.Now(),
		Requested: &store.ProxyRequested{RequestTransforms: ts}}
	if err := e.proxies.Create(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestReactorBuildOutcomes(t *testing.T) {
	cases := []struct {
		name, code           string
		wantState, wantError string
		wantBundle           bool
	}{
		{"built", "module.exports = () => 1", store.StateActive, "", true},
		{"failed", "fail", store.StateFailed, "dependency_not_found", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			m := e.manager(ctx, t)
			m.Reactor(pendingReactor(t, e, "r1", tc.code, store.StateCreating))
			m.Wait()
			got, err := e.reactors.Get(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.wantState || (got.Bundle != "") != tc.wantBundle {
				t.Fatalf("state %q bundle %q, want %q (bundle %v)", got.State, got.Bundle, tc.wantState, tc.wantBundle)
			}
			if tc.wantError != "" && (got.Requested == nil || got.Requested.ErrorCode != tc.wantError) {
				t.Fatalf("requested %+v, want error %s", got.Requested, tc.wantError)
			}
			if tc.wantBundle {
				if b, err := e.bundles.Get(ctx, got.Bundle); err != nil || string(b) != "bundled:"+tc.code {
					t.Fatalf("stored bundle %q %v", b, err)
				}
			}
		})
	}
}

// TestFailedUpdateKeepsServing: an update whose build fails leaves the reactor
// outdated with the last good bundle.
func TestFailedUpdateKeepsServing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.manager(ctx, t)
	rec := pendingReactor(t, e, "r1", "good", store.StateCreating)
	m.Reactor(rec)
	m.Wait()
	cur, _ := e.reactors.Get(ctx, "r1")
	good := cur.Bundle
	next := *cur
	next.State, next.Requested = store.StateUpdating, &store.Requested{Reactor: &store.Pending{Code: "fail", Runtime: node22}}
	if err := e.reactors.Update(ctx, &next); err != nil {
		t.Fatal(err)
	}
	m.Reactor(&next)
	m.Wait()
	got, _ := e.reactors.Get(ctx, "r1")
	if got.State != store.StateOutdated || got.Bundle != good || got.Code != "good" || got.Requested.ErrorCode != "dependency_not_found" {
		t.Fatalf("got state %q bundle %q code %q requested %+v", got.State, got.Bundle, got.Code, got.Requested)
	}
}

func TestProxyBuild(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.manager(ctx, t)
	m.Proxy(pendingProxy(t, e, "p1", "module.exports = x => x"))
	m.Proxy(pendingProxy(t, e, "p2", "fail"))
	m.Wait()
	p1, _ := e.proxies.Get(ctx, "p1")
	if p1.State != store.StateActive || p1.Requested != nil || len(p1.RequestTransforms) != 2 || p1.RequestTransforms[0].Bundle == "" {
		t.Fatalf("p1: %+v", p1)
	}
	p2, _ := e.proxies.Get(ctx, "p2")
	if p2.State != store.StateFailed || p2.Requested == nil || p2.Requested.ErrorCode != "dependency_not_found" {
		t.Fatalf("p2: %+v", p2)
	}
}

// TestResumeAtStart: builds a stopped process left pending, of reactors and of
// proxies alike, run when the next manager starts.
func TestResumeAtStart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pendingReactor(t, e, "r-creating", "a", store.StateCreating)
	pendingProxy(t, e, "p-creating", "b")
	done := &store.Reactor{ID: "r-active", Name: "r", State: store.StateActive, Bundle: bundles.Hash([]byte("x")), CreatedAt: time.Now()}
	if err := e.reactors.Create(ctx, done); err != nil {
		t.Fatal(err)
	}
	m := e.manager(ctx, t)
	m.Wait()
	if r, _ := e.reactors.Get(ctx, "r-creating"); r.State != store.StateActive {
		t.Errorf("reactor state %q after resume", r.State)
	}
	if p, _ := e.proxies.Get(ctx, "p-creating"); p.State != store.StateActive {
		t.Errorf("proxy state %q after resume", p.State)
	}
	if len(e.builder.builds) != 2 {
		t.Errorf("builds %v, want the two pending ones", e.builder.builds)
	}
}

// TestCancel: a deleted resource's build stops and records nothing.
func TestCancel(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.manager(ctx, t)
	m.Reactor(pendingReactor(t, e, "r1", "block", store.StateCreating))
	waitFor(t, func() bool { e.builder.mu.Lock(); defer e.builder.mu.Unlock(); return len(e.builder.builds) == 1 })
	m.Cancel("r1")
	m.Wait()
	if r, _ := e.reactors.Get(ctx, "r1"); r.State != store.StateCreating || r.Requested.ErrorCode != "" {
		t.Fatalf("a cancelled build recorded %q %+v", r.State, r.Requested)
	}
}

// TestStopLeavesPending: builds cut short by the manager's context ending record
// nothing, so the next start resumes them.
func TestStopLeavesPending(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	m := e.manager(ctx, t)
	m.Proxy(pendingProxy(t, e, "p1", "block"))
	waitFor(t, func() bool { e.builder.mu.Lock(); defer e.builder.mu.Unlock(); return len(e.builder.builds) == 1 })
	cancel()
	m.Wait()
	if p, _ := e.proxies.Get(context.Background(), "p1"); p.State != store.StateCreating {
		t.Fatalf("state %q after stop, want creating", p.State)
	}
}

// TestChangedWhileBuilding: a record changed while it built still gets the outcome.
func TestChangedWhileBuilding(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.manager(ctx, t)
	rec := pendingReactor(t, e, "r1", "a", store.StateCreating)
	e.builder.during = func() {
		cur, err := e.reactors.Get(ctx, "r1")
		if err != nil {
			t.Error(err)
			return
		}
		next := *cur
		next.Name = "renamed meanwhile"
		if err := e.reactors.Update(ctx, &next); err != nil {
			t.Error(err)
		}
	}
	m.Reactor(rec) // rec's revision is now stale
	m.Wait()
	got, _ := e.reactors.Get(ctx, "r1")
	if got.State != store.StateActive || got.Bundle == "" {
		t.Fatalf("state %q bundle %q after a concurrent change", got.State, got.Bundle)
	}
}

func TestNoBuilder(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := lifecycle.New(lifecycle.Config{Reactors: e.reactors, Bundles: e.bundles})
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if m.CanBuild() {
		t.Fatal("CanBuild without a builder")
	}
	m.Reactor(pendingReactor(t, e, "r1", "a", store.StateCreating))
	m.Wait()
	if r, _ := e.reactors.Get(ctx, "r1"); r.State != store.StateFailed || r.Requested.ErrorCode != "builder_unavailable" {
		t.Fatalf("got %q %+v", r.State, r.Requested)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLockfileReuse: building the same dependencies again installs the running
// version's tree; changed dependencies resolve afresh. The resolved versions are
// recorded on the reactor.
func TestLockfileReuse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.manager(ctx, t)
	m.Reactor(pendingReactor(t, e, "r1", "v1", store.StateCreating))
	m.Wait()
	update := func(code string, rt *store.Runtime) {
		cur, _ := e.reactors.Get(ctx, "r1")
		next := *cur
		next.State, next.Requested = store.StateUpdating, &store.Requested{Reactor: &store.Pending{Code: code, Runtime: rt}}
		if err := e.reactors.Update(ctx, &next); err != nil {
			t.Fatal(err)
		}
		m.Reactor(&next)
		m.Wait()
	}
	update("v2", node22)
	changed := &store.Runtime{Image: images.Node22, Dependencies: map[string]string{"lodash": "^4.17.0"}}
	update("v3", changed)
	want := []string{"", `{"lockfileVersion":3,"code":"v1"}`, ""}
	for i, w := range want {
		if e.builder.lockfiles[i] != w {
			t.Errorf("build %d got lockfile %q, want %q", i+1, e.builder.lockfiles[i], w)
		}
	}
	got, _ := e.reactors.Get(ctx, "r1")
	if got.Resolved["lodash"] != "4.17.21" || string(got.Lockfile) != `{"lockfileVersion":3,"code":"v3"}` {
		t.Errorf("resolved %v lockfile %s", got.Resolved, got.Lockfile)
	}
}
