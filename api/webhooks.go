package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/webhooks"
)

// webhookRequest is the body of POST and PUT /webhooks.
type webhookRequest struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	NotifyEmail string   `json:"notify_email"`
	Events      []string `json:"events"`
	// Status is enabled (the default) or disabled.
	Status string `json:"status"`
}

// createdWebhook is a new webhook with its signing secret, shown this once.
type createdWebhook struct {
	*webhooks.Webhook
	SigningSecret string `json:"signing_secret"`
}

func (s *Server) routeWebhooks() {
	s.route("POST /webhooks", "webhook:create", s.createWebhook)
	s.route("GET /webhooks", "webhook:read", s.listWebhooks)
	s.route("GET /webhooks/{id}", "webhook:read", s.getWebhook)
	s.route("PUT /webhooks/{id}", "webhook:update", s.updateWebhook)
	s.route("DELETE /webhooks/{id}", "webhook:delete", s.deleteWebhook)
}

// validWebhook fills the defaults into w and answers 400 when it is invalid.
func (s *Server) validWebhook(w http.ResponseWriter, r *http.Request, h *webhooks.Webhook) bool {
	if h.Status == "" {
		h.Status = webhooks.Enabled
	}
	if errs := webhooks.Validate(h, s.cfg.WebhookPolicy, s.cfg.WebhookAllowHTTP); errs != nil {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the webhook is not valid", errs)
		return false
	}
	return true
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var q webhookRequest
	if !decode(w, r, &q) {
		return
	}
	h := &webhooks.Webhook{ID: uuid.NewString(), TenantID: s.cfg.System.TenantID, Status: q.Status, Name: q.Name, URL: q.URL,
		NotifyEmail: q.NotifyEmail, Events: q.Events, CreatedBy: p.ApplicationID, CreatedAt: time.Now().UTC().Truncate(time.Second),
		Secret: webhooks.NewSecret()}
	if !s.validWebhook(w, r, h) {
		return
	}
	if err := s.cfg.Webhooks.Put(r.Context(), h); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createdWebhook{Webhook: h, SigningSecret: h.Secret})
}

func (s *Server) findWebhook(w http.ResponseWriter, r *http.Request) (*webhooks.Webhook, bool) {
	h, err := s.cfg.Webhooks.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, webhooks.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "no webhook "+r.PathValue("id"), nil)
		return nil, false
	}
	if err != nil {
		s.internal(w, r, err)
		return nil, false
	}
	return h, true
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if h, ok := s.findWebhook(w, r); ok {
		writeJSON(w, http.StatusOK, h)
	}
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	all, err := s.cfg.Webhooks.List(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writePage(w, pg, all)
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	h, ok := s.findWebhook(w, r)
	if !ok {
		return
	}
	var q webhookRequest
	if !decode(w, r, &q) {
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	h.Name, h.URL, h.NotifyEmail, h.Events, h.Status = q.Name, q.URL, q.NotifyEmail, q.Events, q.Status
	h.ModifiedBy, h.ModifiedAt = p.ApplicationID, &now
	if !s.validWebhook(w, r, h) {
		return
	}
	if err := s.cfg.Webhooks.Put(r.Context(), h); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	err := s.cfg.Webhooks.Delete(r.Context(), r.PathValue("id"))
	if errors.Is(err, webhooks.ErrNotFound) {
		writeError(w, r, http.StatusNotFound, "Not Found", "no webhook "+r.PathValue("id"), nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
