package api

import (
	"context"
	"errors"
	"slices"

	"github.com/reactord/reactord/store"
)

// needsBuild reports whether a proxy request has node22 code transforms.
func (q *proxyRequest) needsBuild() bool {
	for _, t := range slices.Concat(q.RequestTransforms, q.ResponseTransforms) {
		if (t.Type == "" || t.Type == "code") && isNode22(t.Runtime) {
			return true
		}
	}
	return false
}

// startProxyBuild builds the node22 code transforms of a proxy's pending deployment
// in the build pool, then records active, or failed/outdated with the reason.
func (s *Server) startProxyBuild(rec *store.Proxy) {
	if rec.Requested == nil {
		return
	}
	pending, id := *rec.Requested, rec.ID
	// The build fills in bundle addresses: on copies, not the shared record.
	pending.RequestTransforms = slices.Clone(pending.RequestTransforms)
	pending.ResponseTransforms = slices.Clone(pending.ResponseTransforms)
	s.builds.run(s.base, id, func(ctx context.Context) func(context.Context) {
		failure := s.buildTransforms(ctx, pending.RequestTransforms)
		if failure == nil {
			failure = s.buildTransforms(ctx, pending.ResponseTransforms)
		}
		return func(ctx context.Context) { s.finishProxyBuild(ctx, id, pending, failure) }
	})
}

// buildTransforms builds each node22 code transform in place and stores each
// node-bt one's bundle (the pending copy does not keep bundle addresses).
func (s *Server) buildTransforms(ctx context.Context, ts []store.ProxyTransform) *BuildError {
	for i := range ts {
		t := &ts[i]
		if t.Type != "" && t.Type != "code" {
			continue
		}
		if !isNode22(t.Runtime) {
			sha, err := s.cfg.Bundles.Put(ctx, []byte(t.Code))
			if err != nil {
				return &BuildError{Code: "build_failed", Message: "storing the bundle failed: " + err.Error()}
			}
			t.Bundle = sha
			continue
		}
		sha, failure := s.build(ctx, store.Pending{Code: t.Code, Runtime: t.Runtime})
		if failure != nil {
			return failure
		}
		t.Bundle = sha
	}
	return nil
}

func (s *Server) finishProxyBuild(ctx context.Context, id string, p store.ProxyRequested, failure *BuildError) {
	for attempt := 0; attempt < 10; attempt++ {
		rec, err := s.cfg.Proxies.Get(ctx, id)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				s.log.Error("recording a proxy build outcome failed", "proxy_id", id, "error", err)
			}
			return
		}
		next := *rec
		if failure == nil {
			next.RequestTransforms, next.ResponseTransforms = p.RequestTransforms, p.ResponseTransforms
			next.State, next.Requested = store.StateActive, nil
		} else {
			next.State = store.StateOutdated
			if rec.State == store.StateCreating {
				next.State = store.StateFailed
			}
			p.ErrorCode, p.ErrorMessage, p.ErrorDetails = failure.Code, failure.Message, failure.Details
			next.Requested = &p
		}
		err = s.cfg.Proxies.Update(ctx, &next)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			s.log.Error("recording a proxy build outcome failed", "proxy_id", id, "error", err)
			return
		}
		s.proxies.put(&next)
		return
	}
}
