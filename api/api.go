// Package api is the HTTP gateway: the reactor endpoints of the Basis Theory API,
// authentication, the error format and trace ids. Invocations go to workers through
// the scheduler's Dispatcher.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/tokens"
)

// Config wires a Server.
type Config struct {
	Reactors     *store.Reactors
	Applications *store.Applications
	Bundles      store.Bundles
	// Async is the queue of react-async requests and their results.
	Async      *store.Async
	Engine     *runtime.Engine // validates code at create
	Dispatcher *scheduler.Dispatcher
	System     store.System
	Logger     *slog.Logger
	// Registerer receives the gateway's metrics; nil means none.
	Registerer prometheus.Registerer
	// MaxBody caps request bodies (default 1 MiB, the args cap of the spec).
	MaxBody int64
	// RateLimit is each application's sustained request rate per second, with bursts
	// of RateBurst; zero disables rate limiting.
	RateLimit float64
	RateBurst int
	// Builder builds node22 reactors; nil refuses node22 with 422.
	Builder Builder
	// BuildConcurrency bounds the builds this gateway runs at once (default 1).
	BuildConcurrency int
	// BTSubject is the NATS subject where this gateway serves the requests of the Basis
	// Theory client inside reactor code (see internal/btbridge); empty gives code none.
	BTSubject string
	// Healthy reports whether the gateway's dependencies are up.
	Healthy func() error
	// Tokens stores tokens; nil serves no /tokens and detokenizes nothing.
	Tokens *tokens.Store
	// Proxies and Proxy serve /proxies and /proxy; nil Proxy disables /proxy.
	Proxies *store.Proxies
	Proxy   *proxy.Proxy
	// ProxyAllowHTTP and ProxyAllowPrivate relax the destination_url checks
	// (plain HTTP; IP addresses) for development and tests.
	ProxyAllowHTTP, ProxyAllowPrivate bool
}

// Server serves the API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	latency *prometheus.HistogramVec
	limits  *limiters
	builds  *builds
	grants  grants
	// principals caches each application's principal by revision; a principal's
	// permission map is shared and never written after it is built.
	principals sync.Map
	base       context.Context // the gateway's lifetime, set by Watch

	mu    sync.RWMutex
	cache map[string]*store.Reactor // kept current by Watch

	proxies *proxyCache
}

// New returns the API server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = runtime.DefaultMaxArgs
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), cache: map[string]*store.Reactor{},
		limits: newLimiters(cfg.RateLimit, cfg.RateBurst), builds: newBuilds(cfg.BuildConcurrency), base: context.Background(),
		proxies: newProxyCache()}
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "reactord_http_request_duration_seconds",
		Help:    "HTTP requests served by the gateway, by route and status.",
		Buckets: []float64{100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 1, 10, 30}}, []string{"route", "code"})
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(s.latency)
	}
	s.route("POST /reactors", "reactor:create", s.createReactor)
	s.route("GET /reactors", "reactor:read", s.listReactors)
	s.route("GET /reactors/{id}", "reactor:read", s.getReactor)
	s.route("PUT /reactors/{id}", "reactor:update", s.replaceReactor)
	s.route("PATCH /reactors/{id}", "reactor:update", s.patchReactor)
	s.route("DELETE /reactors/{id}", "reactor:delete", s.deleteReactor)
	s.route("POST /reactors/{id}/react", "token:use", s.react)
	s.route("POST /reactors/{id}/react-async", "token:use", s.reactAsync)
	s.route("GET /reactors/{id}/results/{requestId}", "token:use", s.reactorResult)
	s.route("POST /applications", "application:create", s.createApplication)
	s.route("GET /applications", "application:read", s.listApplications)
	s.route("GET /applications/key", "application:read", s.getApplicationByKey)
	s.route("GET /applications/{id}", "application:read", s.getApplication)
	s.route("PUT /applications/{id}", "application:update", s.updateApplication)
	s.route("DELETE /applications/{id}", "application:delete", s.deleteApplication)
	s.route("POST /applications/{id}/regenerate", "application:update", s.regenerateKey)
	s.route("GET /applications/{id}/keys", "application:read", s.listAppKeys)
	s.route("POST /applications/{id}/keys", "application:update", s.createAppKey)
	s.route("GET /applications/{id}/keys/{keyId}", "application:read", s.getAppKey)
	s.route("DELETE /applications/{id}/keys/{keyId}", "application:update", s.deleteAppKey)
	s.route("GET /permissions", "", s.listPermissions)
	if cfg.Tokens != nil {
		s.route("POST /tokens", "token:create", s.createToken)
		s.route("GET /tokens/{id}", "token:read", s.getToken)
		s.route("DELETE /tokens/{id}", "token:delete", s.deleteToken)
		s.route("PATCH /tokens/{id}", "token:update", s.updateToken)
		s.route("GET /tokens", "token:read", s.listTokens)
		s.route("POST /tokens/search", "token:search", s.searchTokens)
		s.route("GET /v2/tokens", "token:read", s.listTokensV2)
		s.route("POST /v2/tokens/search", "token:search", s.searchTokensV2)
		s.route("POST /tokenize", "token:create", s.tokenizeRequest)
		s.route("POST /tokens/{parentId}/children/{childId}", "token:read", s.associateTokens)
		s.route("DELETE /tokens/{parentId}/children/{childId}", "token:delete", s.dissociateTokens)
		s.route("POST /tokens/{parentId}/children", "token:create", s.createChildToken)
		s.route("GET /tokens/{parentId}/children", "token:read", s.listChildTokens)
	}
	if cfg.Proxies != nil {
		s.route("POST /proxies", "proxy:create", s.createProxy)
		s.route("GET /proxies", "proxy:read", s.listProxies)
		s.route("GET /proxies/{id}", "proxy:read", s.getProxy)
		s.route("PUT /proxies/{id}", "proxy:update", s.replaceProxy)
		s.route("PATCH /proxies/{id}", "proxy:update", s.patchProxy)
		s.route("DELETE /proxies/{id}", "proxy:delete", s.deleteProxy)
		s.mux.HandleFunc("/proxy", s.invokeProxy)
		s.mux.HandleFunc("/proxy/", s.invokeProxy)
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "Not Found", "no such endpoint: "+r.Method+" "+r.URL.Path, nil)
	})
	return s
}

// Handler returns the HTTP handler: trace ids on every request, then routing.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		trace := r.Header.Get("BT-TRACE-ID")
		if trace == "" || len(trace) > 128 {
			trace = uuid.NewString()
		}
		w.Header().Set("BT-TRACE-ID", trace)
		s.mux.ServeHTTP(w, r.WithContext(withTrace(r.Context(), trace)))
	})
}

// Watch keeps the gateway's reactor cache current until ctx ends, and resumes the
// node22 builds a stopped process left pending; they run until ctx ends.
func (s *Server) Watch(ctx context.Context) error {
	s.base = ctx
	changes, err := s.cfg.Reactors.Watch(ctx)
	if err != nil {
		return err
	}
	if s.cfg.Builder != nil {
		if err := s.resumeBuilds(ctx); err != nil {
			return err
		}
	}
	if s.cfg.Proxies != nil {
		if err := s.watchProxies(ctx); err != nil {
			return err
		}
	}
	go func() {
		for c := range changes {
			s.mu.Lock()
			if c.Reactor == nil {
				delete(s.cache, c.ID)
			} else if old := s.cache[c.ID]; old == nil || old.Revision <= c.Reactor.Revision {
				s.cache[c.ID] = c.Reactor
			}
			s.mu.Unlock()
		}
	}()
	return nil
}

type traceKey struct{}

func withTrace(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceKey{}, id)
}

// TraceID returns the request's trace id.
func TraceID(ctx context.Context) string {
	id, _ := ctx.Value(traceKey{}).(string)
	return id
}

// principal is who a request authenticated as: an application and what it may do.
type principal struct {
	ApplicationID string
	TenantID      string
	Type          string
	Permissions   map[string]bool
}

var errUnauthenticated = errors.New("a missing or invalid BT-API-KEY was provided")

// authenticate is the one place API keys are checked: the key's hash finds its
// application, whose permissions (its own and those of its access rules) bound the
// request.
func (s *Server) authenticate(r *http.Request) (principal, error) {
	key := r.Header.Get("BT-API-KEY")
	if key == "" || len(key) > 256 {
		return principal{}, errUnauthenticated
	}
	if strings.HasPrefix(key, sandboxKeyPrefix) {
		if p, ok := s.grants.lookup(key, time.Now()); ok {
			return p, nil
		}
		return principal{}, errUnauthenticated
	}
	a, err := s.cfg.Applications.ByKey(r.Context(), key)
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, errUnauthenticated
	}
	if err != nil {
		return principal{}, err
	}
	if a.Expired(time.Now()) {
		return principal{}, errUnauthenticated
	}
	return s.principalOf(a), nil
}

type cachedPrincipal struct {
	revision uint64
	p        principal
}

// principalOf returns an application's principal, computed once per revision.
func (s *Server) principalOf(a *store.Application) principal {
	if c, ok := s.principals.Load(a.ID); ok && c.(cachedPrincipal).revision == a.Revision {
		return c.(cachedPrincipal).p
	}
	p := principalOf(a)
	s.principals.Store(a.ID, cachedPrincipal{a.Revision, p})
	return p
}

func principalOf(a *store.Application) principal {
	p := principal{ApplicationID: a.ID, TenantID: a.TenantID, Type: a.Type, Permissions: map[string]bool{}}
	for _, perm := range a.Permissions {
		p.Permissions[perm] = true
	}
	var rules []accessRule
	json.Unmarshal(a.Rules, &rules)
	for _, rule := range rules {
		for _, perm := range rule.Permissions {
			p.Permissions[perm] = true
			if perm == "token:read" && rule.Transform == "reveal" {
				p.Permissions["token:reveal"] = true
			}
		}
	}
	return p
}

// can reports whether the principal holds perm; the empty permission is any
// authenticated caller.
func (p principal) can(perm string) bool { return perm == "" || p.Permissions[perm] }

type handler func(w http.ResponseWriter, r *http.Request, p principal)

// route registers an authenticated endpoint requiring perm.
func (s *Server) route(pattern, perm string, h handler) {
	name := pattern
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		defer func() {
			s.latency.WithLabelValues(name, http.StatusText(rec.code)).Observe(time.Since(start).Seconds())
		}()
		p, err := s.authenticate(r)
		if errors.Is(err, errUnauthenticated) {
			writeError(rec, r, http.StatusUnauthorized, "Unauthenticated", err.Error(), nil)
			return
		}
		if err != nil {
			s.internal(rec, r, err)
			return
		}
		if ok, wait := s.limits.allow(p.ApplicationID); !ok {
			rec.Header().Set("Retry-After", retryAfter(wait))
			writeError(rec, r, http.StatusTooManyRequests, "Too Many Requests", "the application exceeded its rate limit; retry after "+wait.Round(time.Millisecond).String(), nil)
			return
		}
		if !p.can(perm) {
			writeError(rec, r, http.StatusForbidden, "Forbidden", "the provided BT-API-KEY does not have the required permission "+perm, nil)
			return
		}
		r.Body = http.MaxBytesReader(rec, r.Body, s.cfg.MaxBody)
		h(rec, r, p)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Healthy != nil {
		if err := s.cfg.Healthy(); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "detail": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers in the API's error format.
func writeError(w http.ResponseWriter, r *http.Request, status int, title, detail string, fields map[string][]string) {
	e := runtime.Error{Errors: fields, Title: title, Status: status, Detail: detail}
	if e.Errors == nil {
		e.Errors = map[string][]string{}
	}
	writeJSON(w, status, e)
}

// decode reads a JSON body, answering 413 past the cap and 400 for malformed JSON.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			writeError(w, r, http.StatusUnsupportedMediaType, "Unsupported Media Type", "the body must be application/json", nil)
			return false
		}
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "Payload Too Large",
				"the request body exceeds the limit of "+itoa(tooBig.Limit)+" bytes", nil)
			return false
		}
		writeError(w, r, http.StatusBadRequest, "Bad Request", "the body is not valid JSON: "+err.Error(), nil)
		return false
	}
	return true
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
