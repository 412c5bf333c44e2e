// Package service assembles reactord's parts into a running service: NATS (embedded
// or external), the JetStream stores, the engine, a worker for some tiers and the HTTP
// gateway. `reactord serve|gateway|worker`, the tests and the benchmarks all start
// the service through it.
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reactord/reactord/api"
	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/btbridge"
	"github.com/reactord/reactord/internal/natsd"
	"github.com/reactord/reactord/internal/ratelimit"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/invoke"
	"github.com/reactord/reactord/lifecycle"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/tokens"
	"github.com/reactord/reactord/vulns"
)

// Service is a running assembly.
type Service struct {
	// Handler serves the API (when Gateway), /metrics and /healthz.
	Handler http.Handler
	// GeneratedKey is the management key generated on this first start, if any.
	GeneratedKey string
	// NATSURL is the server the service uses.
	NATSURL string

	cfg Config
	log *slog.Logger
	// ready is set once every part started and cleared when draining begins.
	ready   atomic.Bool
	ns      *natsd.Server
	nc      *nats.Conn
	js      jetstream.JetStream
	key     *seal.Key
	bundles bundles.Store
	eng     *runtime.Engine
	reg     *prometheus.Registry
	pools   *scheduler.Pools
	worker  *scheduler.Worker
	cancel  context.CancelFunc
	// stateStop ends the gateway's state watchers.
	stateStop context.CancelFunc
}

// Start validates c and starts the parts it names; Stop releases them.
func Start(ctx context.Context, c Config) (_ *Service, err error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	s := &Service{cfg: c, log: c.Logger, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil { // release what started before the failure
			s.Stop(context.Background())
		}
	}()
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	if err := s.startEngine(ctx); err != nil {
		return nil, err
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /readyz", s.readyz)
	if len(c.Tiers) > 0 {
		if err := s.startWorker(ctx); err != nil {
			return nil, err
		}
	}
	if c.Gateway {
		h, err := s.startGateway(ctx)
		if err != nil {
			return nil, err
		}
		mux.Handle("/", h)
	} else {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			if err := s.healthy(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"ok"}`)
		})
	}
	s.Handler = mux
	s.ready.Store(true)
	return s, nil
}

// Drain marks the service not ready, so that load balancers stop sending it work
// while in-flight requests finish; Stop follows.
func (s *Service) Drain() { s.ready.Store(false) }

// readyz answers 200 once the service started (NATS connected, images loaded, the
// worker subscribed) and while it is connected, 503 otherwise and while draining.
func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, `{"status":"not ready"}`)
		return
	}
	if err := s.healthy(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"status": "not ready", "detail": err.Error()})
		return
	}
	fmt.Fprintln(w, `{"status":"ready"}`)
}

func (s *Service) healthy() error {
	if !s.nc.IsConnected() {
		return errors.New("not connected to NATS")
	}
	return nil
}

// connect starts the embedded NATS server unless one is configured, connects to
// it, and opens the encryption key and the bundle store every role needs.
func (s *Service) connect(ctx context.Context) (err error) {
	c := s.cfg
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return err
	}
	opts := []nats.Option{nats.Name("reactord"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if c.NATSURL == "" {
		// The embedded server listens on no port: its gateway and worker reach it
		// in-process, and nothing else can.
		o := natsd.Options{DataDir: c.DataDir, InProcessOnly: c.NATSListen == ""}
		if c.NATSListen != "" {
			host, port, _ := net.SplitHostPort(c.NATSListen)
			o.Host, o.User, o.Password = host, c.NATSListenUser, c.NATSListenPassword
			if o.Port, err = strconv.Atoi(port); err != nil {
				return fmt.Errorf("--nats-listen: %w", err)
			}
		}
		if s.ns, err = natsd.Start(ctx, o); err != nil {
			return err
		}
		s.NATSURL = "in-process"
		if c.NATSListen != "" {
			s.NATSURL = s.ns.URL()
		}
		s.log.Info("embedded NATS started", "data_dir", c.DataDir, "listen", c.NATSListen)
		s.nc, err = s.ns.Connect(opts...)
	} else {
		s.NATSURL = c.NATSURL
		var auth []nats.Option
		if auth, err = c.NATS.options(); err != nil {
			return err
		}
		s.nc, err = nats.Connect(c.NATSURL, append(opts, auth...)...)
	}
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", s.NATSURL, err)
	}
	if mp := s.nc.MaxPayload(); mp < natsd.MaxPayload {
		return fmt.Errorf("NATS at %s allows messages of %d bytes; reactord needs max_payload of at least %d (results up to 5 MiB travel as one message)",
			s.NATSURL, mp, natsd.MaxPayload)
	}
	if c.JetStreamAPIPrefix != "" {
		s.js, err = jetstream.NewWithAPIPrefix(s.nc, c.JetStreamAPIPrefix)
	} else {
		s.js, err = jetstream.New(s.nc)
	}
	if err != nil {
		return err
	}
	s.js = natsd.Replicated(s.js, c.JetStreamReplicas)
	switch {
	case c.EncryptionKey != "":
		s.key, err = seal.Parse(c.EncryptionKey)
	case c.Gateway:
		s.key, _, err = seal.LoadOrCreate(filepath.Join(c.DataDir, "encryption.key"))
	}
	// A worker without a configured key holds none: invocations carry what it needs.
	if err != nil {
		return fmt.Errorf("encryption key: %w", err)
	}
	switch {
	case c.BundleStore != "":
		s.bundles, err = bundles.Open(ctx, c.BundleStore, c.S3)
	case c.Gateway:
		var stop context.CancelFunc
		if stop, err = untilAnswering(ctx, s.log, jetStreamWait, time.Second, func(ctx context.Context) (err error) {
			s.bundles, err = bundles.OpenObject(ctx, s.js)
			return err
		}); stop != nil {
			stop() // the store keeps no context of its own
		}
	default: // a worker only reads what gateways stored
		s.bundles, err = bundles.BindObject(ctx, s.js)
	}
	return err
}

// startEngine starts the engine with the host operations reactor code may await:
// fetch under the egress policy, and the Basis Theory client through fetch.
func (s *Service) startEngine(ctx context.Context) (err error) {
	rcfg := s.cfg.Runtime
	if rcfg.Logger == nil {
		rcfg.Logger = s.log
	}
	rcfg.Async = maps.Clone(rcfg.Async)
	if rcfg.Async == nil {
		rcfg.Async = map[string]runtime.AsyncHandler{}
	}
	if rcfg.Async["fetch"] == nil {
		rcfg.Async["fetch"] = egress.New(egress.Policy{AllowPrivate: s.cfg.EgressAllowPrivate}, egress.Options{}).Handle
	}
	rcfg.Async["fetch"] = btbridge.Fetch(s.nc, rcfg.Async["fetch"])
	s.eng, err = runtime.NewEngine(ctx, rcfg)
	return err
}

// startWorker runs invocations of the configured tiers, keeping the pools in step
// with the reactor records.
func (s *Service) startWorker(ctx context.Context) error {
	pc := s.cfg.Pools
	pc.Logger, pc.Metrics = s.log, scheduler.NewMetrics(s.reg)
	s.pools = scheduler.NewPools(s.eng, s.bundles, pc)
	id := s.cfg.WorkerID
	if id == "" {
		host, _ := os.Hostname()
		id = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	s.worker = scheduler.NewWorker(s.nc, s.pools, s.cfg.Tiers, id, s.log)
	if err := s.worker.Start(ctx); err != nil {
		return err
	}
	s.follow(ctx)
	go s.pools.RunEvictions(ctx, 10*time.Second)
	s.log.Info("worker started", "tiers", s.cfg.Tiers)
	return nil
}

// follow keeps the worker's pools in step with the reactor records (warm instances
// prepared ahead, replaced versions released). A worker without the encryption key or
// without the right to watch the bucket (deploy/nats's locked-down workers) prepares
// each version on its first invocation and lets idle ones expire instead.
func (s *Service) follow(ctx context.Context) {
	if s.key == nil {
		s.log.Info("no encryption key: reactors are prepared on their first invocation")
		return
	}
	reactors, err := store.OpenReactors(ctx, s.js, s.key)
	if err == nil {
		err = s.worker.Follow(ctx, reactors)
	}
	if err != nil {
		s.log.Warn("cannot follow the reactor records: reactors are prepared on their first invocation", "error", err)
	}
}

// gatewayState is the state a gateway serves from.
type gatewayState struct {
	sys      store.System
	apps     *store.Applications
	reactors *store.Reactors
	proxies  *store.Proxies
	async    *store.Async
	tokens   *tokens.Store
}

func (s *Service) openGatewayState(ctx context.Context) (g gatewayState, err error) {
	var generated string
	if g.sys, generated, err = store.InitSystem(ctx, s.js, s.cfg.ManagementKey); err != nil {
		return g, err
	}
	if generated != "" { // kept across tries: a later one finds the key stored
		s.GeneratedKey = generated
	}
	if g.apps, err = store.OpenApplications(ctx, s.js); err != nil {
		return g, err
	}
	if err = g.apps.EnsureManagement(ctx, g.sys); err != nil {
		return g, err
	}
	if err = g.apps.Watch(ctx); err != nil {
		return g, err
	}
	if g.reactors, err = store.OpenReactors(ctx, s.js, s.key); err != nil {
		return g, err
	}
	if err = g.reactors.Follow(ctx); err != nil {
		return g, err
	}
	if g.proxies, err = store.OpenProxies(ctx, s.js, s.key); err != nil {
		return g, err
	}
	if err = g.proxies.Follow(ctx); err != nil {
		return g, err
	}
	ttl := s.cfg.ResultTTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	if g.async, err = store.OpenAsync(ctx, s.js, s.key, ttl); err != nil {
		return g, err
	}
	if g.tokens, err = tokens.Open(ctx, s.js, s.key); err != nil {
		return g, err
	}
	err = g.tokens.Watch(ctx, tokens.WatchOptions{Dir: filepath.Join(s.cfg.DataDir, "tokens-index"), Logger: s.log})
	return g, err
}

// startGateway opens the gateway's state, resumes pending builds, serves the code's
// Basis Theory client and react-async, and returns the API handler.
func (s *Service) startGateway(ctx context.Context) (http.Handler, error) {
	c := s.cfg
	var g gatewayState
	stop, err := untilAnswering(ctx, s.log, jetStreamWait, time.Second, func(ctx context.Context) (err error) {
		g, err = s.openGatewayState(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.stateStop = stop
	manifests, err := vulns.OpenManifests(ctx, s.js)
	if err != nil {
		return nil, err
	}
	b, err := s.builder(manifests)
	if err != nil {
		return nil, err
	}
	hooks, dispatcher, err := s.startWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	findings, err := s.startRescans(ctx, g, b != nil, manifests, dispatcher)
	if err != nil {
		return nil, err
	}
	if err := s.followResources(ctx, dispatcher, g.sys.TenantID); err != nil {
		return nil, err
	}
	builds := lifecycle.New(lifecycle.Config{Reactors: g.reactors, Proxies: g.proxies, Builder: b, Bundles: s.bundles,
		Engine: s.eng, Concurrency: c.Build.Concurrency, Logger: s.log})
	if err := builds.Start(ctx); err != nil {
		return nil, err
	}
	authn := auth.New(g.apps)
	btSubject := "reactord.bt." + uuid.NewString()
	invoker := invoke.New(invoke.Config{Dispatcher: scheduler.NewDispatcher(s.nc), Auth: authn, BTSubject: btSubject,
		Tokens: g.tokens, TenantID: g.sys.TenantID, Reactors: g.reactors, Logger: s.log})
	px := proxy.New(proxy.Config{Runner: invoker, Policy: egress.Policy{AllowPrivate: c.EgressAllowPrivate},
		AllowHTTP: c.ProxyAllowHTTP, Timeout: c.ProxyTimeout, MaxResponse: int64(c.ProxyMaxResponse), Logger: s.log})
	srv := api.New(api.Config{Reactors: g.reactors, Applications: g.apps, Bundles: s.bundles, Async: g.async, Tokens: g.tokens,
		Engine: s.eng, Auth: authn, Invoker: invoker, Builds: builds, Limits: ratelimit.New(c.RateLimit, c.RateBurst),
		System: g.sys, Logger: s.log, Registerer: s.reg, Healthy: s.healthy,
		Proxies: g.proxies, Proxy: px, ProxyAllowHTTP: c.ProxyAllowHTTP, ProxyAllowPrivate: c.EgressAllowPrivate,
		Vulnerabilities: findings, BlockCriticalAfter: c.BlockCriticalAfter, Webhooks: hooks, WebhookPolicy: egress.Policy{AllowPrivate: c.EgressAllowPrivate},
		WebhookAllowHTTP: c.ProxyAllowHTTP || c.EgressAllowPrivate})
	if err := btbridge.Serve(ctx, s.nc, btSubject, srv.Handler(), s.log); err != nil {
		return nil, err
	}
	if n := c.AsyncConcurrency; n >= 0 {
		if n == 0 {
			n = 8
		}
		if err := invoker.RunAsync(ctx, g.async, n); err != nil {
			return nil, err
		}
	}
	return srv.Handler(), nil
}

// Stop drains: the worker stops taking invocations and finishes those in flight
// (until ctx ends), then NATS, the engine and the embedded server close.
func (s *Service) Stop(ctx context.Context) error {
	var errs []error
	if s.worker != nil {
		errs = append(errs, s.worker.Stop(ctx))
	}
	if s.stateStop != nil {
		s.stateStop()
	}
	if s.cancel != nil {
		s.cancel()
	}
	if s.pools != nil {
		s.pools.Close()
	}
	if s.nc != nil {
		if err := s.nc.Drain(); err != nil {
			errs = append(errs, err)
		}
		s.nc.Close()
	}
	if s.eng != nil {
		errs = append(errs, s.eng.Close(ctx))
	}
	if s.ns != nil {
		s.ns.Shutdown()
	}
	return errors.Join(errs...)
}

// builder returns the gateway's node22 builder, or nil (node22 refused) when it is
// disabled or npm is missing.
func (s *Service) builder(manifests *vulns.Manifests) (lifecycle.Builder, error) {
	o := s.cfg
	if o.Build.Disabled {
		return nil, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		s.log.Warn("npm is not on PATH: node22 reactors are refused until it is", "error", err)
		return nil, nil
	}
	dir := o.Build.CacheDir
	if dir == "" {
		dir = filepath.Join(o.DataDir, "build")
	}
	b, err := builder.New(builder.Config{CacheDir: dir, OSVDB: o.Build.OSVDB, OSVAPI: o.Build.OSVAPI, OSVRequired: o.Build.OSVRequired,
		Registry: o.Build.Registry, Store: s.bundles, Engine: s.eng, Logger: s.log})
	if err != nil {
		return nil, err
	}
	if o.Build.OSVDB == "" && o.Build.OSVAPI == "" {
		if o.Build.OSVRequired {
			s.log.Warn("no OSV database or API configured: node22 builds with dependencies fail with vulnerability_scan_unavailable")
		} else {
			s.log.Warn("no OSV database or API configured: node22 dependencies are built without a vulnerability scan")
		}
	}
	return nodeBuilder{b: b, manifests: manifests, log: s.log}, nil
}

// nodeBuilder adapts the builder to the API: its failures become the reactor's
// requested error_code, error_message and error_details.
// Each bundle's resolved packages are kept for rescans.
type nodeBuilder struct {
	b         *builder.Builder
	manifests *vulns.Manifests
	log       *slog.Logger
}

func (n nodeBuilder) Build(ctx context.Context, in lifecycle.Input) (*lifecycle.Output, error) {
	res, err := n.b.Build(ctx, builder.Input{Image: in.Image, Code: in.Code, Dependencies: in.Dependencies, Resolutions: in.Resolutions,
		Limits: in.Limits, Lockfile: in.Lockfile})
	if err == nil {
		if err := n.manifests.Put(ctx, res.Manifest.SHA256, res.Manifest.Packages); err != nil {
			n.log.Warn("the bundle's packages were not recorded: it is not rescanned for vulnerabilities", "sha256", res.Manifest.SHA256, "error", err)
		}
		return &lifecycle.Output{Bundle: res.Bundle, Resolved: res.Manifest.Resolved, Lockfile: res.Manifest.Lockfile}, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	be := builder.AsError(err)
	out := &lifecycle.Failure{Code: be.Code, Message: be.Message}
	if be.Details != nil {
		out.Details, _ = json.Marshal(be.Details)
	}
	return nil, out
}
