package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"deps.dev/util/semver"

	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// Builder turns a node22 reactor's code and pinned dependencies into one bundle that
// the runtime loads (the builder checks that, reporting code errors as BuildErrors).
type Builder interface {
	Build(ctx context.Context, in BuildInput) ([]byte, error)
}

// BuildInput is what a node22 build needs.
type BuildInput struct {
	Image                     string
	Code                      []byte
	Dependencies, Resolutions map[string]string
}

// BuildError is a build failure as a reactor's requested object shows it.
type BuildError struct {
	Code, Message string
	Details       json.RawMessage
}

func (e *BuildError) Error() string { return e.Code + ": " + e.Message }

// builds runs node22 builds in a bounded pool, one at a time per reactor, so that a
// burst of creates cannot take the gateway's CPU from invocations.
type builds struct {
	sem     chan struct{}
	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
}

func newBuilds(concurrency int) *builds {
	return &builds{sem: make(chan struct{}, max(1, concurrency)), running: map[string]context.CancelFunc{}}
}

// cancel stops a reactor's pending build, if any.
func (b *builds) cancel(id string) {
	b.mu.Lock()
	if c := b.running[id]; c != nil {
		c()
		delete(b.running, id)
	}
	b.mu.Unlock()
}

var packageName = regexp.MustCompile(`^(@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$`)

// validateDependencies checks that every dependency and resolution names an npm
// package and pins one exact version.
func validateDependencies(rt *store.Runtime, add func(field, msg string)) {
	for field, deps := range map[string]map[string]string{"runtime.dependencies": rt.Dependencies, "runtime.resolutions": rt.Resolutions} {
		for name, v := range deps {
			if len(name) > 214 || !packageName.MatchString(name) {
				add(field, fmt.Sprintf("%q is not a valid npm package name", name))
			}
			// an exact version or an npm semver range (^1.3.2, ~1.2, >=1 <2, ...), which
			// npm resolves at build time; tags, URLs, git and file references are refused
			if _, err := semver.NPM.ParseConstraint(v); err != nil || strings.TrimSpace(v) == "" || len(v) > 256 {
				add(field, fmt.Sprintf("%s@%s: use an exact version or a semver range (for example 1.2.3 or ^1.2.3); tags, URLs, git and file references are not accepted", name, v))
			}
		}
	}
}

func isNode22(rt *store.Runtime) bool { return rt != nil && rt.Image == images.Node22 }

// run runs one build for id in the pool, cancelling an older one for the same id:
// build runs holding a pool slot and returns what to record, which runs after the
// slot is released, unless the build was cancelled (deleted, or shutting down: a
// restart resumes it).
func (b *builds) run(base context.Context, id string, build func(ctx context.Context) (record func(context.Context))) {
	ctx, cancel := context.WithCancel(base)
	b.mu.Lock()
	if old := b.running[id]; old != nil {
		old()
	}
	b.running[id] = cancel
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() {
			b.mu.Lock()
			delete(b.running, id)
			b.mu.Unlock()
			cancel()
		}()
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		record := build(ctx)
		<-b.sem
		if ctx.Err() == nil {
			record(context.WithoutCancel(ctx))
		}
	}()
}

// startBuild builds the reactor's requested deployment in the background and records
// the outcome: active, or failed/outdated with the reason under requested.
func (s *Server) startBuild(rec *store.Reactor) {
	if rec.Requested == nil || rec.Requested.Reactor == nil {
		return
	}
	pending, id := *rec.Requested.Reactor, rec.ID
	s.builds.run(s.base, id, func(ctx context.Context) func(context.Context) {
		start := time.Now()
		sha, failure := s.build(ctx, pending)
		return func(ctx context.Context) {
			s.log.Info("node22 build finished", "reactor_id", id, "ok", failure == nil, "duration", time.Since(start).String())
			s.finishBuild(ctx, id, pending, sha, failure)
		}
	})
}

// build runs the builder and stores the bundle; a published bundle is only checked.
func (s *Server) build(ctx context.Context, p store.Pending) (string, *BuildError) {
	if sha := p.Runtime.Bundle; sha != "" {
		bundle, err := s.cfg.Bundles.Get(ctx, sha)
		if err != nil {
			return "", &BuildError{Code: "bundle_not_found", Message: "bundle " + sha + " is not in the bundle store: " + err.Error()}
		}
		snap, err := s.cfg.Engine.Load(ctx, runtime.Bundle{Image: images.Node22, Code: bundle})
		if err != nil {
			return "", &BuildError{Code: "invalid_code", Message: "the published bundle does not load: " + err.Error()}
		}
		snap.Close()
		return sha, nil
	}
	if s.cfg.Builder == nil {
		return "", &BuildError{Code: "builder_unavailable", Message: "this deployment does not run the node22 builder"}
	}
	in := BuildInput{Image: p.Runtime.Image, Code: []byte(p.Code), Dependencies: p.Runtime.Dependencies, Resolutions: p.Runtime.Resolutions}
	bundle, err := s.cfg.Builder.Build(ctx, in)
	var be *BuildError
	if errors.As(err, &be) {
		return "", be
	}
	if err != nil {
		s.log.Error("node22 build failed", "error", err)
		return "", &BuildError{Code: "build_failed", Message: "the build failed: " + err.Error()}
	}
	sha, err := s.cfg.Bundles.Put(ctx, bundle) // a no-op when the builder stored it
	if err != nil {
		return "", &BuildError{Code: "build_failed", Message: "storing the bundle failed: " + err.Error()}
	}
	return sha, nil
}

// finishBuild applies a build's outcome to the reactor, retrying on concurrent
// changes; a reactor deleted meanwhile stays deleted.
func (s *Server) finishBuild(ctx context.Context, id string, p store.Pending, sha string, failure *BuildError) {
	for attempt := 0; attempt < 10; attempt++ {
		rec, err := s.cfg.Reactors.Get(ctx, id)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				s.log.Error("recording a build outcome failed", "reactor_id", id, "error", err)
			}
			return
		}
		next := *rec
		if failure == nil {
			if p.Name != "" {
				next.Name = p.Name
			}
			next.Code, next.Runtime, next.Configuration, next.Application = p.Code, p.Runtime, p.Configuration, p.Application
			next.Bundle, next.State, next.Requested = sha, store.StateActive, nil
		} else {
			next.State = store.StateOutdated
			if rec.Bundle == "" || rec.State == store.StateCreating {
				next.State = store.StateFailed
			}
			next.Requested = &store.Requested{Reactor: &p, ErrorCode: failure.Code, ErrorMessage: failure.Message, ErrorDetails: failure.Details}
		}
		err = s.cfg.Reactors.Update(ctx, &next)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			s.log.Error("recording a build outcome failed", "reactor_id", id, "error", err)
			return
		}
		s.remember(&next)
		return
	}
}

// resumeBuilds restarts the builds of reactors left creating or updating by a
// stopped process.
func (s *Server) resumeBuilds(ctx context.Context) error {
	all, err := s.cfg.Reactors.List(ctx)
	if err != nil {
		return err
	}
	for _, rec := range all {
		if rec.State == store.StateCreating || rec.State == store.StateUpdating {
			s.log.Info("resuming a node22 build", "reactor_id", rec.ID, "state", rec.State)
			s.startBuild(rec)
		}
	}
	return nil
}

// invocable answers 409 for a reactor that has no built version to run.
func invocable(rec *store.Reactor) (outcome, bool) {
	switch rec.State {
	case "", store.StateActive, store.StateUpdating, store.StateOutdated:
		if rec.Bundle != "" {
			return outcome{}, true
		}
	}
	return errorOutcome(http.StatusConflict, "Conflict", "the reactor cannot be invoked in state "+rec.State), false
}
