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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reactord/reactord/api"
	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/btbridge"
	"github.com/reactord/reactord/internal/natsd"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/store"
	"github.com/reactord/reactord/tokens"
)

// Options select the parts to run and configure them.
type Options struct {
	// NATSURL is the server to use; empty starts an embedded one in DataDir.
	NATSURL string
	DataDir string
	// EncryptionKey is the base64 key sealing configuration; empty uses (and creates)
	// DataDir/encryption.key.
	EncryptionKey string
	// Gateway runs the HTTP API; ManagementKey is its management application's key
	// (empty: generated on first start and returned in Service.GeneratedKey).
	Gateway       bool
	ManagementKey string
	// Tiers are the tiers the worker serves; none runs no worker.
	Tiers    []runtime.Tier
	WorkerID string
	Pools    scheduler.PoolsConfig
	// AsyncConcurrency bounds the react-async requests the gateway runs at once
	// (default 8; negative: the gateway runs none, another gateway must).
	AsyncConcurrency int
	// ResultTTL is how long react-async results are kept (default 24 h).
	ResultTTL time.Duration
	// RateLimit and RateBurst limit each application's requests per second (0: off).
	RateLimit float64
	RateBurst int
	// BundleStore is where bundles live: "" is the JetStream object store; file:DIR or
	// s3://bucket/prefix (with S3) share a store with CI's `reactord publish`.
	BundleStore string
	S3          bundles.S3Config
	// Build configures the node22 builder of the gateway; it runs when npm is on PATH.
	Build BuildOptions
	// Runtime configures the engine (compilation cache, async host operations).
	Runtime runtime.Config
	Logger  *slog.Logger
	// ProxyAllowHTTP lets proxies reach plain-HTTP destinations; ProxyAllowPrivate
	// lets them reach loopback and private addresses (development and tests).
	ProxyAllowHTTP, ProxyAllowPrivate bool
}

// BuildOptions configure the gateway's node22 builder.
type BuildOptions struct {
	// CacheDir holds npm's cache and build records (default DataDir/build).
	CacheDir string
	// OSVDB is a local OSV database directory; OSVAPI an OSV API URL.
	OSVDB, OSVAPI string
	// Registry overrides the npm registry.
	Registry string
	// Concurrency bounds concurrent builds (default 1).
	Concurrency int
	// Disabled refuses node22 reactors.
	Disabled bool
}

// Service is a running assembly.
type Service struct {
	// Handler serves the API (when Gateway), /metrics and /healthz.
	Handler http.Handler
	// GeneratedKey is the management key generated on this first start, if any.
	GeneratedKey string
	// NATSURL is the server the service uses.
	NATSURL string

	log    *slog.Logger
	ns     *natsd.Server
	nc     *nats.Conn
	eng    *runtime.Engine
	pools  *scheduler.Pools
	worker *scheduler.Worker
	cancel context.CancelFunc
}

// Start starts the parts; Stop releases them.
func Start(ctx context.Context, o Options) (s *Service, err error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s = &Service{log: o.Logger}
	defer func() {
		if err != nil {
			s.Stop(context.Background())
		}
	}()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, err
	}
	ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.NATSURL = o.NATSURL
	if s.NATSURL == "" {
		if s.ns, err = natsd.Start(ctx, natsd.Options{DataDir: o.DataDir}); err != nil {
			return nil, err
		}
		s.NATSURL = s.ns.URL()
		s.log.Info("embedded NATS started", "url", s.NATSURL, "data_dir", o.DataDir)
	}
	if s.nc, err = nats.Connect(s.NATSURL, nats.Name("reactord"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond)); err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", s.NATSURL, err)
	}
	js, err := jetstream.New(s.nc)
	if err != nil {
		return nil, err
	}
	var key *seal.Key
	if o.EncryptionKey != "" {
		key, err = seal.Parse(o.EncryptionKey)
	} else {
		key, _, err = seal.LoadOrCreate(filepath.Join(o.DataDir, "encryption.key"))
	}
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	reactors, err := store.OpenReactors(ctx, js, key)
	if err != nil {
		return nil, err
	}
	var bundleStore bundles.Store
	if o.BundleStore == "" {
		bundleStore, err = bundles.OpenObject(ctx, js)
	} else {
		bundleStore, err = bundles.Open(ctx, o.BundleStore, o.S3)
	}
	if err != nil {
		return nil, err
	}
	rcfg := o.Runtime
	if rcfg.Logger == nil {
		rcfg.Logger = o.Logger
	}
	// The Basis Theory client in reactor code reaches the API through fetch.
	rcfg.Async = maps.Clone(rcfg.Async)
	if rcfg.Async == nil {
		rcfg.Async = map[string]runtime.AsyncHandler{}
	}
	rcfg.Async["fetch"] = btbridge.Fetch(s.nc, rcfg.Async["fetch"])
	if s.eng, err = runtime.NewEngine(ctx, rcfg); err != nil {
		return nil, err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	healthy := func() error {
		if !s.nc.IsConnected() {
			return errors.New("not connected to NATS")
		}
		return nil
	}
	if len(o.Tiers) > 0 {
		pc := o.Pools
		pc.Logger, pc.Metrics = o.Logger, scheduler.NewMetrics(reg)
		s.pools = scheduler.NewPools(s.eng, bundleStore, pc)
		id := o.WorkerID
		if id == "" {
			host, _ := os.Hostname()
			id = fmt.Sprintf("%s-%d", host, os.Getpid())
		}
		s.worker = scheduler.NewWorker(s.nc, s.pools, o.Tiers, id, o.Logger)
		if err := s.worker.Start(ctx); err != nil {
			return nil, err
		}
		if err := s.worker.Follow(ctx, reactors); err != nil {
			return nil, err
		}
		go s.pools.RunEvictions(ctx, 10*time.Second)
		s.log.Info("worker started", "tiers", o.Tiers)
	}
	if o.Gateway {
		sys, generated, err := store.InitSystem(ctx, js, o.ManagementKey)
		if err != nil {
			return nil, err
		}
		s.GeneratedKey = generated
		apps, err := store.OpenApplications(ctx, js)
		if err != nil {
			return nil, err
		}
		if err := apps.EnsureManagement(ctx, sys); err != nil {
			return nil, err
		}
		if err := apps.Watch(ctx); err != nil {
			return nil, err
		}
		ttl := o.ResultTTL
		if ttl <= 0 {
			ttl = 24 * time.Hour
		}
		async, err := store.OpenAsync(ctx, js, key, ttl)
		if err != nil {
			return nil, err
		}
		toks, err := tokens.Open(ctx, js, key)
		if err != nil {
			return nil, err
		}
		if err := toks.Watch(ctx, tokens.WatchOptions{Dir: filepath.Join(o.DataDir, "tokens-index"), Logger: o.Logger}); err != nil {
			return nil, err
		}
		b, err := s.builder(o, bundleStore)
		if err != nil {
			return nil, err
		}
		btSubject := "reactord.bt." + uuid.NewString()
		proxies, err := store.OpenProxies(ctx, js, key)
		if err != nil {
			return nil, err
		}
		dispatcher := scheduler.NewDispatcher(s.nc)
		px := proxy.New(proxy.Config{Invoker: dispatcher, Policy: egress.Policy{AllowPrivate: o.ProxyAllowPrivate},
			AllowHTTP: o.ProxyAllowHTTP, Logger: o.Logger})
		srv := api.New(api.Config{Reactors: reactors, Applications: apps, Bundles: bundleStore, Async: async, Tokens: toks,
			Builder: b, BuildConcurrency: o.Build.Concurrency, BTSubject: btSubject,
			RateLimit: o.RateLimit, RateBurst: o.RateBurst, Engine: s.eng, Dispatcher: dispatcher,
			System: sys, Logger: o.Logger, Registerer: reg, Healthy: healthy,
			Proxies: proxies, Proxy: px, ProxyAllowHTTP: o.ProxyAllowHTTP, ProxyAllowPrivate: o.ProxyAllowPrivate})
		if err := srv.Watch(ctx); err != nil {
			return nil, err
		}
		if err := btbridge.Serve(ctx, s.nc, btSubject, srv.Handler(), o.Logger); err != nil {
			return nil, err
		}
		if n := o.AsyncConcurrency; n >= 0 {
			if n == 0 {
				n = 8
			}
			if err := srv.RunAsync(ctx, n); err != nil {
				return nil, err
			}
		}
		mux.Handle("/", srv.Handler())
	} else {
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
			if err := healthy(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"status":"ok"}`)
		})
	}
	s.Handler = mux
	return s, nil
}

// Stop drains: the worker stops taking invocations and finishes those in flight
// (until ctx ends), then NATS, the engine and the embedded server close.
func (s *Service) Stop(ctx context.Context) error {
	var errs []error
	if s.worker != nil {
		errs = append(errs, s.worker.Stop(ctx))
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
func (s *Service) builder(o Options, store bundles.Store) (api.Builder, error) {
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
	b, err := builder.New(builder.Config{CacheDir: dir, OSVDB: o.Build.OSVDB, OSVAPI: o.Build.OSVAPI, Registry: o.Build.Registry,
		Store: store, Engine: s.eng, Logger: s.log})
	if err != nil {
		return nil, err
	}
	if o.Build.OSVDB == "" && o.Build.OSVAPI == "" {
		s.log.Warn("no OSV database or API configured: node22 dependencies are built without a vulnerability scan")
	}
	return nodeBuilder{b}, nil
}

// nodeBuilder adapts the builder to the API: its failures become the reactor's
// requested error_code, error_message and error_details.
type nodeBuilder struct{ b *builder.Builder }

func (n nodeBuilder) Build(ctx context.Context, in api.BuildInput) ([]byte, error) {
	res, err := n.b.Build(ctx, builder.Input{Image: in.Image, Code: in.Code, Dependencies: in.Dependencies, Resolutions: in.Resolutions})
	if err == nil {
		return res.Bundle, nil
	}
	if ctx.Err() != nil {
		return nil, err
	}
	be := builder.AsError(err)
	out := &api.BuildError{Code: be.Code, Message: be.Message}
	if be.Details != nil {
		out.Details, _ = json.Marshal(be.Details)
	}
	return nil, out
}
