package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/vulns"
)

// proxyRequest is the body of create, replace and (after merging) patch.
type proxyRequest struct {
	Name               string                 `json:"name"`
	DestinationURL     string                 `json:"destination_url"`
	RequestTransforms  []store.ProxyTransform `json:"request_transforms,omitempty"`
	ResponseTransforms []store.ProxyTransform `json:"response_transforms,omitempty"`
	// The single-transform fields of the older API and the SDK, one transform each.
	RequestTransform      *store.ProxyTransform `json:"request_transform,omitempty"`
	ResponseTransform     *store.ProxyTransform `json:"response_transform,omitempty"`
	Configuration         map[string]string     `json:"configuration,omitempty"`
	Application           *store.ApplicationRef `json:"application,omitempty"`
	RequireAuth           *bool                 `json:"require_auth,omitempty"`
	DisableDetokenization bool                  `json:"disable_detokenization,omitempty"`
	// legacy is whether the request used the single-transform fields (nil: it used
	// neither form).
	legacy *bool
}

func (q *proxyRequest) normalize() {
	singular := (len(q.RequestTransforms) == 0 && q.RequestTransform != nil) || (len(q.ResponseTransforms) == 0 && q.ResponseTransform != nil)
	if len(q.RequestTransforms) == 0 && q.RequestTransform != nil {
		q.RequestTransforms = []store.ProxyTransform{*q.RequestTransform}
	}
	if len(q.ResponseTransforms) == 0 && q.ResponseTransform != nil {
		q.ResponseTransforms = []store.ProxyTransform{*q.ResponseTransform}
	}
	if q.legacy == nil && (singular || len(q.RequestTransforms) > 0 || len(q.ResponseTransforms) > 0) {
		q.legacy = &singular
	}
	q.RequestTransform, q.ResponseTransform = nil, nil
}

// proxyView is a proxy as the API shows it: a proxy written with the older API's
// single-transform fields gets them back (its first transform of each phase), as
// well as the lists.
type proxyView struct {
	*store.Proxy
	RequestTransform  *store.ProxyTransform `json:"request_transform,omitempty"`
	ResponseTransform *store.ProxyTransform `json:"response_transform,omitempty"`
	Vulnerabilities   []vulns.Finding       `json:"vulnerabilities,omitempty"`
}

func showProxy(p *store.Proxy) proxyView {
	v := proxyView{Proxy: p}
	if p.LegacyTransforms {
		if len(p.RequestTransforms) > 0 {
			v.RequestTransform = &p.RequestTransforms[0]
		}
		if len(p.ResponseTransforms) > 0 {
			v.ResponseTransform = &p.ResponseTransforms[0]
		}
	}
	return v
}

// applicationProblem says why an application cannot be attached to a reactor or a
// proxy (it must exist and be public or private: its permissions are what the code's
// client, and a proxy that requires no auth, act with), or "" when it can.
func (s *Server) applicationProblem(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "application.id is required when application is set", nil
	}
	a, err := s.cfg.Applications.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "application " + id + " does not exist", nil
	}
	if err != nil {
		return "", err
	}
	if a.Type != auth.Private && a.Type != auth.Public {
		return "the application must be public or private, not " + a.Type, nil
	}
	return "", nil
}

func requestOf(p *store.Proxy) proxyRequest {
	q := proxyRequest{Name: p.Name, DestinationURL: p.DestinationURL, RequestTransforms: p.RequestTransforms,
		ResponseTransforms: p.ResponseTransforms, Configuration: p.Configuration, DisableDetokenization: p.DisableDetokenization}
	requireAuth := p.RequireAuth
	q.RequireAuth = &requireAuth
	if p.ApplicationID != "" {
		q.Application = &store.ApplicationRef{ID: p.ApplicationID}
	}
	return q
}

// checkProxy validates q, loads its code transforms once and stores their bundles,
// answering 400, 422 or 500 itself when the proxy cannot be stored.
func (s *Server) checkProxy(w http.ResponseWriter, r *http.Request, q *proxyRequest) bool {
	q.normalize()
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }
	if n := utf8.RuneCountInString(q.Name); n < 1 || n > 200 {
		add("name", "name is required and must be 1 to 200 characters")
	}
	if q.DestinationURL == "" {
		add("destination_url", "destination_url is required")
	} else if err := proxy.CheckDestination(q.DestinationURL, s.cfg.ProxyAllowHTTP, s.cfg.ProxyAllowPrivate); err != nil {
		add("destination_url", err.Error())
	}
	phases := []struct {
		name string
		ts   []store.ProxyTransform
	}{{"request", q.RequestTransforms}, {"response", q.ResponseTransforms}}
	for _, ph := range phases {
		for k, v := range proxy.ValidateTransforms(ph.name, ph.ts) {
			errs[k] = append(errs[k], v...)
		}
		for i, t := range ph.ts {
			if t.IsCode() {
				validateRuntime(t.Runtime, fmt.Sprintf("%s_transforms[%d].runtime", ph.name, i), add)
			}
		}
	}
	if q.Application != nil {
		msg, err := s.applicationProblem(r.Context(), q.Application.ID)
		if err != nil {
			s.internal(w, r, err)
			return false
		}
		if msg != "" {
			add("application.id", msg)
		}
	}
	if len(errs) > 0 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the proxy is not valid", errs)
		return false
	}
	for _, ph := range phases {
		for i := range ph.ts {
			t := &ph.ts[i]
			if !t.IsCode() {
				continue
			}
			field := fmt.Sprintf("%s_transforms[%d]", ph.name, i)
			if e := s.checkCode(r.Context(), t.Code, t.Runtime, field+".code", field+".runtime"); e != nil {
				s.writeCodeError(w, r, e)
				return false
			}
			if t.Built() {
				continue // built asynchronously: the proxy goes through creating or updating
			}
			var err error
			if t.Bundle, err = s.cfg.Bundles.Put(r.Context(), []byte(t.Code)); err != nil {
				s.internal(w, r, err)
				return false
			}
		}
	}
	return true
}

// apply copies the request's fields onto a record.
func (q *proxyRequest) apply(p *store.Proxy) {
	p.Name, p.DestinationURL, p.Configuration, p.DisableDetokenization = q.Name, q.DestinationURL, q.Configuration, q.DisableDetokenization
	p.RequestTransforms, p.ResponseTransforms = q.RequestTransforms, q.ResponseTransforms
	if p.RequestTransforms == nil {
		p.RequestTransforms = []store.ProxyTransform{}
	}
	if p.ResponseTransforms == nil {
		p.ResponseTransforms = []store.ProxyTransform{}
	}
	p.RequireAuth = q.RequireAuth == nil || *q.RequireAuth
	p.ApplicationID = ""
	if q.Application != nil {
		p.ApplicationID = q.Application.ID
	}
	if q.legacy != nil {
		p.LegacyTransforms = *q.legacy
	}
}

// newProxyKey returns an unguessable key: with require_auth false it is the only
// credential the caller needs.
func newProxyKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) createProxy(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var q proxyRequest
	if !decode(w, r, &q) || !s.checkProxy(w, r, &q) {
		return
	}
	rec := &store.Proxy{ID: uuid.NewString(), TenantID: s.cfg.System.TenantID, Key: newProxyKey(),
		CreatedBy: p.ApplicationID, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	q.apply(rec)
	if store.NeedsBuild(q.RequestTransforms, q.ResponseTransforms) {
		rec.State = store.StateCreating
		rec.Requested = &store.ProxyRequested{RequestTransforms: rec.RequestTransforms, ResponseTransforms: rec.ResponseTransforms}
	}
	if err := s.cfg.Proxies.Create(r.Context(), rec); err != nil {
		s.internal(w, r, err)
		return
	}
	s.cfg.Builds.Proxy(rec)
	writeJSON(w, http.StatusCreated, showProxy(rec))
}

// lookupProxy finds the proxy of the request's {id}, answering 404 or 500 itself.
func (s *Server) lookupProxy(w http.ResponseWriter, r *http.Request) (*store.Proxy, bool) {
	return find(s, w, r, "proxy", s.cfg.Proxies.Cached)
}

func (s *Server) getProxy(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if rec, ok := s.lookupProxy(w, r); ok {
		writeJSON(w, http.StatusOK, s.proxyView(rec))
	}
}

func (s *Server) listProxies(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	list(s, w, r, s.cfg.Proxies.List, func(rec *store.Proxy) (string, string, proxyView) { return rec.ID, rec.Name, showProxy(rec) })
}

// replaceProxy is PUT /proxies/{id}: the body replaces the proxy's fields.
func (s *Server) replaceProxy(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	rec, ok := s.lookupProxy(w, r)
	if !ok {
		return
	}
	var q proxyRequest
	if !decode(w, r, &q) {
		return
	}
	if next, ok := s.updateProxy(w, r, p, rec, q); ok {
		writeJSON(w, http.StatusOK, showProxy(next))
	}
}

// patchProxy is PATCH /proxies/{id} with an RFC 7386 merge patch.
func (s *Server) patchProxy(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/merge-patch+json" {
		writeError(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type", "PATCH takes application/merge-patch+json", nil)
		return
	}
	rec, ok := s.lookupProxy(w, r)
	if !ok {
		return
	}
	var patch any
	if !decode(w, r, &patch) {
		return
	}
	// A patch naming the single-transform fields replaces the lists; one naming the
	// lists leaves the older form; one naming neither keeps the proxy's form.
	legacy := rec.LegacyTransforms
	if m, ok := patch.(map[string]any); ok {
		_, singular := m["request_transform"]
		_, singular2 := m["response_transform"]
		_, plural := m["request_transforms"]
		_, plural2 := m["response_transforms"]
		switch {
		case plural || plural2:
			legacy = false
		case singular || singular2:
			legacy = true
		}
		if v, ok := m["request_transform"]; ok && m["request_transforms"] == nil {
			m["request_transforms"], m["request_transform"] = wrapList(v), nil
		}
		if v, ok := m["response_transform"]; ok && m["response_transforms"] == nil {
			m["response_transforms"], m["response_transform"] = wrapList(v), nil
		}
	}
	current, _ := json.Marshal(requestOf(rec))
	var doc any
	json.Unmarshal(current, &doc)
	merged, _ := json.Marshal(MergePatch(doc, patch))
	var q proxyRequest
	if err := json.Unmarshal(merged, &q); err != nil {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the patched proxy is not valid: "+err.Error(), nil)
		return
	}
	q.legacy = &legacy
	if _, ok := s.updateProxy(w, r, p, rec, q); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

func wrapList(v any) any {
	if v == nil {
		return nil
	}
	return []any{v}
}

func (s *Server) updateProxy(w http.ResponseWriter, r *http.Request, p auth.Principal, rec *store.Proxy, q proxyRequest) (*store.Proxy, bool) {
	if rec.State == store.StateCreating || rec.State == store.StateUpdating {
		writeError(w, r, http.StatusConflict, "Conflict", "the proxy is "+rec.State+"; update it once its build finished", nil)
		return nil, false
	}
	if !s.checkProxy(w, r, &q) {
		return nil, false
	}
	next := *rec
	q.apply(&next)
	next.State, next.Requested = "", nil
	if store.NeedsBuild(q.RequestTransforms, q.ResponseTransforms) {
		// The last good transforms keep serving while the new ones build.
		next.Requested = &store.ProxyRequested{RequestTransforms: next.RequestTransforms, ResponseTransforms: next.ResponseTransforms}
		next.State = store.StateUpdating
		if rec.State == store.StateFailed {
			next.State = store.StateCreating
		} else {
			next.RequestTransforms, next.ResponseTransforms = rec.RequestTransforms, rec.ResponseTransforms
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	next.ModifiedBy, next.ModifiedAt = p.ApplicationID, &now
	err := s.cfg.Proxies.Update(r.Context(), &next)
	switch {
	case errors.Is(err, store.ErrConflict):
		writeError(w, r, http.StatusConflict, "Conflict", "the proxy changed while this request was processed; retry", nil)
		return nil, false
	case err != nil:
		s.internal(w, r, err)
		return nil, false
	}
	s.cfg.Builds.Proxy(&next)
	return &next, true
}

func (s *Server) deleteProxy(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	id := r.PathValue("id")
	err := s.cfg.Proxies.Delete(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "proxy not found", nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.cfg.Builds.Cancel(id)
	w.WriteHeader(http.StatusNoContent)
}
