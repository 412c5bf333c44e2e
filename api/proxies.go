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
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
)

// proxyCache holds the pre-configured proxies by id and by key, kept current by
// Watch, so an invocation by key costs no store round trip.
type proxyCache struct {
	mu    sync.RWMutex
	byID  map[string]*store.Proxy
	byKey map[string]*store.Proxy
}

func newProxyCache() *proxyCache {
	return &proxyCache{byID: map[string]*store.Proxy{}, byKey: map[string]*store.Proxy{}}
}

func (c *proxyCache) put(p *store.Proxy) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byID[p.ID]; old != nil {
		if old.Revision > p.Revision {
			return
		}
		delete(c.byKey, old.Key)
	}
	c.byID[p.ID] = p
	c.byKey[p.Key] = p
}

func (c *proxyCache) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byID[id]; old != nil {
		delete(c.byKey, old.Key)
		delete(c.byID, id)
	}
}

func (c *proxyCache) get(id string) *store.Proxy {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byID[id]
}

func (c *proxyCache) byProxyKey(key string) *store.Proxy {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byKey[key]
}

// watchProxies keeps the proxy cache current until ctx ends.
func (s *Server) watchProxies(ctx context.Context) error {
	changes, err := s.cfg.Proxies.Watch(ctx)
	if err != nil {
		return err
	}
	go func() {
		for c := range changes {
			if c.Proxy == nil {
				s.proxies.drop(c.ID)
			} else {
				s.proxies.put(c.Proxy)
			}
		}
	}()
	return nil
}

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
}

func (q *proxyRequest) normalize() {
	if len(q.RequestTransforms) == 0 && q.RequestTransform != nil {
		q.RequestTransforms = []store.ProxyTransform{*q.RequestTransform}
	}
	if len(q.ResponseTransforms) == 0 && q.ResponseTransform != nil {
		q.ResponseTransforms = []store.ProxyTransform{*q.ResponseTransform}
	}
	q.RequestTransform, q.ResponseTransform = nil, nil
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
	if n := utf8.RuneCountInString(q.Name); n < 1 || n > 200 {
		errs["name"] = append(errs["name"], "name is required and must be 1 to 200 characters")
	}
	if q.DestinationURL == "" {
		errs["destination_url"] = append(errs["destination_url"], "destination_url is required")
	} else if err := proxy.CheckDestination(q.DestinationURL, s.cfg.ProxyAllowHTTP, s.cfg.ProxyAllowPrivate); err != nil {
		errs["destination_url"] = append(errs["destination_url"], err.Error())
	}
	for k, v := range proxy.ValidateTransforms("request", q.RequestTransforms) {
		errs[k] = v
	}
	for k, v := range proxy.ValidateTransforms("response", q.ResponseTransforms) {
		errs[k] = v
	}
	if len(errs) > 0 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the proxy is not valid", errs)
		return false
	}
	for _, set := range []struct {
		name string
		ts   []store.ProxyTransform
	}{{"request", q.RequestTransforms}, {"response", q.ResponseTransforms}} {
		for i := range set.ts {
			t := &set.ts[i]
			if t.Type != "" && t.Type != proxy.TypeCode {
				continue
			}
			field := fmt.Sprintf("%s_transforms[%d].code", set.name, i)
			if isNode22(t.Runtime) {
				errs := map[string][]string{}
				validateDependencies(t.Runtime, func(_, msg string) { errs[field] = append(errs[field], msg) })
				if len(errs) > 0 {
					writeError(w, r, http.StatusBadRequest, "Bad Request", "the proxy is not valid", errs)
					return false
				}
				if s.cfg.Builder == nil && t.Runtime.Bundle == "" {
					writeError(w, r, http.StatusUnprocessableEntity, "Unprocessable Entity",
						"this deployment does not run the node22 builder; use node-bt",
						map[string][]string{field: {"node22 needs the builder"}})
					return false
				}
				continue // built asynchronously: the proxy goes through creating or updating
			}
			snap, err := s.cfg.Engine.Load(r.Context(), runtime.Bundle{Image: images.NodeBT, Code: []byte(t.Code), Limits: loadLimits(nil)})
			var codeErr *runtime.CodeError
			if errors.As(err, &codeErr) {
				writeError(w, r, http.StatusUnprocessableEntity, "Unprocessable Entity", codeErr.Message, map[string][]string{field: {codeErr.Message}})
				return false
			}
			if err != nil {
				s.internal(w, r, err)
				return false
			}
			snap.Close()
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
}

// newProxyKey returns an unguessable key: with require_auth false it is the only
// credential the caller needs.
func newProxyKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) createProxy(w http.ResponseWriter, r *http.Request, p principal) {
	var q proxyRequest
	if !decode(w, r, &q) || !s.checkProxy(w, r, &q) {
		return
	}
	rec := &store.Proxy{ID: uuid.NewString(), TenantID: s.cfg.System.TenantID, Key: newProxyKey(),
		CreatedBy: p.ApplicationID, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	q.apply(rec)
	if q.needsBuild() {
		rec.State = store.StateCreating
		rec.Requested = &store.ProxyRequested{RequestTransforms: rec.RequestTransforms, ResponseTransforms: rec.ResponseTransforms}
	}
	if err := s.cfg.Proxies.Create(r.Context(), rec); err != nil {
		s.internal(w, r, err)
		return
	}
	s.proxies.put(rec)
	s.startProxyBuild(rec)
	writeJSON(w, http.StatusCreated, rec)
}

// lookupProxy finds the proxy of the request's {id}, answering 404 or 500 itself.
func (s *Server) lookupProxy(w http.ResponseWriter, r *http.Request) (*store.Proxy, bool) {
	id := r.PathValue("id")
	if rec := s.proxies.get(id); rec != nil {
		return rec, true
	}
	rec, err := s.cfg.Proxies.Get(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "proxy not found", nil)
		return nil, false
	}
	if err != nil {
		s.internal(w, r, err)
		return nil, false
	}
	s.proxies.put(rec)
	return rec, true
}

func (s *Server) getProxy(w http.ResponseWriter, r *http.Request, p principal) {
	if rec, ok := s.lookupProxy(w, r); ok {
		writeJSON(w, http.StatusOK, rec)
	}
}

func (s *Server) listProxies(w http.ResponseWriter, r *http.Request, p principal) {
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	all, err := s.cfg.Proxies.List(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	q := r.URL.Query()
	ids := map[string]bool{}
	for _, id := range q["id"] {
		ids[id] = true
	}
	// The seed: "Wildcard search of proxies by name".
	name := strings.ToLower(q.Get("name"))
	data := []*store.Proxy{}
	for _, rec := range all {
		if (len(ids) > 0 && !ids[rec.ID]) || (name != "" && !strings.Contains(strings.ToLower(rec.Name), name)) {
			continue
		}
		data = append(data, rec)
	}
	writePage(w, pg, data)
}

// replaceProxy is PUT /proxies/{id}: the body replaces the proxy's fields.
func (s *Server) replaceProxy(w http.ResponseWriter, r *http.Request, p principal) {
	rec, ok := s.lookupProxy(w, r)
	if !ok {
		return
	}
	var q proxyRequest
	if !decode(w, r, &q) {
		return
	}
	if next, ok := s.updateProxy(w, r, p, rec, q); ok {
		writeJSON(w, http.StatusOK, next)
	}
}

// patchProxy is PATCH /proxies/{id} with an RFC 7386 merge patch.
func (s *Server) patchProxy(w http.ResponseWriter, r *http.Request, p principal) {
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
	// A patch naming the single-transform fields replaces the lists.
	if m, ok := patch.(map[string]any); ok {
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

func (s *Server) updateProxy(w http.ResponseWriter, r *http.Request, p principal, rec *store.Proxy, q proxyRequest) (*store.Proxy, bool) {
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
	if q.needsBuild() {
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
	s.proxies.put(&next)
	s.startProxyBuild(&next)
	return &next, true
}

func (s *Server) deleteProxy(w http.ResponseWriter, r *http.Request, p principal) {
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
	s.builds.cancel(id)
	s.proxies.drop(id)
	w.WriteHeader(http.StatusNoContent)
}
