package api

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/store"
)

// replaceReactor is PUT /reactors/{id}: the body replaces the reactor's fields.
func (s *Server) replaceReactor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var q reactorRequest
	if !decode(w, r, &q) {
		return
	}
	if next, ok := s.update(w, r, p, rec, q); ok {
		writeJSON(w, http.StatusOK, showReactor(next))
	}
}

// patchReactor is PATCH /reactors/{id} with an RFC 7386 JSON merge patch: members
// set to null are removed, objects merge recursively.
func (s *Server) patchReactor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/merge-patch+json" {
		writeError(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type", "PATCH takes application/merge-patch+json", nil)
		return
	}
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var patch any
	if !decode(w, r, &patch) {
		return
	}
	current, _ := json.Marshal(reactorRequest{Name: rec.Name, Code: rec.Code, Configuration: rec.Configuration, Runtime: rec.Runtime, Application: rec.Application})
	var doc any
	json.Unmarshal(current, &doc)
	merged, _ := json.Marshal(MergePatch(doc, patch))
	var q reactorRequest
	if err := json.Unmarshal(merged, &q); err != nil {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the patched reactor is not valid: "+err.Error(), nil)
		return
	}
	if _, ok := s.update(w, r, p, rec, q); ok {
		w.WriteHeader(http.StatusNoContent) // the seeds: "Returns 204 if successful"
	}
}

// MergePatch applies an RFC 7386 merge patch to target and returns the result.
func MergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = MergePatch(out[k], v)
	}
	return out
}

// update validates q as the reactor's new state and stores it if the reactor did not
// change meanwhile. It answers errors itself (400, 409, 422, 500) and returns the
// stored record.
func (s *Server) update(w http.ResponseWriter, r *http.Request, p auth.Principal, rec *store.Reactor, q reactorRequest) (*store.Reactor, bool) {
	if rec.State == store.StateCreating || rec.State == store.StateUpdating {
		writeError(w, r, http.StatusConflict, "Conflict", "the reactor is "+rec.State+"; update it once its build finished", nil)
		return nil, false
	}
	if !s.validCode(w, r, &q) || !s.validApplication(w, r, q.Application) {
		return nil, false
	}
	next := *rec
	now := time.Now().UTC().Truncate(time.Second)
	next.ModifiedBy, next.ModifiedAt = p.ApplicationID, &now
	if q.Runtime.Built() {
		// The last good version keeps serving while the new one builds.
		next.Name, next.Requested = q.Name, &store.Requested{Reactor: q.pending()}
		next.State = store.StateUpdating
		if rec.Bundle == "" || rec.State == store.StateFailed {
			next.State = store.StateCreating
			next.Code, next.Configuration, next.Runtime, next.Application = q.Code, q.Configuration, q.Runtime, q.Application
		}
	} else {
		sha, err := s.cfg.Bundles.Put(r.Context(), []byte(q.Code))
		if err != nil {
			s.internal(w, r, err)
			return nil, false
		}
		next.Name, next.Code, next.Configuration, next.Runtime, next.Application = q.Name, q.Code, q.Configuration, q.Runtime, q.Application
		next.Bundle, next.State, next.Requested = sha, "", nil
	}
	err := s.cfg.Reactors.Update(r.Context(), &next)
	switch {
	case errors.Is(err, store.ErrConflict):
		writeError(w, r, http.StatusConflict, "Conflict", "the reactor changed while this request was processed; retry", nil)
		return nil, false
	case err != nil:
		s.internal(w, r, err)
		return nil, false
	}
	s.cfg.Builds.Reactor(&next)
	return &next, true
}

// validCode applies the field rules and checks the code once, answering 400 or 422
// itself when the reactor cannot be stored.
func (s *Server) validCode(w http.ResponseWriter, r *http.Request, q *reactorRequest) bool {
	if errs := q.validate(); len(errs) > 0 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the reactor is not valid", errs)
		return false
	}
	if e := s.checkCode(r.Context(), q.Code, q.Runtime, "code", "runtime"); e != nil {
		s.writeCodeError(w, r, e)
		return false
	}
	return true
}
