package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/tokens"
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
	w = rec
	fail := func(e *proxy.Error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		w.Write(e.JSON())
	}
	if s.cfg.Proxy == nil {
		fail(proxy.Errorf(http.StatusNotFound, "the proxy is not enabled on this gateway"))
		return
	}
	if !proxyMethods[r.Method] {
		w.Header().Set("Allow", "GET, POST, PUT, PATCH, DELETE")
		fail(&proxy.Error{Status: http.StatusMethodNotAllowed, Title: "Method Not Allowed", Detail: r.Method + " is not proxied"})
		return
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
		Header: r.Header, TraceID: TraceID(r.Context())}
	var appID string
	if key != "" {
		px := s.proxyByKey(r, key)
		if px == nil {
			fail(proxy.Errorf(http.StatusNotFound, "no proxy has the key given in BT-PROXY-KEY or bt-proxy-key"))
			return
		}
		c.Proxy, c.Destination, appID = px, px.DestinationURL, px.ApplicationID
	} else {
		c.Destination = r.Header.Get("BT-PROXY-URL")
		if c.Destination == "" {
			fail(proxy.Errorf(http.StatusBadRequest, "a BT-PROXY-URL header or a BT-PROXY-KEY header (or bt-proxy-key query parameter) is required"))
			return
		}
	}
	if c.Proxy == nil || c.Proxy.RequireAuth {
		p, err := s.authenticate(r)
		if err != nil {
			fail(proxy.Errorf(http.StatusUnauthorized, "%s", err.Error()))
			return
		}
		if !p.can("token:use") {
			fail(proxy.Errorf(http.StatusForbidden, "the application lacks the token:use permission"))
			return
		}
		appID = p.ApplicationID
	}
	c.Tokens = s.proxyTokens(r, appID)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(proxy.Errorf(http.StatusRequestEntityTooLarge, "the request body exceeds the limit of %d bytes", tooBig.Limit))
			return
		}
		fail(proxy.Errorf(http.StatusBadRequest, "reading the request body: %v", err))
		return
	}
	c.Body = body
	resp, err := s.cfg.Proxy.Do(r.Context(), c)
	if err != nil {
		var pe *proxy.Error
		if !errors.As(err, &pe) {
			s.log.Error("proxy failed", "trace_id", c.TraceID, "error", err)
			pe = proxy.Errorf(http.StatusInternalServerError, "something went wrong; the trace id identifies it in the logs")
		} else if pe.Status >= 500 {
			s.log.Warn("proxy error", "trace_id", c.TraceID, "status", pe.Status, "detail", pe.Detail)
		}
		fail(pe)
		return
	}
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	if resp.DestinationStatus != 0 {
		h.Set("BT-PROXY-DESTINATION-STATUS", strconv.Itoa(resp.DestinationStatus))
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}

// proxyByKey finds a pre-configured proxy by its key: the cache, then the store
// (a proxy created on another gateway a moment ago).
func (s *Server) proxyByKey(r *http.Request, key string) *store.Proxy {
	if px := s.proxies.byProxyKey(key); px != nil {
		return px
	}
	// Only a key of the shape this gateway generates is worth a store scan.
	if _, err := hex.DecodeString(key); err != nil || len(key) != 32 {
		return nil
	}
	all, err := s.cfg.Proxies.List(r.Context())
	if err != nil {
		return nil
	}
	for _, px := range all {
		s.proxies.put(px)
		if px.Key == key {
			return px
		}
	}
	return nil
}

// proxyTokens is the token access of one proxy call, on behalf of the application
// (the caller's, or the proxy's own when it does not require auth); nil when this
// gateway keeps no tokens.
func (s *Server) proxyTokens(r *http.Request, applicationID string) proxy.Tokens {
	if s.cfg.Tokens == nil {
		return nil
	}
	return &callTokens{store: s.cfg.Tokens, tenant: s.cfg.System.TenantID, app: applicationID, resolve: s.cfg.Tokens.Resolver(s.cfg.System.TenantID),
		seen: map[string]bool{}}
}

// callTokens implements proxy.Tokens with the expr evaluator and the token store.
type callTokens struct {
	store   *tokens.Store
	tenant  string
	app     string
	resolve expr.Resolver
	seen    map[string]bool // distinct tokens referenced by the call
}

// Evaluate implements proxy.Tokens: req.* and res.* read the bodies (req.body.x
// works too), transform_identifier: 'id' an earlier tokenize transform's token, and
// any other ref is a token id, at most tokens.MaxPerRequest distinct ones per call.
func (c *callTokens) Evaluate(ctx context.Context, s string, scope *proxy.Scope) (any, error) {
	v, err := expr.EvalString(ctx, s, func(ctx context.Context, ref expr.Ref) (any, error) {
		if scope != nil {
			switch {
			case ref.Keyed && ref.Name == "transform_identifier":
				t, ok := scope.Transforms[ref.Value]
				if !ok {
					return nil, fmt.Errorf("no earlier tokenize transform has the identifier %q", ref.Value)
				}
				return t, nil
			case !ref.Keyed && (ref.Name == "req" || ref.Name == "res"):
				body := scope.Req
				if ref.Name == "res" {
					body = scope.Res
				}
				v := expr.Lookup(body, ref.Path...)
				if v == nil && len(ref.Path) > 0 && ref.Path[0] == "body" {
					v = expr.Lookup(body, ref.Path[1:]...)
				}
				return v, nil
			}
		}
		if !ref.Keyed && !c.seen[ref.Name] {
			if len(c.seen) >= tokens.MaxPerRequest {
				return nil, fmt.Errorf("%w: at most %d tokens per proxy request", expr.ErrLimit, tokens.MaxPerRequest)
			}
			c.seen[ref.Name] = true
		}
		return c.resolve(ctx, ref)
	})
	if err != nil {
		return nil, tokenProxyError(err)
	}
	return v, nil
}

// Tokenize implements proxy.Tokens: the token is created for the call's
// application and returned with its data masked, as POST /tokens answers.
func (c *callTokens) Tokenize(ctx context.Context, req map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, proxy.Errorf(http.StatusBadRequest, "the tokenize transform's token is not valid JSON: %v", err)
	}
	q, err := tokens.ParseCreateRequest(raw)
	if err != nil {
		return nil, tokenProxyError(err)
	}
	q.TenantID, q.CreatedBy = c.tenant, c.app
	t, err := c.store.Create(ctx, q)
	if err != nil {
		return nil, tokenProxyError(err)
	}
	if t, err = t.Masked(ctx); err != nil {
		return nil, err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(b, &out)
}

// tokenProxyError maps expr and tokens errors to proxy errors: the caller's
// mistakes (bad expression, unknown token, invalid token) are 400 naming the
// expression or the fields; the rest stays an internal error.
func tokenProxyError(err error) error {
	var ve *tokens.ValidationError
	switch {
	case errors.As(err, &ve):
		return &proxy.Error{Status: http.StatusBadRequest, Title: "Bad Request", Detail: "the tokenize transform's token is not valid", Fields: ve.Fields}
	case errors.Is(err, tokens.ErrNotFound):
		return proxy.Errorf(http.StatusBadRequest, "token not found: %v", err)
	case tokens.IsCallerError(err):
		return proxy.Errorf(http.StatusBadRequest, "%v", err)
	}
	return err
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
