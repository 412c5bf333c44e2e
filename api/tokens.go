package api

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/invoke"
	"github.com/reactord/reactord/tokens"
)

// createToken answers POST /tokens with the token, its data masked (as the seed's
// create response shows it).
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			writeError(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type", "the body must be application/json", nil)
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "Payload Too Large",
				"the request body exceeds the limit of "+itoa(tooBig.Limit)+" bytes", nil)
			return
		}
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the body could not be read", nil)
		return
	}
	if !json.Valid(body) {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the body is not valid JSON", nil)
		return
	}
	q, err := tokens.ParseCreateRequest(body)
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	q.TenantID, q.CreatedBy = s.cfg.System.TenantID, p.ApplicationID
	t, err := s.cfg.Tokens.Create(r.Context(), q, invoke.TokenAccess(p, "token:create"))
	s.writeToken(w, r, http.StatusCreated, t, err)
}

// writeToken answers with t masked, or with err, the error of the call that made t.
func (s *Server) writeToken(w http.ResponseWriter, r *http.Request, status int, t *tokens.Token, err error) {
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	if t, err = t.Masked(r.Context()); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, status, t)
}

// getToken answers GET /tokens/{id}: plaintext data with token:reveal, else masked
// (no data when the token has no mask).
func (s *Server) getToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	t, err := s.cfg.Tokens.Get(r.Context(), s.cfg.System.TenantID, r.PathValue("id"))
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	if !allowed(w, r, p, "token:read", t) {
		return
	}
	if t, err = view(r.Context(), p, "token:read", t); err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	t, err := s.cfg.Tokens.Get(r.Context(), s.cfg.System.TenantID, r.PathValue("id"))
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	if !allowed(w, r, p, "token:delete", t) {
		return
	}
	if err := s.cfg.Tokens.Delete(r.Context(), s.cfg.System.TenantID, t.ID); err != nil {
		s.tokenError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// tokenError answers a tokens or expr error with its status: access refused by the
// caller's rules 403, expressions and validation 400, missing token 404, id taken
// 409, the rest 500.
func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, err error) {
	var ee *expr.Error
	var ve *tokens.ValidationError
	switch {
	case errors.Is(err, tokens.ErrForbidden):
		writeError(w, r, http.StatusForbidden, "Forbidden", err.Error(), nil)
	case errors.As(err, &ee):
		writeError(w, r, http.StatusBadRequest, "Bad Request", ee.Error(), nil)
	case errors.As(err, &ve):
		writeError(w, r, http.StatusBadRequest, "Bad Request", "one or more validation errors occurred", ve.Fields)
	case errors.Is(err, tokens.ErrNotFound):
		writeError(w, r, http.StatusNotFound, "Not Found", "token not found", nil)
	case errors.Is(err, tokens.ErrExists):
		writeError(w, r, http.StatusConflict, "Conflict", err.Error(), map[string][]string{"id": {err.Error()}})
	case tokens.IsQueryError(err):
		writeError(w, r, http.StatusBadRequest, "Bad Request", err.Error(), map[string][]string{"query": {err.Error()}})
	default:
		s.internal(w, r, err)
	}
}
