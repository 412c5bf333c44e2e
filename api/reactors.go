package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
)

type reactorRequest struct {
	Name          string                `json:"name"`
	Code          string                `json:"code"`
	Configuration map[string]string     `json:"configuration"`
	Runtime       *store.Runtime        `json:"runtime"`
	Application   *store.ApplicationRef `json:"application"`
}

// validate applies the spec's rules and returns field-level messages.
func (q *reactorRequest) validate() map[string][]string {
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }
	if n := utf8.RuneCountInString(q.Name); n < 1 || n > 200 {
		add("name", "name is required and must be 1 to 200 characters")
	}
	if q.Code == "" {
		add("code", "code is required")
	}
	if rt := q.Runtime; rt != nil {
		if _, err := images.Lookup(rt.Image); err != nil || rt.Image == "" {
			add("runtime.image", fmt.Sprintf("image must be one of %v", images.Names()))
		}
		if rt.Timeout != 0 && (rt.Timeout < 1 || rt.Timeout > 30) {
			add("runtime.timeout", "timeout must be between 1 and 30 seconds")
		}
		if rt.Resources != "" {
			if _, err := runtime.TierLimits(runtime.Tier(rt.Resources)); err != nil {
				add("runtime.resources", "resources must be one of standard, large, xlarge")
			}
		}
		if rt.WarmConcurrency < 0 || rt.WarmConcurrency > 100 {
			add("runtime.warm_concurrency", "warm_concurrency must be between 0 and 100")
		}
		for _, perm := range rt.Permissions {
			if !slices.Contains(runtimePermissions, perm) {
				add("runtime.permissions", fmt.Sprintf("%q is not a permission reactor code can hold (one of %v)", perm, runtimePermissions))
			}
		}
		if rt.Bundle != "" && (rt.Image != images.Node22 || len(rt.Dependencies)+len(rt.Resolutions) > 0 || !isSHA256(rt.Bundle)) {
			add("runtime.bundle", "bundle is the sha256 of a published node22 bundle, without dependencies (the bundle holds them)")
		}
		if rt.Image == images.Node22 {
			validateDependencies(rt, add)
		} else if len(rt.Dependencies)+len(rt.Resolutions) > 0 {
			add("runtime.dependencies", "dependencies and resolutions need the node22 image; node-bt has curated packages")
		}
	}
	if q.Application != nil && q.Application.ID == "" {
		add("application.id", "application.id is required when application is set")
	}
	return errs
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// runtimePermissions are what runtime.permissions may grant the code's bt client.
var runtimePermissions = []string{"token:create", "token:read", "token:reveal", "token:update", "token:delete", "token:search", "token:use"}

// validApplication checks that an attached application exists and may hold tokens
// (public or private), answering 400 itself otherwise.
func (s *Server) validApplication(w http.ResponseWriter, r *http.Request, ref *store.ApplicationRef) bool {
	if ref == nil {
		return true
	}
	a, err := s.cfg.Applications.Get(r.Context(), ref.ID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the reactor is not valid", map[string][]string{"application.id": {"application " + ref.ID + " does not exist"}})
		return false
	}
	if err != nil {
		s.internal(w, r, err)
		return false
	}
	if a.Type != appPrivate && a.Type != appPublic {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the reactor is not valid", map[string][]string{"application.id": {"the application must be public or private, not " + a.Type}})
		return false
	}
	return true
}

func (s *Server) createReactor(w http.ResponseWriter, r *http.Request, p principal) {
	var q reactorRequest
	if !decode(w, r, &q) {
		return
	}
	if !s.validCode(w, r, &q) || !s.validApplication(w, r, q.Application) {
		return
	}
	rec := &store.Reactor{
		ID: uuid.NewString(), TenantID: s.cfg.System.TenantID, Name: q.Name, Code: q.Code,
		Configuration: q.Configuration, Runtime: q.Runtime, Application: q.Application,
		CreatedBy: p.ApplicationID, CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	if isNode22(q.Runtime) {
		// node22 builds asynchronously: creating -> active or failed.
		rec.State = store.StateCreating
		rec.Requested = &store.Requested{Reactor: q.pending()}
	} else {
		sha, err := s.cfg.Bundles.Put(r.Context(), []byte(q.Code))
		if err != nil {
			s.internal(w, r, err)
			return
		}
		rec.Bundle = sha
	}
	if err := s.cfg.Reactors.Create(r.Context(), rec); err != nil {
		s.internal(w, r, err)
		return
	}
	s.remember(rec)
	s.startBuild(rec)
	writeJSON(w, http.StatusCreated, rec)
}

func (q *reactorRequest) pending() *store.Pending {
	return &store.Pending{Name: q.Name, Code: q.Code, Runtime: q.Runtime, Configuration: q.Configuration, Application: q.Application}
}

func (s *Server) remember(rec *store.Reactor) {
	s.mu.Lock()
	if old := s.cache[rec.ID]; old == nil || old.Revision <= rec.Revision {
		s.cache[rec.ID] = rec
	}
	s.mu.Unlock()
}

// reactor returns a reactor from the cache, falling back to the store.
func (s *Server) reactor(ctx context.Context, id string) (*store.Reactor, error) {
	s.mu.RLock()
	rec := s.cache[id]
	s.mu.RUnlock()
	if rec != nil {
		return rec, nil
	}
	rec, err := s.cfg.Reactors.Get(ctx, id)
	if err == nil {
		s.remember(rec)
	}
	return rec, err
}

// lookup finds the reactor of the request's {id}, answering 404 or 500 itself when it
// cannot.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*store.Reactor, bool) {
	rec, err := s.reactor(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "reactor not found", nil)
		return nil, false
	}
	if err != nil {
		s.internal(w, r, err)
		return nil, false
	}
	return rec, true
}

func (s *Server) getReactor(w http.ResponseWriter, r *http.Request, p principal) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, rec)
}

type pagination struct {
	TotalItems int `json:"total_items"`
	PageNumber int `json:"page_number"`
	PageSize   int `json:"page_size"`
	TotalPages int `json:"total_pages"`
}

// page is a list request's page and size.
type page struct{ number, size int }

// pageOf reads page and size (seeds: default 1 and 20, at most 100), answering 400
// itself when they are invalid.
func pageOf(w http.ResponseWriter, r *http.Request) (page, bool) {
	q := r.URL.Query()
	p := page{atoiOr(q.Get("page"), 1), atoiOr(q.Get("size"), 20)}
	if p.number < 1 || p.size < 1 || p.size > 100 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "page must be >= 1 and size 1 to 100",
			map[string][]string{"page": {"page must be a number >= 1"}, "size": {"size must be a number from 1 to 100"}})
		return p, false
	}
	return p, true
}

// writePage answers one page of data in the seeds' pagination object.
func writePage[T any](w http.ResponseWriter, p page, data []T) {
	total := len(data)
	lo, hi := min((p.number-1)*p.size, total), min(p.number*p.size, total)
	writeJSON(w, http.StatusOK, struct {
		Pagination pagination `json:"pagination"`
		Data       []T        `json:"data"`
	}{pagination{total, p.number, p.size, (total + p.size - 1) / p.size}, data[lo:hi]})
}

func (s *Server) listReactors(w http.ResponseWriter, r *http.Request, p principal) {
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	all, err := s.cfg.Reactors.List(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	q := r.URL.Query()
	ids := map[string]bool{}
	for _, id := range q["id"] {
		ids[id] = true
	}
	name := q.Get("name")
	data := []*store.Reactor{}
	for _, rec := range all {
		if (len(ids) > 0 && !ids[rec.ID]) || (name != "" && rec.Name != name) {
			continue
		}
		data = append(data, rec)
	}
	writePage(w, pg, data)
}

func atoiOr(s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

func (s *Server) deleteReactor(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	err := s.cfg.Reactors.Delete(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "reactor not found", nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.builds.cancel(id)
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) react(w http.ResponseWriter, r *http.Request, p principal) {
	args, rec, ok := s.reactRequest(w, r)
	if !ok {
		return
	}
	s.invoke(r.Context(), rec, args, p).write(w)
}

// reactRequest reads a react body's args and finds the reactor, answering 400, 404
// or 413 itself when it cannot.
func (s *Server) reactRequest(w http.ResponseWriter, r *http.Request) (json.RawMessage, *store.Reactor, bool) {
	var q struct {
		Args json.RawMessage `json:"args"`
	}
	if !decode(w, r, &q) {
		return nil, nil, false
	}
	rec, ok := s.lookup(w, r)
	return q.Args, rec, ok
}

// outcome is an invocation's answer to its caller, as sync react writes it and
// async results keep it.
type outcome struct {
	Status      int               `json:"status"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Body        []byte            `json:"body"`
}

func (o outcome) write(w http.ResponseWriter) {
	for k, v := range o.Headers {
		w.Header().Set(k, v)
	}
	if o.ContentType != "" {
		w.Header().Set("Content-Type", o.ContentType)
	}
	w.WriteHeader(o.Status)
	w.Write(o.Body)
}

// errorOutcome is an answer in the API's error format.
func errorOutcome(status int, title, detail string) outcome {
	return outcome{Status: status, ContentType: "application/json",
		Body: runtime.Error{Errors: map[string][]string{}, Title: title, Status: status, Detail: detail}.JSON()}
}

// invoke runs one invocation of rec with args for principal p: the path shared by
// react and react-async.
func (s *Server) invoke(ctx context.Context, rec *store.Reactor, args json.RawMessage, p principal) outcome {
	if refused, ok := invocable(rec); !ok {
		return refused
	}
	args, refused := s.detokenize(ctx, args)
	if refused != nil {
		return *refused
	}
	req := scheduler.RequestFor(rec)
	req.Args, req.TraceID = args, TraceID(ctx)
	// The caller waits for the reactor's timeout plus time to queue and reply.
	deadline := time.Now().Add(time.Duration(req.TimeoutMS)*time.Millisecond + 2*time.Second)
	req.Deadline = deadline.UnixMilli()
	g, err := s.grantFor(ctx, rec, p, deadline)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("granting the reactor's Basis Theory client failed", "trace_id", TraceID(ctx), "reactor_id", rec.ID, "error", err)
	}
	if g != nil {
		req.BT = g
		defer s.grants.revoke(g.Key)
	}
	reply, err := s.cfg.Dispatcher.Invoke(ctx, req)
	switch {
	case errors.Is(err, scheduler.ErrNoWorkers):
		return errorOutcome(http.StatusServiceUnavailable, "Service Unavailable", "no worker is serving the "+req.Tier+" tier")
	case errors.Is(err, scheduler.ErrWorkerLost):
		return errorOutcome(http.StatusInternalServerError, "Reactor Runtime Error", "the worker running the reactor stopped before it answered")
	case errors.Is(err, context.DeadlineExceeded):
		return errorOutcome(http.StatusInternalServerError, "Reactor Timeout", "no answer before the reactor's deadline")
	case err != nil:
		s.log.Error("invocation failed", "trace_id", TraceID(ctx), "reactor_id", rec.ID, "error", err)
		return errorOutcome(http.StatusInternalServerError, "Internal Server Error", "something went wrong; the trace id identifies it in the logs")
	}
	out := outcome{Status: reply.Status, Headers: reply.Headers, ContentType: reply.ContentType, Body: reply.Body}
	if len(reply.Tokenize) > 0 && reply.Status == http.StatusOK {
		toks, refused := s.tokenize(ctx, p, reply.Tokenize)
		if refused != nil {
			return *refused
		}
		out.Body, _ = json.Marshal(struct {
			Tokens json.RawMessage `json:"tokens"`
			Raw    json.RawMessage `json:"raw"`
		}{orNull(toks), orNull(reply.Raw)})
	}
	return out
}

func orNull(m json.RawMessage) json.RawMessage {
	if len(m) == 0 {
		return json.RawMessage("null")
	}
	return m
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "trace_id", TraceID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
	writeError(w, r, http.StatusInternalServerError, "Internal Server Error", "something went wrong; the trace id identifies it in the logs", nil)
}
