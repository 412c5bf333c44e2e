package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/store"
)

type applicationRequest struct {
	Name              string            `json:"name"`
	Type              string            `json:"type"`
	Permissions       []string          `json:"permissions"`
	Rules             []auth.AccessRule `json:"rules"`
	ExpiresAt         *time.Time        `json:"expires_at"`
	CanCreateExpiring *bool             `json:"can_create_expiring_applications"`
	CreateKey         *bool             `json:"create_key"`
}

// validate applies the seeds' rules for an application of type typ.
func (q *applicationRequest) validate(typ string, now time.Time) map[string][]string {
	errs := map[string][]string{}
	add := func(field, msg string) { errs[field] = append(errs[field], msg) }
	if n := utf8.RuneCountInString(q.Name); n < 1 || n > 200 {
		add("name", "name is required and must be 1 to 200 characters")
	}
	if !slices.Contains(applicationTypes, typ) {
		add("type", "type must be one of private, public, management, expiring")
		return errs
	}
	check := func(field string, perms []string) {
		for _, perm := range perms {
			known, ok := permissionAllowed(perm, typ)
			switch {
			case !known:
				add(field, fmt.Sprintf("%q is not a known permission", perm))
			case !ok:
				add(field, fmt.Sprintf("%q cannot be granted to a %s application", perm, typ))
			}
		}
	}
	check("permissions", q.Permissions)
	for i, rule := range q.Rules {
		check(fmt.Sprintf("rules[%d].permissions", i), rule.Permissions)
		if rule.Transform != "" && !slices.Contains([]string{"redact", "mask", "reveal"}, rule.Transform) {
			add(fmt.Sprintf("rules[%d].transform", i), "transform must be one of redact, mask, reveal")
		}
	}
	if len(q.Permissions) == 0 && len(q.Rules) == 0 {
		add("permissions", "either permissions or rules must be non-empty")
	}
	if q.ExpiresAt != nil {
		if typ != appExpiring {
			add("expires_at", "expires_at only applies to expiring applications")
		} else if !q.ExpiresAt.After(now) || q.ExpiresAt.After(now.Add(24*time.Hour)) {
			add("expires_at", "expires_at must be in the future and within a day")
		}
	}
	if q.CanCreateExpiring != nil && typ != appPrivate {
		add("can_create_expiring_applications", "only applies to private applications")
	}
	return errs
}

// applicationView is an application as the API shows it; Key is set only when a key
// was just created (keys are stored as hashes and cannot be shown again).
type applicationView struct {
	ID                string          `json:"id"`
	TenantID          string          `json:"tenant_id"`
	Name              string          `json:"name"`
	Key               string          `json:"key,omitempty"`
	Keys              []keyView       `json:"keys"`
	Type              string          `json:"type"`
	Permissions       []string        `json:"permissions"`
	Rules             json.RawMessage `json:"rules,omitempty"`
	CreatedBy         string          `json:"created_by,omitempty"`
	CreatedAt         time.Time       `json:"created_at"`
	ModifiedBy        string          `json:"modified_by,omitempty"`
	ModifiedAt        *time.Time      `json:"modified_at,omitempty"`
	ExpiresAt         *time.Time      `json:"expires_at,omitempty"`
	CanCreateExpiring *bool           `json:"can_create_expiring_applications,omitempty"`
}

type keyView struct {
	ID        string    `json:"id"`
	Key       string    `json:"key,omitempty"`
	Version   string    `json:"version,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func viewApplication(a *store.Application, newKey *keyView) applicationView {
	v := applicationView{ID: a.ID, TenantID: a.TenantID, Name: a.Name, Type: a.Type, Permissions: a.Permissions,
		Rules: a.Rules, CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, ModifiedBy: a.ModifiedBy, ModifiedAt: a.ModifiedAt,
		ExpiresAt: a.ExpiresAt, CanCreateExpiring: a.CanCreateExpiring, Keys: []keyView{}}
	if v.Permissions == nil {
		v.Permissions = []string{}
	}
	for _, k := range a.Keys {
		kv := keyView{ID: k.ID, Version: k.Version, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
		if newKey != nil && newKey.ID == k.ID {
			kv.Key = newKey.Key
			v.Key = newKey.Key
		}
		v.Keys = append(v.Keys, kv)
	}
	return v
}

// newKey makes an API key for an application: the plaintext to show once and the
// hashed record to store.
func newKey(createdBy string, now time.Time) (keyView, store.AppKey) {
	plain := store.NewAPIKey()
	id := uuid.NewString()
	return keyView{ID: id, Key: plain, Version: "1", CreatedBy: createdBy, CreatedAt: now},
		store.AppKey{ID: id, Hash: store.HashKey(plain), Version: "1", CreatedBy: createdBy, CreatedAt: now}
}

func (s *Server) createApplication(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var q applicationRequest
	if !decode(w, r, &q) {
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	if errs := q.validate(q.Type, now); len(errs) > 0 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the application is not valid", errs)
		return
	}
	a := &store.Application{ID: uuid.NewString(), TenantID: s.cfg.System.TenantID, Name: q.Name, Type: q.Type,
		Permissions: q.Permissions, CreatedBy: p.ApplicationID, CreatedAt: now, CanCreateExpiring: q.CanCreateExpiring, Keys: []store.AppKey{}}
	if len(q.Rules) > 0 {
		a.Rules, _ = json.Marshal(q.Rules)
	}
	if q.Type == appExpiring {
		exp := now.Add(time.Minute)
		if q.ExpiresAt != nil {
			exp = q.ExpiresAt.UTC()
		}
		a.ExpiresAt = &exp
	}
	var shown *keyView
	if q.CreateKey == nil || *q.CreateKey {
		kv, stored := newKey(p.ApplicationID, now)
		a.Keys, shown = append(a.Keys, stored), &kv
	}
	if err := s.cfg.Applications.Create(r.Context(), a); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, viewApplication(a, shown))
}

// application finds the application of the request's {id}, answering 404 or 500
// itself when it cannot.
func (s *Server) application(w http.ResponseWriter, r *http.Request) (*store.Application, bool) {
	a, err := s.cfg.Applications.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "application not found", nil)
		return nil, false
	}
	if err != nil {
		s.internal(w, r, err)
		return nil, false
	}
	return a, true
}

func (s *Server) getApplication(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if a, ok := s.application(w, r); ok {
		writeJSON(w, http.StatusOK, viewApplication(a, nil))
	}
}

// getApplicationByKey is GET /applications/key: the caller's own application.
func (s *Server) getApplicationByKey(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	a, err := s.cfg.Applications.Get(r.Context(), p.ApplicationID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewApplication(a, nil))
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	page, ok := pageOf(w, r)
	if !ok {
		return
	}
	all, err := s.cfg.Applications.List(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	q := r.URL.Query()
	data := []applicationView{}
	for _, a := range all {
		if (len(q["id"]) > 0 && !slices.Contains(q["id"], a.ID)) || (len(q["type"]) > 0 && !slices.Contains(q["type"], a.Type)) {
			continue
		}
		data = append(data, viewApplication(a, nil))
	}
	writePage(w, page, data)
}

func (s *Server) updateApplication(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	a, ok := s.application(w, r)
	if !ok {
		return
	}
	var q applicationRequest
	if !decode(w, r, &q) {
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	errs := q.validate(a.Type, now)
	if q.Type != "" && q.Type != a.Type {
		errs["type"] = append(errs["type"], "the type of an application cannot change")
	}
	if len(errs) > 0 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the application is not valid", errs)
		return
	}
	next := *a
	next.Name, next.Permissions, next.Rules = q.Name, q.Permissions, nil
	if len(q.Rules) > 0 {
		next.Rules, _ = json.Marshal(q.Rules)
	}
	if q.CanCreateExpiring != nil {
		next.CanCreateExpiring = q.CanCreateExpiring
	}
	next.ModifiedBy, next.ModifiedAt = p.ApplicationID, &now
	if s.storeApplication(w, r, &next) {
		writeJSON(w, http.StatusOK, viewApplication(&next, nil))
	}
}

func (s *Server) storeApplication(w http.ResponseWriter, r *http.Request, a *store.Application) bool {
	err := s.cfg.Applications.Update(r.Context(), a)
	switch {
	case errors.Is(err, store.ErrConflict):
		writeError(w, r, http.StatusConflict, "Conflict", "the application changed while this request was processed; retry", nil)
		return false
	case errors.Is(err, store.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "Not Found", "application not found", nil)
		return false
	case err != nil:
		s.internal(w, r, err)
		return false
	}
	return true
}

func (s *Server) deleteApplication(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if r.PathValue("id") == s.cfg.System.ManagementAppID {
		writeError(w, r, http.StatusConflict, "Conflict", "the deployment's own management application cannot be deleted; its key is set by configuration", nil)
		return
	}
	err := s.cfg.Applications.Delete(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "application not found", nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// regenerateKey is POST /applications/{id}/regenerate: every key of the application
// is replaced by one new key, shown once.
func (s *Server) regenerateKey(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	a, ok := s.application(w, r)
	if !ok {
		return
	}
	if a.ID == s.cfg.System.ManagementAppID {
		writeError(w, r, http.StatusConflict, "Conflict", "the deployment's own management key is set by configuration", nil)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	shown, stored := newKey(p.ApplicationID, now)
	next := *a
	next.Keys = []store.AppKey{stored}
	next.ModifiedBy, next.ModifiedAt = p.ApplicationID, &now
	if s.storeApplication(w, r, &next) {
		writeJSON(w, http.StatusOK, viewApplication(&next, &shown))
	}
}

// createAppKey is POST /applications/{id}/keys: one more key, shown once.
func (s *Server) createAppKey(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	a, ok := s.application(w, r)
	if !ok {
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	shown, stored := newKey(p.ApplicationID, now)
	next := *a
	next.Keys = append(slices.Clone(a.Keys), stored)
	if s.storeApplication(w, r, &next) {
		writeJSON(w, http.StatusOK, shown)
	}
}

func (s *Server) listAppKeys(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if a, ok := s.application(w, r); ok {
		writeJSON(w, http.StatusOK, viewApplication(a, nil).Keys)
	}
}

func (s *Server) getAppKey(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	a, ok := s.application(w, r)
	if !ok {
		return
	}
	for _, k := range viewApplication(a, nil).Keys {
		if k.ID == r.PathValue("keyId") {
			writeJSON(w, http.StatusOK, k)
			return
		}
	}
	writeError(w, r, http.StatusNotFound, "Not Found", "application key not found", nil)
}

func (s *Server) deleteAppKey(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	a, ok := s.application(w, r)
	if !ok {
		return
	}
	next := *a
	next.Keys = slices.DeleteFunc(slices.Clone(a.Keys), func(k store.AppKey) bool { return k.ID == r.PathValue("keyId") })
	if len(next.Keys) == len(a.Keys) {
		writeError(w, r, http.StatusNotFound, "Not Found", "application key not found", nil)
		return
	}
	if a.ID == s.cfg.System.ManagementAppID && len(next.Keys) == 0 {
		writeError(w, r, http.StatusConflict, "Conflict", "the deployment's own management application keeps its configured key", nil)
		return
	}
	if s.storeApplication(w, r, &next) {
		w.WriteHeader(http.StatusNoContent)
	}
}
