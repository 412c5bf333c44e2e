package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
)

// settings are the service's configuration: flags win over the environment.
type settings struct {
	addr, dataDir, natsURL, managementKey, encryptionKey, cacheDir string
	tiers                                                          string
	drain, idleTTL, queueWait, resultTTL                           time.Duration
	asyncConcurrency, rateBurst, buildConcurrency                  int
	osvDB, osvAPI, buildCache, npmRegistry                         string
	bundleStore, s3Endpoint, s3Region                              string
	s3PathStyle                                                    bool
	rateLimit                                                      float64
	pristine, egressAllowPrivate                                   bool
	proxyAllowHTTP                                                 bool
	reactorLogs, reactorLogLevel                                   string
}

func (s *settings) register(fs *flag.FlagSet, role string) {
	str := func(p *string, name, env, def, help string) {
		fs.StringVar(p, name, envOr(env, def), help+" ("+env+")")
	}
	if role != "worker" {
		str(&s.addr, "addr", "REACTORD_ADDR", "127.0.0.1:8080", "HTTP listen address")
		str(&s.managementKey, "management-key", "REACTORD_MANAGEMENT_KEY", "", "the management application's API key; generated and printed once on first start when unset")
		fs.IntVar(&s.asyncConcurrency, "async-concurrency", intEnv("REACTORD_ASYNC_CONCURRENCY", 8), "react-async requests this gateway runs at once; -1 runs none (REACTORD_ASYNC_CONCURRENCY)")
		fs.DurationVar(&s.resultTTL, "result-ttl", durationEnv("REACTORD_RESULT_TTL", 24*time.Hour), "how long react-async results are kept (REACTORD_RESULT_TTL)")
		fs.Float64Var(&s.rateLimit, "rate-limit", floatEnv("REACTORD_RATE_LIMIT", 0), "requests per second per application, 429 past it; 0 is off (REACTORD_RATE_LIMIT)")
		fs.IntVar(&s.rateBurst, "rate-burst", intEnv("REACTORD_RATE_BURST", 0), "burst allowed above --rate-limit; default: one second's worth (REACTORD_RATE_BURST)")
		str(&s.osvDB, "osv-db", "REACTORD_OSV_DB", "", "local OSV database directory (osv-scanner's offline layout) scanning node22 dependencies")
		str(&s.osvAPI, "osv-api", "REACTORD_OSV_API", "", "OSV API URL (e.g. https://api.osv.dev) used when --osv-db is unset")
		str(&s.buildCache, "build-cache", "REACTORD_BUILD_CACHE", "", "npm cache and build records of node22 builds; default DATA_DIR/build")
		str(&s.npmRegistry, "npm-registry", "REACTORD_NPM_REGISTRY", "", "npm registry URL for node22 builds")
		fs.IntVar(&s.buildConcurrency, "build-concurrency", intEnv("REACTORD_BUILD_CONCURRENCY", 1), "node22 builds this gateway runs at once (REACTORD_BUILD_CONCURRENCY)")
		str(&s.encryptionKey, "encryption-key", "REACTORD_ENCRYPTION_KEY", "", "base64 AES-256 key sealing configuration at rest; default: DATA_DIR/encryption.key, generated on first start")
	} else {
		str(&s.addr, "addr", "REACTORD_ADDR", "127.0.0.1:9090", "HTTP listen address of /metrics and /healthz")
	}
	str(&s.dataDir, "data-dir", "REACTORD_DATA_DIR", defaultDataDir(), "data directory (JetStream storage, keys)")
	if role == "serve" {
		str(&s.natsURL, "nats", "REACTORD_NATS_URL", "", "NATS server URL; empty runs an embedded server")
	} else {
		str(&s.natsURL, "nats", "REACTORD_NATS_URL", nats.DefaultURL, "NATS server URL")
	}
	if role != "gateway" {
		str(&s.tiers, "tiers", "REACTORD_TIERS", "standard,large,xlarge", "resource tiers this worker serves")
		fs.DurationVar(&s.idleTTL, "idle-ttl", durationEnv("REACTORD_IDLE_TTL", 5*time.Minute), "idle instances beyond warm_concurrency are released after this (REACTORD_IDLE_TTL)")
		fs.DurationVar(&s.queueWait, "queue-wait", durationEnv("REACTORD_QUEUE_WAIT", 250*time.Millisecond), "how long an invocation waits for a busy tier before 429 (REACTORD_QUEUE_WAIT)")
		str(&s.reactorLogs, "reactor-logs", "REACTORD_REACTOR_LOGS", "redacted", "reactors' console output in the log: off, redacted (card numbers and SSNs masked) or full")
		str(&s.reactorLogLevel, "reactor-log-level", "REACTORD_REACTOR_LOG_LEVEL", "info", "log level of reactors' console output: debug, info, warn or error")
		fs.BoolVar(&s.pristine, "pristine", os.Getenv("REACTORD_PRISTINE") == "true", "reset instances between invocations of the same version (REACTORD_PRISTINE)")
		fs.BoolVar(&s.egressAllowPrivate, "egress-allow-private", os.Getenv("REACTORD_EGRESS_ALLOW_PRIVATE") == "true",
			"let reactor fetch reach loopback, private, link-local and metadata addresses (REACTORD_EGRESS_ALLOW_PRIVATE; local development only)")
	}
	str(&s.bundleStore, "bundle-store", "REACTORD_BUNDLE_STORE", "", "bundle store shared with reactord publish: file:DIR or s3://bucket/prefix; empty is NATS JetStream")
	str(&s.s3Endpoint, "s3-endpoint", "REACTORD_S3_ENDPOINT", "", "S3-compatible endpoint URL of an s3:// bundle store")
	str(&s.s3Region, "s3-region", "REACTORD_S3_REGION", os.Getenv("AWS_REGION"), "S3 region (credentials come from the AWS environment)")
	fs.BoolVar(&s.s3PathStyle, "s3-path-style", os.Getenv("REACTORD_S3_PATH_STYLE") == "true", "path-style S3 addressing (REACTORD_S3_PATH_STYLE)")
	if role == "gateway" { // a gateway's proxy reaches destinations under the same policy
		fs.BoolVar(&s.egressAllowPrivate, "egress-allow-private", os.Getenv("REACTORD_EGRESS_ALLOW_PRIVATE") == "true",
			"let proxies reach loopback, private, link-local and metadata addresses (REACTORD_EGRESS_ALLOW_PRIVATE; local development only)")
	}
	if role != "worker" {
		fs.BoolVar(&s.proxyAllowHTTP, "proxy-allow-http", os.Getenv("REACTORD_PROXY_ALLOW_HTTP") == "true",
			"let proxies reach plain-HTTP destinations (REACTORD_PROXY_ALLOW_HTTP; local development only)")
	}
	str(&s.cacheDir, "cache-dir", "REACTORD_CACHE_DIR", defaultCacheDir(), "engine compilation cache")
	fs.DurationVar(&s.drain, "drain-timeout", durationEnv("REACTORD_DRAIN_TIMEOUT", 30*time.Second), "how long shutdown waits for in-flight work (REACTORD_DRAIN_TIMEOUT)")
}

// asyncOps are the host operations reactor code may await: fetch under the egress policy.
func asyncOps(allowPrivate bool) map[string]runtime.AsyncHandler {
	return map[string]runtime.AsyncHandler{"fetch": egress.New(egress.Policy{AllowPrivate: allowPrivate}, egress.Options{}).Handle}
}

func durationEnv(key string, def time.Duration) time.Duration {
	if v, ok := os.LookupEnv(key); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func intEnv(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func floatEnv(key string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(key), 64); err == nil {
		return v
	}
	return def
}

func defaultDataDir() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "reactord")
	}
	return "reactord-data"
}

func (s *settings) tierList() ([]runtime.Tier, error) {
	var out []runtime.Tier
	for _, t := range strings.Split(s.tiers, ",") {
		t = strings.TrimSpace(t)
		if _, err := runtime.TierLimits(runtime.Tier(t)); err != nil || t == "" {
			return nil, fmt.Errorf("--tiers: unknown tier %q", t)
		}
		out = append(out, runtime.Tier(t))
	}
	return out, nil
}

// serviceCommand runs `serve` (all in one), `gateway` or `worker`.
func serviceCommand(ctx context.Context, role string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var s settings
	s.register(fs, role)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "reactord %s: unexpected arguments %v\n", role, fs.Args())
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if err := runService(ctx, role, &s, stdout, log); err != nil {
		log.Error("reactord stopped", "role", role, "error", err)
		return 1
	}
	return 0
}

func runService(ctx context.Context, role string, s *settings, stdout io.Writer, log *slog.Logger) error {
	o := service.Options{NATSURL: s.natsURL, DataDir: s.dataDir, EncryptionKey: s.encryptionKey,
		Gateway: role != "worker", ManagementKey: s.managementKey,
		BundleStore: s.bundleStore, S3: bundles.S3Config{Endpoint: s.s3Endpoint, Region: s.s3Region, PathStyle: s.s3PathStyle},
		Build:            service.BuildOptions{CacheDir: s.buildCache, OSVDB: s.osvDB, OSVAPI: s.osvAPI, Registry: s.npmRegistry, Concurrency: s.buildConcurrency},
		AsyncConcurrency: s.asyncConcurrency, ResultTTL: s.resultTTL, RateLimit: s.rateLimit, RateBurst: s.rateBurst,
		Pools:   scheduler.PoolsConfig{QueueWait: s.queueWait, IdleTTL: s.idleTTL, Pristine: s.pristine},
		Runtime: runtime.Config{CacheDir: s.cacheDir, Async: asyncOps(s.egressAllowPrivate)}, Logger: log,
		ProxyAllowHTTP: s.proxyAllowHTTP, ProxyAllowPrivate: s.egressAllowPrivate}
	if role != "gateway" {
		tiers, err := s.tierList()
		if err != nil {
			return err
		}
		o.Tiers = tiers
		if o.Pools.ReactorLogs, err = scheduler.ParseReactorLogs(s.reactorLogs); err != nil {
			return fmt.Errorf("--reactor-logs: %w", err)
		}
		if err := o.Pools.ReactorLogLevel.UnmarshalText([]byte(s.reactorLogLevel)); err != nil {
			return fmt.Errorf("--reactor-log-level: %w", err)
		}
	}
	svc, err := service.Start(ctx, o)
	if err != nil {
		return err
	}
	if svc.GeneratedKey != "" {
		fmt.Fprintf(stdout, "Management API key (shown once, keep it): %s\n", svc.GeneratedKey)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		svc.Stop(context.Background())
		return err
	}
	httpSrv := &http.Server{Handler: svc.Handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	log.Info("reactord listening", "role", role, "addr", ln.Addr().String())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	log.Info("shutting down: draining in-flight work", "timeout", s.drain.String())
	dctx, cancel := context.WithTimeout(context.Background(), s.drain)
	defer cancel()
	return errors.Join(serveErr, httpSrv.Shutdown(dctx), svc.Stop(dctx))
}
