package api

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/internal/trace"
	"github.com/reactord/reactord/invoke"
	"github.com/reactord/reactord/store"
)

// reactAsync is POST /reactors/{id}/react-async: the request is made durable in the
// queue and answered at once with its id; GET .../results/{requestId} returns the
// answer once a gateway has run it.
func (s *Server) reactAsync(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if p.Sandboxed() {
		// Queued work outlives the invocation whose key asked for it, and a reactor
		// re-enqueueing itself would never stop: reactor code cannot enqueue.
		writeError(w, r, http.StatusForbidden, "Forbidden", "reactor code cannot start react-async requests; call react instead", nil)
		return
	}
	args, rec, ok := s.reactRequest(w, r)
	if !ok {
		return
	}
	req := store.AsyncRequest{ID: uuid.NewString(), ReactorID: rec.ID, TenantID: p.TenantID, ApplicationID: p.ApplicationID,
		Permissions: slices.Sorted(maps.Keys(p.Permissions)), TraceID: trace.ID(r.Context()), Args: args, AcceptedAt: time.Now().UTC()}
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
func (s *Server) reactorResult(w http.ResponseWriter, r *http.Request, p auth.Principal) {
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
	invoke.Outcome{Status: res.Status, Headers: res.Headers, ContentType: res.ContentType, Body: res.Body}.Write(w)
}
