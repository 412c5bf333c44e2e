// Package lifecycle runs the build step of deployable resources, reactors and proxies
// alike: a resource whose code needs building (its image takes npm dependencies) is
// stored as creating or updating with its pending deployment, built here in a bounded
// pool, and recorded as active, or failed/outdated with the reason. Builds are
// cancelled when their resource is deleted, retried on a revision conflict, and
// resumed when a gateway starts, since only the bucket remembers they are pending.
package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// Builder turns code and npm dependencies into one bundle that the runtime loads.
// Failures a user can act on are *Failure.
type Builder interface {
	Build(ctx context.Context, in Input) (*Output, error)
}

// Output is a build's bundle and what npm resolved for it.
type Output struct {
	Bundle []byte
	// Resolved maps each direct dependency to the version installed.
	Resolved map[string]string
	// Lockfile is npm's package-lock.json of the build.
	Lockfile []byte
}

// Input is what one build needs.
type Input struct {
	Image                     string
	Code                      []byte
	Dependencies, Resolutions map[string]string
	// Limits bound evaluating the built code: those it will run with.
	Limits runtime.Limits
	// Lockfile, when set, is installed exactly: the same dependencies built again
	// give the same tree.
	Lockfile []byte
}

// Failure is a build failure as a resource's requested object shows it.
type Failure struct {
	Code, Message string
	Details       json.RawMessage
}

func (f *Failure) Error() string { return f.Code + ": " + f.Message }

// Config wires a Manager.
type Config struct {
	Reactors *store.Reactors
	// Proxies is nil when the gateway serves no proxies.
	Proxies *store.Proxies
	// Builder is nil when this gateway cannot build: builds then fail with
	// builder_unavailable, and published bundles are still verified.
	Builder Builder
	Bundles bundles.Store
	// Engine loads each bundle once before it is accepted.
	Engine *runtime.Engine
	// Concurrency bounds the builds run at once (default 1), so that a burst of
	// creates cannot take the gateway's CPU from invocations.
	Concurrency int
	Logger      *slog.Logger
}

// Manager runs builds.
type Manager struct {
	cfg  Config
	log  *slog.Logger
	sem  chan struct{}
	base context.Context

	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a manager; Start resumes pending builds and sets their lifetime.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{cfg: cfg, log: cfg.Logger, sem: make(chan struct{}, max(1, cfg.Concurrency)),
		base: context.Background(), running: map[string]context.CancelFunc{}}
}

// CanBuild reports whether this gateway runs a builder.
func (m *Manager) CanBuild() bool { return m.cfg.Builder != nil }

// Start resumes the builds of every reactor and proxy a stopped process left
// creating or updating. Builds run until ctx ends; a build cut short that way is
// resumed by the next start.
func (m *Manager) Start(ctx context.Context) error {
	m.base = ctx
	reactors, err := m.cfg.Reactors.List(ctx)
	if err != nil {
		return fmt.Errorf("lifecycle: resume reactor builds: %w", err)
	}
	for _, rec := range reactors {
		if pending(rec.State) {
			m.log.Info("resuming a build", "reactor_id", rec.ID, "state", rec.State)
			m.Reactor(rec)
		}
	}
	if m.cfg.Proxies == nil {
		return nil
	}
	proxies, err := m.cfg.Proxies.List(ctx)
	if err != nil {
		return fmt.Errorf("lifecycle: resume proxy builds: %w", err)
	}
	for _, rec := range proxies {
		if pending(rec.State) {
			m.log.Info("resuming a build", "proxy_id", rec.ID, "state", rec.State)
			m.Proxy(rec)
		}
	}
	return nil
}

func pending(state string) bool { return state == store.StateCreating || state == store.StateUpdating }

// Wait waits for the builds started so far to finish or be cancelled.
func (m *Manager) Wait() { m.wg.Wait() }

// Cancel stops the pending build of a resource, if any (it was deleted).
func (m *Manager) Cancel(id string) {
	m.mu.Lock()
	if c := m.running[id]; c != nil {
		c()
		delete(m.running, id)
	}
	m.mu.Unlock()
}

// submit runs one build for id in the pool, cancelling an older one for the same id.
// build runs holding a pool slot and returns what to record, which runs after the
// slot is released unless the build was cancelled.
func (m *Manager) submit(id string, build func(ctx context.Context) (record func(context.Context))) {
	ctx, cancel := context.WithCancel(m.base)
	m.mu.Lock()
	if old := m.running[id]; old != nil {
		old()
	}
	m.running[id] = cancel
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer func() {
			m.mu.Lock()
			delete(m.running, id)
			m.mu.Unlock()
			cancel()
		}()
		select {
		case m.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		record := build(ctx)
		<-m.sem
		if ctx.Err() == nil {
			record(context.WithoutCancel(ctx))
		}
	}()
}

// built is one unit of code built: its bundle's address and, for a build from
// dependencies, what npm resolved.
type built struct {
	sha      string
	resolved map[string]string
	lockfile []byte
}

// build makes the bundle of one unit of code: a published bundle (runtime.bundle) is
// only checked to load; anything else goes through the builder (installing lockfile
// exactly when given) and into the bundle store.
func (m *Manager) build(ctx context.Context, code string, rt *store.Runtime, lockfile []byte) (built, *Failure) {
	if sha := rt.Bundle; sha != "" {
		bundle, err := m.cfg.Bundles.Get(ctx, sha)
		if err != nil {
			return built{}, &Failure{Code: "bundle_not_found", Message: "bundle " + sha + " is not in the bundle store: " + err.Error()}
		}
		snap, err := m.cfg.Engine.Load(ctx, runtime.Bundle{Image: rt.Image, Code: bundle, Limits: rt.Limits()})
		if err != nil {
			return built{}, &Failure{Code: "invalid_code", Message: "the published bundle does not load: " + err.Error()}
		}
		snap.Close()
		return built{sha: sha}, nil
	}
	if m.cfg.Builder == nil {
		return built{}, &Failure{Code: "builder_unavailable", Message: "this deployment does not run the node22 builder"}
	}
	out, err := m.cfg.Builder.Build(ctx, Input{Image: rt.Image, Code: []byte(code), Dependencies: rt.Dependencies,
		Resolutions: rt.Resolutions, Limits: rt.Limits(), Lockfile: lockfile})
	var f *Failure
	if errors.As(err, &f) {
		return built{}, f
	}
	if err != nil {
		m.log.Error("build failed", "error", err)
		return built{}, &Failure{Code: "build_failed", Message: "the build failed: " + err.Error()}
	}
	sha, err := m.cfg.Bundles.Put(ctx, out.Bundle) // a no-op when the builder stored it
	if err != nil {
		return built{}, &Failure{Code: "build_failed", Message: "storing the bundle failed: " + err.Error()}
	}
	return built{sha: sha, resolved: out.Resolved, lockfile: out.Lockfile}, nil
}

// commit applies an outcome to the current record with next, retrying when the
// record changed concurrently; a record deleted meanwhile stays deleted.
func commit[T any](ctx context.Context, log *slog.Logger, noun, id string,
	get func(context.Context, string) (*T, error), update func(context.Context, *T) error, next func(cur T) T) {
	for range 10 {
		cur, err := get(ctx, id)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				log.Error("recording a build outcome failed", noun+"_id", id, "error", err)
			}
			return
		}
		n := next(*cur)
		err = update(ctx, &n)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			log.Error("recording a build outcome failed", noun+"_id", id, "error", err)
		}
		return
	}
	log.Error("recording a build outcome failed: the record kept changing", noun+"_id", id)
}

// Reactor builds a reactor's requested deployment, if it has one, and records the
// outcome: active, or failed/outdated with the reason under requested.
func (m *Manager) Reactor(rec *store.Reactor) {
	if rec.Requested == nil || rec.Requested.Reactor == nil {
		return
	}
	p, id := *rec.Requested.Reactor, rec.ID
	// The same dependencies as the running version install its tree again (a
	// reproducible rebuild); changed dependencies resolve afresh.
	var lockfile []byte
	if rec.Bundle != "" && rec.Runtime != nil && p.Runtime != nil && sameDependencies(rec.Runtime, p.Runtime) {
		lockfile = rec.Lockfile
	}
	m.submit(id, func(ctx context.Context) func(context.Context) {
		start := time.Now()
		b, failure := m.build(ctx, p.Code, p.Runtime, lockfile)
		return func(ctx context.Context) {
			m.log.Info("build finished", "reactor_id", id, "ok", failure == nil, "duration", time.Since(start).String())
			commit(ctx, m.log, "reactor", id, m.cfg.Reactors.Get, m.cfg.Reactors.Update, func(next store.Reactor) store.Reactor {
				if failure == nil {
					if p.Name != "" {
						next.Name = p.Name
					}
					next.Code, next.Runtime, next.Configuration, next.Application = p.Code, p.Runtime, p.Configuration, p.Application
					next.Bundle, next.State, next.Requested = b.sha, store.StateActive, nil
					next.Resolved, next.Lockfile = b.resolved, b.lockfile
					return next
				}
				firstBuild := next.Bundle == "" || next.State == store.StateCreating
				next.State = failedState(firstBuild)
				next.Requested = &store.Requested{Reactor: &p, ErrorCode: failure.Code, ErrorMessage: failure.Message, ErrorDetails: failure.Details}
				return next
			})
		}
	})
}

// sameDependencies reports whether two runtimes ask for the same npm dependencies.
func sameDependencies(a, b *store.Runtime) bool {
	return maps.Equal(a.Dependencies, b.Dependencies) && maps.Equal(a.Resolutions, b.Resolutions)
}

// failedState is failed for a resource that never ran, outdated for one whose last
// good version keeps serving.
func failedState(firstBuild bool) string {
	if firstBuild {
		return store.StateFailed
	}
	return store.StateOutdated
}

// Proxy builds the code transforms of a proxy's requested deployment, if it has
// one, and records the outcome like Reactor.
func (m *Manager) Proxy(rec *store.Proxy) {
	if rec.Requested == nil || m.cfg.Proxies == nil {
		return
	}
	p, id := *rec.Requested, rec.ID
	// The build fills in bundle addresses: on copies, not the shared record.
	p.RequestTransforms = append([]store.ProxyTransform(nil), p.RequestTransforms...)
	p.ResponseTransforms = append([]store.ProxyTransform(nil), p.ResponseTransforms...)
	m.submit(id, func(ctx context.Context) func(context.Context) {
		start := time.Now()
		failure := m.buildTransforms(ctx, p.RequestTransforms)
		if failure == nil {
			failure = m.buildTransforms(ctx, p.ResponseTransforms)
		}
		return func(ctx context.Context) {
			m.log.Info("build finished", "proxy_id", id, "ok", failure == nil, "duration", time.Since(start).String())
			commit(ctx, m.log, "proxy", id, m.cfg.Proxies.Get, m.cfg.Proxies.Update, func(next store.Proxy) store.Proxy {
				if failure == nil {
					next.RequestTransforms, next.ResponseTransforms = p.RequestTransforms, p.ResponseTransforms
					next.State, next.Requested = store.StateActive, nil
					return next
				}
				next.State = failedState(next.State == store.StateCreating)
				q := p
				q.ErrorCode, q.ErrorMessage, q.ErrorDetails = failure.Code, failure.Message, failure.Details
				next.Requested = &q
				return next
			})
		}
	})
}

// buildTransforms builds each code transform that needs a build in place, and
// stores the bundle of every other code transform (the pending copy does not keep
// bundle addresses).
func (m *Manager) buildTransforms(ctx context.Context, ts []store.ProxyTransform) *Failure {
	for i := range ts {
		t := &ts[i]
		if !t.IsCode() {
			continue
		}
		if !t.Built() {
			sha, err := m.cfg.Bundles.Put(ctx, []byte(t.Code))
			if err != nil {
				return &Failure{Code: "build_failed", Message: "storing the bundle failed: " + err.Error()}
			}
			t.Bundle = sha
			continue
		}
		b, failure := m.build(ctx, t.Code, t.Runtime, nil)
		if failure != nil {
			return failure
		}
		t.Bundle = b.sha
	}
	return nil
}
