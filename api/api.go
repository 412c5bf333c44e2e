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
	Reactors   *store.Reactors
	Bundles    store.Bundles
	Engine     *runtime.Engine // validates code at create
	Dispatcher *scheduler.Dispatcher
	System     store.System
	Logger     *slog.Logger
	// Registerer receives the gateway's metrics; nil means none.
	Registerer prometheus.Registerer
	// MaxBody caps request bodies (default 1 MiB, the args cap of the spec).
	MaxBody int64
	// Healthy reports whether the gateway's dependencies are up.
	Healthy func() error
	// Proxies and Proxy serve /proxies and /proxy; nil Proxy disables /proxy.
	Proxies *store.Proxies
	Proxy   *proxy.Proxy
	// ProxyAllowHTTP and ProxyAllowPrivate relax the destination_url checks
	// (plain HTTP; IP addresses) for development and tests.
	ProxyAllowHTTP, ProxyAllowPrivate bool
	// Tokens stores tokens; nil serves no /tokens and detokenizes nothing.
	Tokens *tokens.Store
}

// Server serves the API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	latency *prometheus.HistogramVec

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
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), cache: map[string]*store.Reactor{}, proxies: newProxyCache()}
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
	if cfg.Tokens != nil {
		s.route("POST /tokens", "token:create", s.createToken)
		s.route("GET /tokens/{id}", "token:read", s.getToken)
		s.route("DELETE /tokens/{id}", "token:delete", s.deleteToken)
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

// Watch keeps the gateway's reactor cache current until ctx ends.
func (s *Server) Watch(ctx context.Context) error {
	changes, err := s.cfg.Reactors.Watch(ctx)
	if err != nil {
		return err
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

// principal is who a request authenticated as.
type principal struct {
	ApplicationID string
	Permissions   map[string]bool
}

var errUnauthenticated = errors.New("a missing or invalid BT-API-KEY was provided")

// authenticate is the one place API keys are checked. Applications with their own
// permissions arrive with the platform issue; today only the management application
// exists and it passes every check, react's token:use included (the seeds reserve
// token:use for private applications, so that changes with the platform issue).
func (s *Server) authenticate(r *http.Request) (principal, error) {
	key := r.Header.Get("BT-API-KEY")
	if key == "" || !store.MatchKey(key, s.cfg.System.ManagementHash) {
		return principal{}, errUnauthenticated
	}
	return principal{ApplicationID: s.cfg.System.ManagementAppID, Permissions: nil}, nil
}

func (p principal) can(perm string) bool { return p.Permissions == nil || p.Permissions[perm] }

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
		if err != nil {
			writeError(rec, r, http.StatusUnauthorized, "Unauthenticated", err.Error(), nil)
			return
		}
		if !p.can(perm) {
			writeError(rec, r, http.StatusForbidden, "Forbidden", "the application lacks the "+perm+" permission", nil)
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
