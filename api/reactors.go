package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/internal/trace"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/vulns"
)

type reactorRequest struct {
	Name          string                `json:"name"`
	Code          string                `json:"code"`
	Configuration map[string]string     `json:"configuration"`
	Runtime       *store.Runtime        `json:"runtime"`
	Application   *store.ApplicationRef `json:"application"`
}

// validate applies the field rules and returns field-level messages.
func (q *reactorRequest) validate() map[string][]string {
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }
	if n := utf8.RuneCountInString(q.Name); n < 1 || n > 200 {
		add("name", "name is required and must be 1 to 200 characters")
	}
	if q.Code == "" {
		add("code", "code is required")
	}
	validateRuntime(q.Runtime, "runtime", add)
	if q.Application != nil && q.Application.ID == "" {
		add("application.id", "application.id is required when application is set")
	}
	return errs
}

// validApplication checks that an attached application exists and may hold tokens
// (public or private), answering 400 itself otherwise.
func (s *Server) validApplication(w http.ResponseWriter, r *http.Request, ref *store.ApplicationRef) bool {
	if ref == nil {
		return true
	}
	msg, err := s.applicationProblem(r.Context(), ref.ID)
	if err != nil {
		s.internal(w, r, err)
		return false
	}
	if msg != "" {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the reactor is not valid", map[string][]string{"application.id": {msg}})
		return false
	}
	return true
}

func (s *Server) createReactor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
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
	if q.Runtime.Built() {
		// Built code builds asynchronously: creating -> active or failed.
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
	s.cfg.Builds.Reactor(rec)
	writeJSON(w, http.StatusCreated, showReactor(rec))
}

func (q *reactorRequest) pending() *store.Pending {
	return &store.Pending{Name: q.Name, Code: q.Code, Runtime: q.Runtime, Configuration: q.Configuration, Application: q.Application}
}

// lookup finds the reactor of the request's {id}, answering 404 or 500 itself when it
// cannot.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*store.Reactor, bool) {
	return find(s, w, r, "reactor", s.cfg.Reactors.Cached)
}

// find reads the record of the request's {id} with get, answering 404 (naming noun)
// or 500 itself when it cannot.
func find[T any](s *Server, w http.ResponseWriter, r *http.Request, noun string, get func(context.Context, string) (*T, error)) (*T, bool) {
	rec, err := get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", noun+" not found", nil)
		return nil, false
	}
	if err != nil {
		s.internal(w, r, err)
		return nil, false
	}
	return rec, true
}

func (s *Server) getReactor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rec, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.reactorView(rec))
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

func (s *Server) listReactors(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	list(s, w, r, s.cfg.Reactors.List, func(rec *store.Reactor) (string, string, any) { return rec.ID, rec.Name, showReactor(rec) })
}

// list answers a list endpoint: the records all returns, filtered by the id
// parameters and by name (Basis Theory: "wildcard search by name", a contains match
// in any case), shown by show (which also returns a record's id and name), one page.
func list[T, V any](s *Server, w http.ResponseWriter, r *http.Request, all func(context.Context) ([]*T, error), show func(*T) (id, name string, view V)) {
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	records, err := all(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	q := r.URL.Query()
	ids := map[string]bool{}
	for _, id := range q["id"] {
		ids[id] = true
	}
	name := strings.ToLower(q.Get("name"))
	data := []V{}
	for _, rec := range records {
		id, n, view := show(rec)
		if (len(ids) > 0 && !ids[id]) || (name != "" && !strings.Contains(strings.ToLower(n), name)) {
			continue
		}
		data = append(data, view)
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

func (s *Server) deleteReactor(w http.ResponseWriter, r *http.Request, p auth.Principal) {
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
	s.cfg.Builds.Cancel(id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) react(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	args, rec, ok := s.reactRequest(w, r)
	if !ok {
		return
	}
	s.cfg.Invoker.React(r.Context(), rec, args, p).Write(w)
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
	if ok {
		if f := s.vulnerabilityPolicy(w, vulns.Reactor, rec.ID, vulns.ReactorBundles(rec)); f != nil {
			writeError(w, r, http.StatusConflict, "Conflict", blockedMessage("reactor", rec.ID, f, s.cfg.BlockCriticalAfter), nil)
			return nil, nil, false
		}
	}
	return q.Args, rec, ok
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("request failed", "trace_id", trace.ID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
	if unavailable(err) {
		writeError(w, r, http.StatusServiceUnavailable, "Service Unavailable",
			"the service's state store did not answer in time (a NATS server is restarting or unreachable); the request may or may not have taken effect, retry it", nil)
		return
	}
	writeError(w, r, http.StatusInternalServerError, "Internal Server Error", "something went wrong; the trace id identifies it in the logs", nil)
}

// unavailable reports whether err is NATS or JetStream not answering, a passing
// condition the caller may retry, rather than a fault.
func unavailable(err error) bool {
	return store.NotAnswering(err) || errors.Is(err, nats.ErrConnectionClosed)
}
