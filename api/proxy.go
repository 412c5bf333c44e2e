package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/internal/trace"
	"github.com/reactord/reactord/invoke"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/tokens"
	"github.com/reactord/reactord/vulns"
)

// proxyMethods are the methods the seeds list for /proxy.
var proxyMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// invokeProxy is /proxy and /proxy/**: the ephemeral proxy (BT-PROXY-URL) or a
// pre-configured one (BT-PROXY-KEY header or bt-proxy-key query parameter). Every
// failure before the destination answers is {"proxy_error": ...}.
func (s *Server) invokeProxy(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, code: 200}
	defer func() {
		s.latency.WithLabelValues("/proxy", http.StatusText(rec.code)).Observe(time.Since(start).Seconds())
	}()
	c, failure := s.proxyCall(rec, r)
	if failure == nil {
		var resp *proxy.Response
		if resp, failure = s.doProxy(r.Context(), c); failure == nil {
			h := rec.Header()
			for k, vs := range resp.Header {
				h[k] = vs
			}
			if resp.DestinationStatus != 0 {
				h.Set("BT-PROXY-DESTINATION-STATUS", strconv.Itoa(resp.DestinationStatus))
			}
			rec.WriteHeader(resp.Status)
			rec.Write(resp.Body)
			return
		}
	}
	rec.Header().Set("Content-Type", "application/json")
	rec.WriteHeader(failure.Status)
	rec.Write(failure.JSON())
}

// proxyCall reads a /proxy request into a call: which proxy, on whose behalf, with
// what body. It refuses what cannot be proxied.
func (s *Server) proxyCall(w http.ResponseWriter, r *http.Request) (*proxy.Call, *proxy.Error) {
	if s.cfg.Proxy == nil {
		return nil, proxy.Errorf(http.StatusNotFound, "the proxy is not enabled on this gateway")
	}
	if !proxyMethods[r.Method] {
		w.Header().Set("Allow", "GET, POST, PUT, PATCH, DELETE")
		return nil, &proxy.Error{Status: http.StatusMethodNotAllowed, Title: "Method Not Allowed", Detail: r.Method + " is not proxied"}
	}
	query := r.URL.Query()
	key := r.Header.Get("BT-PROXY-KEY")
	rawQuery := r.URL.RawQuery
	if key == "" {
		key = query.Get("bt-proxy-key")
	}
	if query.Has("bt-proxy-key") {
		rawQuery = withoutParam(rawQuery, "bt-proxy-key")
	}
	c := &proxy.Call{Method: r.Method, Path: strings.TrimPrefix(r.URL.EscapedPath(), "/proxy"), RawQuery: rawQuery,
		Header: r.Header, TraceID: trace.ID(r.Context())}
	var caller auth.Principal
	if key != "" {
		px, err := s.cfg.Proxies.ByKey(r.Context(), key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, proxy.Errorf(http.StatusNotFound, "no proxy has the key given in BT-PROXY-KEY or bt-proxy-key")
		}
		if err != nil {
			s.log.Error("finding a proxy by key failed", "trace_id", c.TraceID, "error", err)
			return nil, proxy.Errorf(http.StatusInternalServerError, "something went wrong; the trace id identifies it in the logs")
		}
		if px.State == store.StateCreating || px.State == store.StateFailed {
			return nil, proxy.Errorf(http.StatusConflict, "the proxy cannot be invoked in state %s", px.State)
		}
		if f := s.vulnerabilityPolicy(w, vulns.Proxy, px.ID, vulns.ProxyBundles(px)); f != nil {
			return nil, proxy.Errorf(http.StatusConflict, "%s", blockedMessage("proxy", px.ID, f, s.cfg.BlockCriticalAfter))
		}
		c.Proxy, c.Destination = px, px.DestinationURL
	} else if c.Destination = r.Header.Get("BT-PROXY-URL"); c.Destination == "" {
		return nil, proxy.Errorf(http.StatusBadRequest, "a BT-PROXY-URL header or a BT-PROXY-KEY header (or bt-proxy-key query parameter) is required")
	}
	if c.Proxy == nil || c.Proxy.RequireAuth {
		p, err := s.authenticate(r)
		if err != nil {
			return nil, proxy.Errorf(http.StatusUnauthorized, "%s", err.Error())
		}
		if refused := s.limitProxy(w, p.ApplicationID); refused != nil {
			return nil, refused
		}
		if !p.Can("token:use") {
			return nil, proxy.Errorf(http.StatusForbidden, "the application lacks the token:use permission")
		}
		caller = p
	} else {
		// Nobody authenticated: the call acts as the proxy's application, or as no one.
		if refused := s.limitProxy(w, "proxy:"+c.Proxy.ID); refused != nil {
			return nil, refused
		}
		var err error
		if caller, err = s.proxyApplication(r.Context(), c.Proxy); err != nil {
			s.log.Error("loading a proxy's application failed", "trace_id", c.TraceID, "proxy_id", c.Proxy.ID, "error", err)
			return nil, proxy.Errorf(http.StatusInternalServerError, "something went wrong; the trace id identifies it in the logs")
		}
	}
	c.Caller = caller
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, proxy.Errorf(http.StatusRequestEntityTooLarge, "the request body exceeds the limit of %d bytes", tooBig.Limit)
		}
		return nil, proxy.Errorf(http.StatusBadRequest, "reading the request body: %v", err)
	}
	c.Body = body
	if ct := s.proxyTokens(caller); ct != nil {
		c.Tokens = ct
	}
	return c, nil
}

// doProxy runs the call; a failure that is not the caller's is logged.
func (s *Server) doProxy(ctx context.Context, c *proxy.Call) (*proxy.Response, *proxy.Error) {
	resp, err := s.cfg.Proxy.Do(ctx, c)
	if err == nil {
		return resp, nil
	}
	var pe *proxy.Error
	if !errors.As(err, &pe) {
		s.log.Error("proxy failed", "trace_id", c.TraceID, "error", err)
		return nil, proxy.Errorf(http.StatusInternalServerError, "something went wrong; the trace id identifies it in the logs")
	}
	if pe.Status >= 500 {
		s.log.Warn("proxy error", "trace_id", c.TraceID, "status", pe.Status, "detail", pe.Detail)
	}
	return nil, pe
}

// permTokenUse detokenizes; permTokenCreate lets tokenize transforms create tokens.
const (
	permTokenUse    = "token:use"
	permTokenCreate = "token:create"
)

// limitProxy takes one request from the bucket of who the call counts against (the
// caller's application, or the proxy for anonymous calls), answering 429 with
// Retry-After when it is empty.
func (s *Server) limitProxy(w http.ResponseWriter, bucket string) *proxy.Error {
	ok, wait := s.cfg.Limits.Allow(bucket)
	if ok {
		return nil
	}
	w.Header().Set("Retry-After", retryAfter(wait))
	return proxy.Errorf(http.StatusTooManyRequests, "the rate limit was exceeded; retry after %s", wait.Round(time.Millisecond))
}

// proxyApplication is who a proxy that requires no auth acts as: its application
// (validated public or private when the proxy was stored), or, without one or once
// it is deleted, nobody, holding no permission at all.
func (s *Server) proxyApplication(ctx context.Context, px *store.Proxy) (auth.Principal, error) {
	if px.ApplicationID == "" {
		return auth.Principal{}, nil
	}
	p, err := s.cfg.Auth.Application(ctx, px.ApplicationID)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Principal{}, nil
	}
	if err != nil {
		return auth.Principal{}, err
	}
	if p.Type != auth.Private && p.Type != auth.Public {
		return auth.Principal{}, nil
	}
	return p, nil
}

// proxyTokens is the token access of one proxy call, on behalf of who the call acts
// as (the caller, or the proxy's application when it does not require auth); nil
// without a token store.
func (s *Server) proxyTokens(p auth.Principal) *callTokens {
	if s.cfg.Tokens == nil {
		return nil
	}
	return &callTokens{s: s, p: p, appID: p.ApplicationID}
}

// callTokens is one proxy call's token access, bound to the permissions of who the
// call acts as; it counts the distinct tokens the call uses against the per-request
// limit.
type callTokens struct {
	s     *Server
	p     auth.Principal
	appID string
	mu    sync.Mutex
	seen  map[string]bool
	// tokenRef resolves token refs, checking token:use access to each token's
	// containers at every resolution: set by Prefetch to one answering from a
	// batched read, else made at the first token ref.
	tokenRef expr.Resolver
	// parsed holds the templates Prefetch parsed, by text.
	parsed map[string]*expr.Template
}

// access is the per-token check of detokenizing: token:use on the token's
// containers (the caller's access rules).
func (t *callTokens) access() tokens.Allow { return invoke.TokenAccess(t.p, permTokenUse) }

// Prefetch implements proxy.Tokens: it parses texts, keeping the templates for
// Evaluate, and reads the tokens they refer to together (tokens.BatchResolver), so
// that detokenizing many tokens costs about one store round trip instead of one
// each. It only reads: the token:use check on each token's containers runs as each
// is evaluated.
func (t *callTokens) Prefetch(ctx context.Context, texts []string) {
	if !t.p.Can(permTokenUse) {
		return // evaluating refuses any token
	}
	refs := map[string]expr.Ref{}
	parsed := make(map[string]*expr.Template, len(texts))
	for _, text := range texts {
		tpl, err := expr.ParseTemplate(text)
		if err != nil {
			continue // reported by Evaluate
		}
		parsed[text] = tpl
		for _, e := range tpl.Exprs() {
			if r := e.Ref; !r.Keyed && r.Name != "req" && r.Name != "res" {
				refs[r.Name] = r
			}
		}
	}
	var batched expr.Resolver
	if len(refs) >= 2 && len(refs) <= tokens.MaxPerRequest {
		list := make([]expr.Ref, 0, len(refs))
		for _, r := range refs {
			list = append(list, r)
		}
		batched = t.s.cfg.Tokens.BatchResolver(ctx, t.s.cfg.System.TenantID, list, t.access())
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.parsed = parsed
	if batched != nil {
		t.tokenRef = batched
	}
}

// Evaluate implements proxy.Tokens: req.*, res.* and transform_identifier refs
// resolve in scope, any other ref is a token of the tenant.
func (t *callTokens) Evaluate(ctx context.Context, src string, scope *proxy.Scope) (any, error) {
	resolve := func(ctx context.Context, ref expr.Ref) (any, error) {
		if scope != nil {
			switch {
			case ref.Keyed && ref.Name == "transform_identifier":
				v, ok := scope.Transforms[ref.Value]
				if !ok {
					return nil, fmt.Errorf("no earlier tokenize transform has the identifier %q", ref.Value)
				}
				return v, nil
			case !ref.Keyed && ref.Name == "req":
				return expr.Lookup(scope.Req, ref.Path...), nil
			case !ref.Keyed && ref.Name == "res":
				return expr.Lookup(scope.Res, ref.Path...), nil
			}
		}
		if !t.p.Can(permTokenUse) {
			return nil, errNoTokenUse
		}
		t.mu.Lock()
		if !t.seen[ref.Name] && len(t.seen) >= tokens.MaxPerRequest {
			t.mu.Unlock()
			return nil, fmt.Errorf("a request may use at most %d tokens", tokens.MaxPerRequest)
		}
		if t.seen == nil {
			t.seen = map[string]bool{}
		}
		t.seen[ref.Name] = true
		if t.tokenRef == nil {
			t.tokenRef = t.s.cfg.Tokens.Resolver(t.s.cfg.System.TenantID, t.access())
		}
		tokenRef := t.tokenRef
		t.mu.Unlock()
		return tokenRef(ctx, ref)
	}
	tpl, err := t.template(src)
	var v any
	if err == nil {
		v, err = tpl.Eval(ctx, resolve)
	}
	if errors.Is(err, errNoTokenUse) {
		if t.p.ApplicationID == "" {
			return nil, proxy.Errorf(http.StatusForbidden, "this proxy requires no authentication and has no application, so it detokenizes nothing; attach a public or private application with token:use")
		}
		return nil, proxy.Errorf(http.StatusForbidden, "the application lacks the token:use permission needed to detokenize")
	}
	if errors.Is(err, tokens.ErrForbidden) {
		return nil, proxy.Errorf(http.StatusForbidden, "%s", err.Error())
	}
	if err != nil {
		var ee *expr.Error
		if errors.As(err, &ee) {
			return nil, proxy.Errorf(http.StatusBadRequest, "%s", ee.Error())
		}
		return nil, err
	}
	return v, nil
}

// template is src parsed, by Prefetch or now.
func (t *callTokens) template(src string) (*expr.Template, error) {
	t.mu.Lock()
	tpl, ok := t.parsed[src]
	t.mu.Unlock()
	if ok {
		return tpl, nil
	}
	return expr.ParseTemplate(src)
}

// Tokenize implements proxy.Tokens: one token created by the call's application,
// returned with its data masked.
func (t *callTokens) Tokenize(ctx context.Context, req map[string]any) (map[string]any, error) {
	if !t.p.Can(permTokenCreate) {
		return nil, proxy.Errorf(http.StatusForbidden, "the tokenize transform needs the token:create permission, which %s lacks", t.actor())
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, proxy.Errorf(http.StatusBadRequest, "the token request is not JSON: %v", err)
	}
	q, err := tokens.ParseCreateRequest(raw)
	if err == nil {
		q.TenantID, q.CreatedBy = t.s.cfg.System.TenantID, t.appID
		var tok *tokens.Token
		if tok, err = t.s.cfg.Tokens.Create(ctx, q, invoke.TokenAccess(t.p, permTokenCreate)); err == nil {
			if tok, err = tok.Masked(ctx); err == nil {
				var out map[string]any
				b, _ := json.Marshal(tok)
				return out, json.Unmarshal(b, &out)
			}
		}
	}
	if errors.Is(err, tokens.ErrForbidden) {
		return nil, proxy.Errorf(http.StatusForbidden, "the tokenize transform's token: %v", err)
	}
	var ve *tokens.ValidationError
	if errors.As(err, &ve) {
		e := proxy.Errorf(http.StatusBadRequest, "the tokenize transform's token is not valid")
		e.Fields = ve.Fields
		return nil, e
	}
	return nil, err
}

// errNoTokenUse stops an evaluation at the first token reference the call may not
// detokenize.
var errNoTokenUse = errors.New("token:use required")

// actor names who the call acts as, in error messages.
func (t *callTokens) actor() string {
	if t.p.ApplicationID == "" {
		return "a proxy with no authentication and no application"
	}
	return "the application"
}

// withoutParam removes a parameter from a raw query, keeping the rest as sent.
func withoutParam(raw, name string) string {
	parts := strings.Split(raw, "&")
	out := parts[:0]
	for _, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == name {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "&")
}
