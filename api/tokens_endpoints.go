package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/invoke"
	"github.com/reactord/reactord/tokens"
)

// readBody reads a JSON body of any shape, answering 413, 415 and 400 itself.
func readBody(w http.ResponseWriter, r *http.Request, mediaType string) ([]byte, bool) {
	ct := r.Header.Get("Content-Type")
	if mediaType != "" || ct != "" {
		mt, _, _ := mime.ParseMediaType(ct)
		if ok := mt == mediaType || (mediaType == "" && (mt == "application/json" || strings.HasSuffix(mt, "+json"))); !ok {
			want := mediaType
			if want == "" {
				want = "application/json"
			}
			writeError(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type", "the body must be "+want, nil)
			return nil, false
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "Payload Too Large",
				"the request body exceeds the limit of "+itoa(tooBig.Limit)+" bytes", nil)
			return nil, false
		}
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the body could not be read", nil)
		return nil, false
	}
	if !json.Valid(body) {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the body is not valid JSON", nil)
		return nil, false
	}
	return body, true
}

// tokenizeRequest answers POST /tokenize: one token request, or any object or array
// of them and of plain values, mirrored with the created tokens (data masked) and the
// plain values' token ids, as Basis Theory's Tokenize.
func (s *Server) tokenizeRequest(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	body, ok := readBody(w, r, "")
	if !ok {
		return
	}
	if strings.TrimSpace(string(body)) == "null" {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the body must hold what to tokenize", nil)
		return
	}
	out, err := s.cfg.Tokens.Tokenize(r.Context(), s.cfg.System.TenantID, p.ApplicationID, body, invoke.TokenAccess(p, "token:create"))
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(append(out, '\n'))
}

// view is a token as the caller may read it with perm (token:read, or token:search
// for search results): its access rules or permissions on the token's containers
// decide (reveal: plaintext; mask: masked, no data without a
// mask; redact: no data); nil when the caller may not read it at all.
func view(ctx context.Context, p auth.Principal, perm string, t *tokens.Token) (*tokens.Token, error) {
	ok, transform := p.Access(perm, t.ID, t.Containers)
	switch {
	case !ok:
		return nil, nil
	case transform == auth.Reveal:
		return t, nil
	case transform == auth.Redact:
		c := *t
		c.Data = nil
		return &c, nil
	}
	return t.Masked(ctx)
}

// views are the tokens of a page the caller may read, as it may read them; the
// others are left out of the page.
func views(ctx context.Context, p auth.Principal, perm string, ts []*tokens.Token) ([]*tokens.Token, error) {
	out := make([]*tokens.Token, 0, len(ts))
	for _, t := range ts {
		v, err := view(ctx, p, perm, t)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// allowed answers 403 itself unless the caller holds perm on the token (its access
// rules or permissions cover the token's containers).
func allowed(w http.ResponseWriter, r *http.Request, p auth.Principal, perm string, t *tokens.Token) bool {
	if ok, _ := p.Access(perm, t.ID, t.Containers); !ok {
		writeError(w, r, http.StatusForbidden, "Forbidden", "the application's access rules do not grant "+perm+" on this token's containers", nil)
		return false
	}
	return true
}

// listFilter reads GET /tokens' filters: id, type and container (each repeatable)
// and metadata.<key>=<value>.
func listFilter(r *http.Request) tokens.ListFilter {
	q := r.URL.Query()
	f := tokens.ListFilter{IDs: q["id"], Types: q["type"], Containers: q["container"], Fingerprints: q["fingerprint"]}
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, "metadata."); ok && key != "" && len(vs) > 0 {
			if f.Metadata == nil {
				f.Metadata = map[string]string{}
			}
			f.Metadata[key] = vs[0]
		}
	}
	return f
}

// listTokens answers GET /tokens: a page of the tenant's tokens, filtered.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	res, err := s.cfg.Tokens.List(r.Context(), s.cfg.System.TenantID, listFilter(r), pg.number, pg.size)
	s.writeTokenPage(w, r, p, pg, res, err)
}

type searchRequest struct {
	Query string `json:"query"`
	Page  *int   `json:"page"`
	Size  *int   `json:"size"`
	Start string `json:"start"`
}

// searchTokens answers POST /tokens/search: {query, page, size}.
func (s *Server) searchTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var q searchRequest
	if !decode(w, r, &q) {
		return
	}
	pg := page{1, 20}
	if q.Page != nil {
		pg.number = *q.Page
	}
	if q.Size != nil {
		pg.size = *q.Size
	}
	if pg.number < 1 || pg.size < 1 || pg.size > 100 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "page must be >= 1 and size 1 to 100",
			map[string][]string{"page": {"page must be a number >= 1"}, "size": {"size must be a number from 1 to 100"}})
		return
	}
	res, err := s.cfg.Tokens.Search(r.Context(), s.cfg.System.TenantID, q.Query, pg.number, pg.size)
	s.writeTokenPage(w, r, p, pg, res, err)
}

// pagePermission is the permission a page of tokens is read with: token:search for
// search results, token:read for lists.
func pagePermission(r *http.Request) string {
	if strings.HasSuffix(r.URL.Path, "/search") {
		return "token:search"
	}
	return "token:read"
}

func (s *Server) writeTokenPage(w http.ResponseWriter, r *http.Request, p auth.Principal, pg page, res *tokens.Page, err error) {
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	data, err := views(r.Context(), p, pagePermission(r), res.Tokens)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Pagination pagination      `json:"pagination"`
		Data       []*tokens.Token `json:"data"`
	}{pagination{res.Total, pg.number, pg.size, (res.Total + pg.size - 1) / pg.size}, data})
}

// The v2 endpoints (GET /v2/tokens, POST /v2/tokens/search), which Basis Theory's
// current SDKs call, page with an opaque cursor: "start" is where the page begins
// and pagination.next the next page's start, absent after the last page.

type cursorPagination struct {
	PageSize int    `json:"page_size"`
	Next     string `json:"next,omitempty"`
}

// cursorPage turns start and size into a page, answering 400 itself.
func cursorPage(w http.ResponseWriter, r *http.Request, start string, size int) (offset int, pg page, ok bool) {
	if start != "" {
		b, err := base64.RawURLEncoding.DecodeString(start)
		if err == nil {
			offset, err = strconv.Atoi(string(b))
		}
		if err != nil || offset < 0 {
			writeError(w, r, http.StatusBadRequest, "Bad Request", "start is not a cursor this API returned", map[string][]string{"start": {"invalid cursor"}})
			return 0, pg, false
		}
	}
	if size < 1 || size > 100 {
		writeError(w, r, http.StatusBadRequest, "Bad Request", "size must be 1 to 100", map[string][]string{"size": {"size must be a number from 1 to 100"}})
		return 0, pg, false
	}
	// Offsets are multiples of the size the cursor was made with; a different size
	// starts at the page holding the offset.
	return offset, page{offset/size + 1, size}, true
}

func (s *Server) writeCursorPage(w http.ResponseWriter, r *http.Request, p auth.Principal, pg page, res *tokens.Page, err error) {
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	data, err := views(r.Context(), p, pagePermission(r), res.Tokens)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	cp := cursorPagination{PageSize: pg.size}
	if end := pg.number * pg.size; end < res.Total {
		cp.Next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	writeJSON(w, http.StatusOK, struct {
		Pagination cursorPagination `json:"pagination"`
		Data       []*tokens.Token  `json:"data"`
	}{cp, data})
}

// listTokensV2 answers GET /v2/tokens: type, container, fingerprint and metadata
// (a JSON object) filters, start and size.
func (s *Server) listTokensV2(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	q := r.URL.Query()
	_, pg, ok := cursorPage(w, r, q.Get("start"), atoiOr(q.Get("size"), 20))
	if !ok {
		return
	}
	f := listFilter(r)
	if md := q.Get("metadata"); md != "" {
		if err := json.Unmarshal([]byte(md), &f.Metadata); err != nil {
			writeError(w, r, http.StatusBadRequest, "Bad Request", "metadata must be a JSON object of strings", map[string][]string{"metadata": {err.Error()}})
			return
		}
	}
	res, err := s.cfg.Tokens.List(r.Context(), s.cfg.System.TenantID, f, pg.number, pg.size)
	s.writeCursorPage(w, r, p, pg, res, err)
}

// searchTokensV2 answers POST /v2/tokens/search: {query, start, size}.
func (s *Server) searchTokensV2(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	var q searchRequest
	if !decode(w, r, &q) {
		return
	}
	size := 20
	if q.Size != nil {
		size = *q.Size
	}
	_, pg, ok := cursorPage(w, r, q.Start, size)
	if !ok {
		return
	}
	res, err := s.cfg.Tokens.Search(r.Context(), s.cfg.System.TenantID, q.Query, pg.number, pg.size)
	s.writeCursorPage(w, r, p, pg, res, err)
}

// updateToken answers PATCH /tokens/{id} (application/merge-patch+json) with the
// updated token, its data masked as on create.
func (s *Server) updateToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	body, ok := readBody(w, r, "application/merge-patch+json")
	if !ok {
		return
	}
	cur, err := s.cfg.Tokens.Get(r.Context(), s.cfg.System.TenantID, r.PathValue("id"))
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	if !allowed(w, r, p, "token:update", cur) {
		return
	}
	// Moving a token needs the permission where it goes, too.
	var moved struct{ Containers []string }
	if json.Unmarshal(body, &moved) == nil && moved.Containers != nil &&
		!allowed(w, r, p, "token:update", &tokens.Token{ID: cur.ID, Containers: moved.Containers}) {
		return
	}
	t, err := s.cfg.Tokens.Update(r.Context(), s.cfg.System.TenantID, cur.ID, body, p.ApplicationID)
	s.writeToken(w, r, http.StatusOK, t, err)
}

// associateTokens answers POST /tokens/{parentId}/children/{childId}: 204 once the
// child is associated; both tokens must exist (the route requires token:read).
func (s *Server) associateTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	err := s.cfg.Tokens.Associate(r.Context(), s.cfg.System.TenantID, r.PathValue("parentId"), r.PathValue("childId"))
	if errors.Is(err, tokens.ErrSelfAssociation) {
		writeError(w, r, http.StatusBadRequest, "Bad Request", err.Error(), nil)
		return
	}
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// dissociateTokens answers DELETE /tokens/{parentId}/children/{childId}.
func (s *Server) dissociateTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if err := s.cfg.Tokens.Dissociate(r.Context(), s.cfg.System.TenantID, r.PathValue("parentId"), r.PathValue("childId")); err != nil {
		s.tokenError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// createChildToken answers POST /tokens/{parentId}/children: a token created as
// POST /tokens does and associated to the parent, which the caller must be able to
// read (token:create and token:read).
func (s *Server) createChildToken(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !p.Can("token:read") {
		writeError(w, r, http.StatusForbidden, "Forbidden", "the provided BT-API-KEY does not have the required permission token:read", nil)
		return
	}
	parent := r.PathValue("parentId")
	pt, err := s.cfg.Tokens.Get(r.Context(), s.cfg.System.TenantID, parent)
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	if !allowed(w, r, p, "token:read", pt) {
		return
	}
	body, ok := readBody(w, r, "")
	if !ok {
		return
	}
	q, err := tokens.ParseCreateRequest(body)
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	q.TenantID, q.CreatedBy = s.cfg.System.TenantID, p.ApplicationID
	t, err := s.cfg.Tokens.Create(r.Context(), q, invoke.TokenAccess(p, "token:create"))
	if err == nil {
		err = s.cfg.Tokens.Associate(r.Context(), s.cfg.System.TenantID, parent, t.ID)
	}
	s.writeToken(w, r, http.StatusCreated, t, err)
}

// listChildTokens answers GET /tokens/{parentId}/children, filtered by id and type.
func (s *Server) listChildTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	pg, ok := pageOf(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	children, err := s.cfg.Tokens.Children(r.Context(), s.cfg.System.TenantID, r.PathValue("parentId"), tokens.ListFilter{IDs: q["id"], Types: q["type"]})
	if err != nil {
		s.tokenError(w, r, err)
		return
	}
	data, err := views(r.Context(), p, "token:read", children)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writePage(w, pg, data)
}
