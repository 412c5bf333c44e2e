package service

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/proxy"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
	"github.com/reactord/reactord/vulns"
)

// Role is what a process runs: everything, the HTTP gateway, or a worker.
type Role string

// Roles of `reactord serve`, `reactord gateway` and `reactord worker`.
const (
	Serve   Role = "serve"
	Gateway Role = "gateway"
	Worker  Role = "worker"
)

// Config is the configuration of every role. Register binds the fields a role takes
// to flags and REACTORD_ environment variables (flags win); Validate, also run by
// Start, refuses malformed and out-of-range values with the flag or variable named.
type Config struct {
	// Addr is the HTTP listen address (the API; /metrics and /healthz on workers).
	Addr string
	// TLSCert and TLSKey, when set, make the HTTP listener serve TLS, for deployments
	// without an ingress that terminates it.
	TLSCert, TLSKey string
	// NATSURL is the server to use; empty starts an embedded one in DataDir.
	NATSURL string
	// NATS authenticates and encrypts the connection to an external server.
	NATS NATSAuth
	// NATSListen, for serve, opens the embedded server to workers on other machines
	// at this address, for NATSListenUser and NATSListenPassword only (both required).
	NATSListen, NATSListenUser, NATSListenPassword string
	// JetStreamReplicas is how many servers keep each stream, bucket and object
	// store (default 1); applied at creation and reconciled on start.
	JetStreamReplicas int
	// JetStreamAPIPrefix reaches JetStream through another account's exported API
	// (deploy/nats: workers use $JS.reactord.API and may only read by key).
	JetStreamAPIPrefix string
	DataDir            string
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
	// Pools configures the worker's warm instances (QueueWait, IdleTTL, Pristine).
	Pools scheduler.PoolsConfig
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
	// Build configures the gateway's builder; it runs when npm is on PATH.
	Build BuildConfig
	// Runtime configures the engine (compilation cache, async host operations).
	Runtime runtime.Config
	// BlockCriticalAfter refuses invocations of deployed code with a CRITICAL
	// vulnerability finding open this long (0: never).
	BlockCriticalAfter time.Duration
	// EgressAllowPrivate lets reactor fetch and proxy destinations reach loopback,
	// private, link-local and metadata addresses (local development and tests).
	EgressAllowPrivate bool
	// ProxyAllowHTTP lets proxies reach plain-HTTP destinations.
	ProxyAllowHTTP bool
	// ProxyTimeout bounds one proxy destination call (Basis Theory's 25 s, answered
	// 408); ProxyMaxResponse caps the destination's response body in bytes (502 past it).
	ProxyTimeout     time.Duration
	ProxyMaxResponse int
	// DrainTimeout is how long shutdown waits for in-flight work.
	DrainTimeout time.Duration
	// PprofAddr, when set, serves Go's /debug/pprof profiles on their own listener
	// (keep it on loopback), for profiling a running process.
	PprofAddr string
	// LogLevel is the level of the process's own log; Logger, when set by the
	// caller, is used as it is.
	LogLevel slog.Level
	Logger   *slog.Logger

	envErrs []error
}

// NATSAuth is how a process proves itself to NATS and checks the server: at most one
// of a .creds file, an NKey seed file or a user and password, and TLS files.
type NATSAuth struct {
	Creds, NKeySeed, User, Password string
	// TLSCA verifies the server; TLSCert and TLSKey are the client's certificate.
	TLSCA, TLSCert, TLSKey string
}

// BuildConfig configures the gateway's builder.
type BuildConfig struct {
	// CacheDir holds npm's cache and build records (default DataDir/build).
	CacheDir string
	// OSVDB is a local OSV database directory; OSVAPI an OSV API URL.
	OSVDB, OSVAPI string
	// Registry overrides the npm registry.
	Registry string
	// OSVRequired fails a build whose vulnerability scan cannot run with
	// vulnerability_scan_unavailable instead of passing it unscanned.
	OSVRequired bool
	// RescanInterval is the time between rescans of deployed node22 code (0: 24 h);
	// RescanPoll how often the rescan lease and the offline database are checked
	// (0: 30 s).
	RescanInterval, RescanPoll time.Duration
	// Concurrency bounds concurrent builds (default 1).
	Concurrency int
	// Disabled refuses reactors that need a build.
	Disabled bool
}

// Register binds the fields role takes to flags on fs, with defaults from the
// environment. A malformed environment value is reported by Validate.
func (c *Config) Register(fs *flag.FlagSet, role Role) {
	r := registrar{fs: fs, c: c}
	c.Gateway = role != Worker
	c.Build.OSVRequired = role != Worker
	if role == Worker {
		r.str(&c.Addr, "addr", "REACTORD_ADDR", "127.0.0.1:9090", "HTTP listen address of /metrics and /healthz")
	} else {
		r.str(&c.Addr, "addr", "REACTORD_ADDR", "127.0.0.1:8080", "HTTP listen address")
	}
	r.str(&c.TLSCert, "tls-cert", "REACTORD_TLS_CERT", "", "PEM certificate of the HTTP listener; with --tls-key it serves HTTPS")
	r.str(&c.TLSKey, "tls-key", "REACTORD_TLS_KEY", "", "PEM private key of --tls-cert")
	r.str(&c.DataDir, "data-dir", "REACTORD_DATA_DIR", defaultDataDir(), "data directory (JetStream storage, keys)")
	if role == Serve {
		r.str(&c.NATSURL, "nats", "REACTORD_NATS_URL", "", "NATS server URL; empty runs an embedded server")
		r.str(&c.NATSListen, "nats-listen", "REACTORD_NATS_LISTEN", "", "open the embedded NATS server to outside workers at HOST:PORT (with --nats-listen-user and REACTORD_NATS_LISTEN_PASSWORD); empty: in-process only")
		r.str(&c.NATSListenUser, "nats-listen-user", "REACTORD_NATS_LISTEN_USER", "", "the user outside workers connect to the embedded NATS server as")
		r.str(&c.NATSListenPassword, "nats-listen-password", "REACTORD_NATS_LISTEN_PASSWORD", "", "that user's password; prefer the environment variable")
	} else {
		r.str(&c.NATSURL, "nats", "REACTORD_NATS_URL", nats.DefaultURL, "NATS server URL")
	}
	r.str(&c.NATS.Creds, "nats-creds", "REACTORD_NATS_CREDS", "", "NATS credentials file (user JWT and NKey seed) for an external server")
	r.str(&c.NATS.NKeySeed, "nats-nkey", "REACTORD_NATS_NKEY", "", "NATS NKey seed file for an external server")
	r.str(&c.NATS.User, "nats-user", "REACTORD_NATS_USER", "", "NATS user for an external server (with REACTORD_NATS_PASSWORD)")
	r.str(&c.NATS.Password, "nats-password", "REACTORD_NATS_PASSWORD", "", "NATS password; prefer the environment variable to the flag")
	r.str(&c.NATS.TLSCA, "nats-tls-ca", "REACTORD_NATS_TLS_CA", "", "CA certificate (PEM) that verifies the NATS server")
	r.str(&c.NATS.TLSCert, "nats-tls-cert", "REACTORD_NATS_TLS_CERT", "", "client certificate (PEM) for NATS mutual TLS")
	r.str(&c.NATS.TLSKey, "nats-tls-key", "REACTORD_NATS_TLS_KEY", "", "client key (PEM) for NATS mutual TLS")
	r.str(&c.JetStreamAPIPrefix, "jetstream-api-prefix", "REACTORD_JETSTREAM_API_PREFIX", "", "JetStream API prefix when JetStream is imported from another account (locked-down workers)")
	r.integer(&c.JetStreamReplicas, "jetstream-replicas", "REACTORD_JETSTREAM_REPLICAS", 1, "servers keeping each JetStream stream, bucket and object store (3 in a cluster)")
	if role != Worker {
		r.str(&c.ManagementKey, "management-key", "REACTORD_MANAGEMENT_KEY", "", "the management application's API key; generated and printed once on first start when unset")
		r.str(&c.EncryptionKey, "encryption-key", "REACTORD_ENCRYPTION_KEY", "", "base64 AES-256 key sealing configuration at rest; default: DATA_DIR/encryption.key, generated on first start")
		r.integer(&c.AsyncConcurrency, "async-concurrency", "REACTORD_ASYNC_CONCURRENCY", 8, "react-async requests this gateway runs at once; -1 runs none")
		r.duration(&c.ResultTTL, "result-ttl", "REACTORD_RESULT_TTL", 24*time.Hour, "how long react-async results are kept")
		r.float(&c.RateLimit, "rate-limit", "REACTORD_RATE_LIMIT", 0, "requests per second per application, 429 past it; 0 is off")
		r.integer(&c.RateBurst, "rate-burst", "REACTORD_RATE_BURST", 0, "burst allowed above --rate-limit; default: one second's worth")
		r.str(&c.Build.OSVDB, "osv-db", "REACTORD_OSV_DB", "", "local OSV database directory (osv-scanner's offline layout) scanning node22 dependencies")
		r.str(&c.Build.OSVAPI, "osv-api", "REACTORD_OSV_API", vulns.DefaultAPI, "OSV API URL used when --osv-db is unset; empty scans nothing")
		r.boolean(&c.Build.OSVRequired, "osv-required", "REACTORD_OSV_REQUIRED", "fail node22 builds whose vulnerability scan cannot run (vulnerability_scan_unavailable) instead of building them unscanned")
		r.duration(&c.Build.RescanInterval, "osv-rescan-interval", "REACTORD_OSV_RESCAN_INTERVAL", 24*time.Hour, "time between vulnerability rescans of deployed node22 code (also rescanned when the --osv-db file changes)")
		r.duration(&c.BlockCriticalAfter, "block-critical-after", "REACTORD_BLOCK_CRITICAL_AFTER", 0, "refuse invocations of reactors and proxies with a CRITICAL vulnerability finding open this long; 0 never refuses")
		r.str(&c.Build.CacheDir, "build-cache", "REACTORD_BUILD_CACHE", "", "npm cache and build records of node22 builds; default DATA_DIR/build")
		r.str(&c.Build.Registry, "npm-registry", "REACTORD_NPM_REGISTRY", "", "npm registry URL for node22 builds")
		r.integer(&c.Build.Concurrency, "build-concurrency", "REACTORD_BUILD_CONCURRENCY", 1, "node22 builds this gateway runs at once")
		r.boolean(&c.ProxyAllowHTTP, "proxy-allow-http", "REACTORD_PROXY_ALLOW_HTTP", "let proxies reach plain-HTTP destinations (local development only)")
		r.duration(&c.ProxyTimeout, "proxy-timeout", "REACTORD_PROXY_TIMEOUT", proxy.DefaultTimeout, "how long a proxy waits for its destination, body included, before 408")
		r.integer(&c.ProxyMaxResponse, "proxy-max-response", "REACTORD_PROXY_MAX_RESPONSE", proxy.DefaultMaxResponse, "largest destination response body a proxy returns, in bytes; 502 past it")
	}
	if role != Gateway {
		r.tiers(&c.Tiers, "tiers", "REACTORD_TIERS", runtime.Tiers, "resource tiers this worker serves")
		r.duration(&c.Pools.IdleTTL, "idle-ttl", "REACTORD_IDLE_TTL", 5*time.Minute, "idle instances beyond warm_concurrency are released after this")
		r.duration(&c.Pools.QueueWait, "queue-wait", "REACTORD_QUEUE_WAIT", 250*time.Millisecond, "how long an invocation waits for a busy tier before 429")
		r.boolean(&c.Pools.Pristine, "pristine", "REACTORD_PRISTINE", "reset instances between invocations of the same version")
		c.Pools.ReactorLogs, c.Pools.ReactorLogLevel = scheduler.ReactorLogsRedacted, slog.LevelInfo
		r.parsed("reactor-logs", "REACTORD_REACTOR_LOGS", "redacted", "reactors' console output in the log: off, redacted (card numbers and SSNs masked) or full",
			func(v string) (err error) { c.Pools.ReactorLogs, err = scheduler.ParseReactorLogs(v); return err })
		r.parsed("reactor-log-level", "REACTORD_REACTOR_LOG_LEVEL", "info", "log level of reactors' console output: debug, info, warn or error",
			func(v string) error { return c.Pools.ReactorLogLevel.UnmarshalText([]byte(v)) })
	}
	r.boolean(&c.EgressAllowPrivate, "egress-allow-private", "REACTORD_EGRESS_ALLOW_PRIVATE",
		"let reactor fetch and proxy destinations reach loopback, private, link-local and metadata addresses (local development only)")
	r.str(&c.BundleStore, "bundle-store", "REACTORD_BUNDLE_STORE", "", "bundle store shared with reactord publish: file:DIR or s3://bucket/prefix; empty is NATS JetStream")
	r.str(&c.S3.Endpoint, "s3-endpoint", "REACTORD_S3_ENDPOINT", "", "S3-compatible endpoint URL of an s3:// bundle store")
	r.str(&c.S3.Region, "s3-region", "REACTORD_S3_REGION", os.Getenv("AWS_REGION"), "S3 region (credentials come from the AWS environment)")
	r.boolean(&c.S3.PathStyle, "s3-path-style", "REACTORD_S3_PATH_STYLE", "path-style S3 addressing")
	r.str(&c.Runtime.CacheDir, "cache-dir", "REACTORD_CACHE_DIR", DefaultCacheDir(), "engine compilation cache")
	r.str(&c.PprofAddr, "pprof-addr", "REACTORD_PPROF_ADDR", "", "serve Go's /debug/pprof profiles at this address (keep it on loopback); empty: off")
	r.duration(&c.DrainTimeout, "drain-timeout", "REACTORD_DRAIN_TIMEOUT", 30*time.Second, "how long shutdown waits for in-flight work")
	c.LogLevel = slog.LevelInfo
	r.parsed("log-level", "REACTORD_LOG_LEVEL", "info", "level of the process's own log: debug, info, warn or error",
		func(v string) error { return c.LogLevel.UnmarshalText([]byte(v)) })
}

// Validate reports every malformed or out-of-range value, naming its flag or
// environment variable.
func (c *Config) Validate() error {
	errs := append([]error(nil), c.envErrs...)
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", name, fmt.Sprintf(format, args...)))
	}
	for _, t := range c.Tiers {
		if _, err := runtime.TierLimits(t); err != nil {
			bad("tiers", "unknown tier %q (one of %s)", t, tierList(runtime.Tiers))
		}
	}
	if c.AsyncConcurrency < -1 {
		bad("async-concurrency", "must be -1 (none) or more, not %d", c.AsyncConcurrency)
	}
	if c.RateLimit < 0 {
		bad("rate-limit", "must be 0 (off) or more, not %v", c.RateLimit)
	}
	if c.RateBurst < 0 {
		bad("rate-burst", "must be 0 or more, not %d", c.RateBurst)
	}
	if c.ProxyMaxResponse < 0 {
		bad("proxy-max-response", "must be 0 (the default) or more, not %d", c.ProxyMaxResponse)
	}
	if c.Build.Concurrency < 0 {
		bad("build-concurrency", "must be 1 or more, not %d", c.Build.Concurrency)
	}
	for name, d := range map[string]time.Duration{"result-ttl": c.ResultTTL, "idle-ttl": c.Pools.IdleTTL,
		"queue-wait": c.Pools.QueueWait, "drain-timeout": c.DrainTimeout, "osv-rescan-interval": c.Build.RescanInterval,
		"block-critical-after": c.BlockCriticalAfter, "proxy-timeout": c.ProxyTimeout} {
		if d < 0 {
			bad(name, "must not be negative, not %s", d)
		}
	}
	n := 0
	for _, v := range []string{c.NATS.Creds, c.NATS.NKeySeed, c.NATS.User} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		bad("nats-creds", "use one of --nats-creds, --nats-nkey and --nats-user")
	}
	if (c.NATS.TLSCert == "") != (c.NATS.TLSKey == "") {
		bad("nats-tls-cert", "--nats-tls-cert and --nats-tls-key go together")
	}
	if c.NATSURL == "" && (n > 0 || c.NATS.TLSCA != "" || c.NATS.TLSCert != "") {
		bad("nats", "NATS credentials and TLS are for an external server (--nats); the embedded one is reached in-process only")
	}
	if c.NATSListen != "" {
		if c.NATSURL != "" {
			bad("nats-listen", "opens the embedded server; it cannot be used with --nats")
		}
		if c.NATSListenUser == "" || len(c.NATSListenPassword) < 16 {
			bad("nats-listen", "needs --nats-listen-user and a REACTORD_NATS_LISTEN_PASSWORD of at least 16 characters: the embedded server never accepts anonymous clients")
		}
		if _, _, err := net.SplitHostPort(c.NATSListen); err != nil {
			bad("nats-listen", "%v", err)
		}
	}
	if c.JetStreamReplicas < 0 || c.JetStreamReplicas > 5 {
		bad("jetstream-replicas", "must be 1 to 5, not %d", c.JetStreamReplicas)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "--tls-cert and --tls-key go together")
	} else if c.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
			bad("tls-cert", "%v", err)
		}
	}
	if s := c.BundleStore; s != "" && !strings.HasPrefix(s, "file:") && !strings.HasPrefix(s, "s3://") {
		bad("bundle-store", "%q is neither file:DIR nor s3://bucket/prefix", s)
	}
	return errors.Join(errs...)
}

// options returns the connection options of the external server's credentials and TLS.
func (a NATSAuth) options() ([]nats.Option, error) {
	var opts []nats.Option
	switch {
	case a.Creds != "":
		opts = append(opts, nats.UserCredentials(a.Creds))
	case a.NKeySeed != "":
		o, err := nats.NkeyOptionFromSeed(a.NKeySeed)
		if err != nil {
			return nil, fmt.Errorf("--nats-nkey: %w", err)
		}
		opts = append(opts, o)
	case a.User != "":
		opts = append(opts, nats.UserInfo(a.User, a.Password))
	}
	if a.TLSCA != "" {
		opts = append(opts, nats.RootCAs(a.TLSCA))
	}
	if a.TLSCert != "" {
		opts = append(opts, nats.ClientCert(a.TLSCert, a.TLSKey))
	}
	return opts, nil
}

// registrar registers flags whose defaults come from the environment, keeping what
// it could not parse for Validate.
type registrar struct {
	fs *flag.FlagSet
	c  *Config
}

func (r registrar) env(name, env string, parse func(string) error) {
	if v, ok := os.LookupEnv(env); ok {
		if err := parse(v); err != nil {
			r.c.envErrs = append(r.c.envErrs, fmt.Errorf("%s (--%s): %q: %w", env, name, v, err))
		}
	}
}

func (r registrar) str(p *string, name, env, def, help string) {
	*p = def
	r.env(name, env, func(v string) error { *p = v; return nil })
	r.fs.StringVar(p, name, *p, help+" ("+env+")")
}

func (r registrar) integer(p *int, name, env string, def int, help string) {
	*p = def
	r.env(name, env, func(v string) (err error) { *p, err = strconv.Atoi(v); return err })
	r.fs.IntVar(p, name, *p, help+" ("+env+")")
}

func (r registrar) float(p *float64, name, env string, def float64, help string) {
	*p = def
	r.env(name, env, func(v string) (err error) { *p, err = strconv.ParseFloat(v, 64); return err })
	r.fs.Float64Var(p, name, *p, help+" ("+env+")")
}

func (r registrar) boolean(p *bool, name, env, help string) {
	r.env(name, env, func(v string) (err error) { *p, err = strconv.ParseBool(v); return err })
	r.fs.BoolVar(p, name, *p, help+" ("+env+")")
}

func (r registrar) duration(p *time.Duration, name, env string, def time.Duration, help string) {
	*p = def
	r.env(name, env, func(v string) (err error) { *p, err = time.ParseDuration(v); return err })
	r.fs.DurationVar(p, name, *p, help+" ("+env+")")
}

// parsed registers a flag whose value parse checks and stores.
func (r registrar) parsed(name, env, def, help string, parse func(string) error) {
	r.env(name, env, parse)
	r.fs.Func(name, help+" (default "+def+"; "+env+")", parse)
}

func (r registrar) tiers(p *[]runtime.Tier, name, env string, def []runtime.Tier, help string) {
	*p = def
	parse := func(v string) error {
		var out []runtime.Tier
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if _, err := runtime.TierLimits(runtime.Tier(t)); err != nil || t == "" {
				return fmt.Errorf("unknown tier %q (one of %s)", t, tierList(runtime.Tiers))
			}
			out = append(out, runtime.Tier(t))
		}
		*p = out
		return nil
	}
	r.env(name, env, parse)
	r.fs.Func(name, help+" (default "+tierList(*p)+"; "+env+")", parse)
}

func tierList(ts []runtime.Tier) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = string(t)
	}
	return strings.Join(names, ",")
}

func defaultDataDir() string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "reactord")
	}
	return "reactord-data"
}

// DefaultCacheDir is the engine's compilation cache in the user's cache directory.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "reactord", "wazero")
}

// GCPercent is the Go GC target the service roles run with unless GOGC is set. The
// process's memory is mostly wasm instances outside the Go heap, while each invocation
// allocates short-lived request and message buffers; collecting at 4x the live heap
// instead of 2x cut the CPU per request by about 7% at 32 clients. Much higher costs
// more than it saves on a machine where fresh pages fault slowly: at 30x, throughput
// at 32 clients fell by a fifth.
const GCPercent = 400
