// Package api is the HTTP layer of the gateway: the routes of the Basis Theory API,
// authentication and permission checks, decoding, validation and encoding in the
// API's error format, and trace ids. What lies behind a route lives elsewhere:
// invocations in invoke, builds in lifecycle, keys and grants in auth, state in store.
package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/internal/ratelimit"
	"github.com/reactord/reactord/internal/trace"
	"github.com/reactord/reactord/invoke"
	"github.com/reactord/reactord/lifecycle"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/tokens"
	"github.com/reactord/reactord/vulns"
	"github.com/reactord/reactord/webhooks"
)

// Config wires a Server.
type Config struct {
	Reactors     *store.Reactors
	Applications *store.Applications
	Bundles      store.Bundles
	// Async is the queue of react-async requests and their results.
	Async *store.Async
	// Engine loads node-bt code once at create and update, to refuse code that cannot run.
	Engine *runtime.Engine
	// Auth checks API keys.
	Auth *auth.Authenticator
	// Invoker runs reactors.
	Invoker *invoke.Invoker
	// Builds builds reactors and proxies whose images need a build step.
	Builds *lifecycle.Manager
	System store.System
	Logger *slog.Logger
	// Registerer receives the gateway's metrics; nil means none.
	Registerer prometheus.Registerer
	// MaxBody caps request bodies (default 1 MiB, the args cap).
	MaxBody int64
	// Limits rate-limits each application; nil allows everything.
	Limits *ratelimit.Limiter
	// Healthy reports whether the gateway's dependencies are up.
	Healthy func() error
	// Tokens stores tokens; nil serves no /tokens.
	Tokens *tokens.Store
	// Proxies and Proxy serve /proxies and /proxy; nil Proxy disables /proxy.
	Proxies *store.Proxies
	Proxy   *proxy.Proxy
	// ProxyAllowHTTP and ProxyAllowPrivate relax the destination_url checks
	// (plain HTTP; IP addresses) for development and tests.
	ProxyAllowHTTP, ProxyAllowPrivate bool
	// Vulnerabilities are the open findings of deployed code that GET shows; nil
	// shows none.
	Vulnerabilities *vulns.Findings
	// BlockCriticalAfter refuses invocations of code with a CRITICAL finding open
	// this long (0: never).
	BlockCriticalAfter time.Duration
	// Webhooks stores webhooks; nil serves no /webhooks. WebhookPolicy and
	// WebhookAllowHTTP check their URLs.
	Webhooks         *webhooks.Store
	WebhookPolicy    egress.Policy
	WebhookAllowHTTP bool
}

// Server serves the API. It keeps no state beyond a request's: the stores, the
// authenticator and the build manager it is given hold it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	latency *prometheus.HistogramVec
}

// New returns the API server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = runtime.DefaultMaxArgs
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
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
	if cfg.Webhooks != nil {
		s.routeWebhooks()
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
		id := r.Header.Get("BT-TRACE-ID")
		if id == "" || len(id) > 128 {
			id = uuid.NewString()
		}
		w.Header().Set("BT-TRACE-ID", id)
		s.mux.ServeHTTP(w, r.WithContext(trace.With(r.Context(), id)))
	})
}

// authenticate is the one place API keys are checked.
func (s *Server) authenticate(r *http.Request) (auth.Principal, error) {
	return s.cfg.Auth.Authenticate(r.Context(), r.Header.Get("BT-API-KEY"))
}

type handler func(w http.ResponseWriter, r *http.Request, p auth.Principal)

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
		if errors.Is(err, auth.ErrUnauthenticated) {
			writeError(rec, r, http.StatusUnauthorized, "Unauthenticated", err.Error(), nil)
			return
		}
		if err != nil {
			s.internal(rec, r, err)
			return
		}
		if ok, wait := s.cfg.Limits.Allow(p.ApplicationID); !ok {
			rec.Header().Set("Retry-After", retryAfter(wait))
			writeError(rec, r, http.StatusTooManyRequests, "Too Many Requests", "the application exceeded its rate limit; retry after "+wait.Round(time.Millisecond).String(), nil)
			return
		}
		if !p.Can(perm) {
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
	e := apierror.Fields(status, detail, fields)
	e.Title = title
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

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(d.Seconds()) + 1)
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
