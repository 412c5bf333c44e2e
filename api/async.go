package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/reactord/reactord/store"
)

// reactAsync is POST /reactors/{id}/react-async: the request is made durable in the
// queue and answered at once with its id; GET .../results/{requestId} returns the
// answer once a gateway has run it.
func (s *Server) reactAsync(w http.ResponseWriter, r *http.Request, p principal) {
	args, rec, ok := s.reactRequest(w, r)
	if !ok {
		return
	}
	req := store.AsyncRequest{ID: uuid.NewString(), ReactorID: rec.ID, TenantID: p.TenantID, ApplicationID: p.ApplicationID,
		Permissions: slices.Sorted(maps.Keys(p.Permissions)), TraceID: TraceID(r.Context()), Args: args, AcceptedAt: time.Now().UTC()}
	if len(req.Args) == 0 {
		req.Args = json.RawMessage("null")
	}
	if err := s.cfg.Async.Enqueue(r.Context(), req); err != nil {
		s.internal(w, r, err)
		return
	}
	// The spec's name is async_reactor_request_id; @basis-theory/node-sdk 5.7.0's
	// serializer reads asyncReactorRequestId verbatim, so both are sent.
	writeJSON(w, http.StatusAccepted, map[string]string{"async_reactor_request_id": req.ID, "asyncReactorRequestId": req.ID})
}

// reactorResult is GET /reactors/{id}/results/{requestId}: 202 with the request's
// pending state, then the same response the synchronous call would have given.
func (s *Server) reactorResult(w http.ResponseWriter, r *http.Request, p principal) {
	res, err := s.cfg.Async.Result(r.Context(), r.PathValue("requestId"))
	if errors.Is(err, store.ErrNotFound) || (err == nil && res.ReactorID != r.PathValue("id")) {
		writeError(w, r, http.StatusNotFound, "Not Found", "no such request for this reactor (results are kept for a limited period)", nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if res.Pending {
		writeJSON(w, http.StatusAccepted, map[string]string{"async_reactor_request_id": res.ID, "status": "pending"})
		return
	}
	outcome{Status: res.Status, Headers: res.Headers, ContentType: res.ContentType, Body: res.Body}.write(w)
}

// RunAsync runs queued react-async requests, up to concurrency at once, until ctx
// ends. Every gateway may run it: the queue hands each request to one of them.
func (s *Server) RunAsync(ctx context.Context, concurrency int) error {
	return s.cfg.Async.Run(ctx, concurrency, s.log, func(ctx context.Context, req store.AsyncRequest) store.AsyncResult {
		ctx = withTrace(ctx, req.TraceID)
		p := principal{ApplicationID: req.ApplicationID, TenantID: req.TenantID, Permissions: map[string]bool{}}
		for _, perm := range req.Permissions {
			p.Permissions[perm] = true
		}
		var out outcome
		rec, err := s.reactor(ctx, req.ReactorID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			out = errorOutcome(http.StatusNotFound, "Not Found", "the reactor was deleted before the request ran")
		case err != nil:
			s.log.Error("async request: reactor lookup failed", "trace_id", req.TraceID, "error", err)
			out = errorOutcome(http.StatusInternalServerError, "Internal Server Error", "something went wrong; the trace id identifies it in the logs")
		default:
			out = s.invoke(ctx, rec, req.Args, p)
		}
		s.log.LogAttrs(ctx, slog.LevelDebug, "async request done", slog.String("trace_id", req.TraceID), slog.Int("status", out.Status))
		return store.AsyncResult{Status: out.Status, Headers: out.Headers, ContentType: out.ContentType, Body: out.Body}
	})
}
