// Package builder turns a node22 reactor (code, pinned npm dependencies, resolutions)
// into one script the runtime loads: it installs the dependencies with npm (no install
// scripts, resolutions as overrides), scans the resolved tree against OSV, refuses HIGH
// and CRITICAL findings, bundles with esbuild, optionally checks that the bundle loads
// in the runtime, and stores it by sha256.
//
// npm (7 or later) must be on the build machine. Installs are cached by dependency set
// under Config.CacheDir (with npm's own cache), bundles by their inputs, so a repeat
// build runs no npm and no esbuild; the scan runs every time, against the current
// database.
package builder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/runtime"
)

// Version names this builder in manifests; changing how bundles are made changes it,
// which invalidates cached bundles (2: builds confined to their directory, so no
// bundle made before that is reused).
const Version = "reactord-builder/2 esbuild/0.28.2"

// Input is what a reactor asks to be built from.
type Input struct {
	// Image is the runtime image; "" means node22.
	Image string
	// Code is the reactor's CommonJS (or ES module) source.
	Code []byte
	// Dependencies are npm packages at exact versions or semver ranges (^1.3.2).
	Dependencies map[string]string
	// Resolutions override the versions of packages anywhere in the tree.
	Resolutions map[string]string
	// Limits bound evaluating the bundle once to verify it: the reactor's tier and
	// timeout, so untrusted code cannot use more of the building machine than it may
	// use when it runs. Zero values are the runtime's defaults.
	Limits runtime.Limits
	// Lockfile is the package-lock.json of an earlier build of the same dependencies
	// (Manifest.Lockfile): given, npm installs exactly that tree (npm ci), so that
	// rebuilding a reactor version reproduces it; empty, ranges resolve afresh.
	Lockfile []byte
}

// Config configures a Builder.
type Config struct {
	// CacheDir holds npm's cache, installed dependency sets and build records. Required.
	CacheDir string
	// OSVDB is a local OSV database directory (npm/all.zip in osv-scanner's offline
	// layout); it wins over OSVAPI.
	OSVDB string
	// OSVAPI is an OSV API base URL (https://api.osv.dev) used when OSVDB is empty.
	OSVAPI string
	// OSVRequired fails a build whose scan cannot run (CodeScanUnavailable) instead
	// of passing it unscanned.
	OSVRequired bool
	// Store receives bundles; nil means a filesystem store under CacheDir/bundles.
	Store bundles.Store
	// Engine, when set, loads every bundle once before it is accepted, so code that
	// cannot run (a required Node module the runtime lacks, no exported function) fails
	// the build with the reason.
	Engine *runtime.Engine
	// NPM is the npm executable; "" means "npm" on PATH.
	NPM string
	// Registry overrides npm's registry URL.
	Registry string
	// Logger receives progress; nil means slog.Default().
	Logger *slog.Logger
}

// Builder builds bundles. It is safe for concurrent use.
type Builder struct {
	cfg     Config
	log     *slog.Logger
	npm     string
	store   bundles.Store
	scanner *Scanner

	mu    sync.Mutex
	locks map[string]chan struct{}
}

// New returns a Builder; it checks the configuration, not the network.
func New(cfg Config) (*Builder, error) {
	if cfg.CacheDir == "" {
		return nil, errors.New("builder: CacheDir is required")
	}
	abs, err := filepath.Abs(cfg.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("builder: %w", err)
	}
	cfg.CacheDir = abs
	for _, d := range []string{"npm", "deps", "builds"} {
		if err := os.MkdirAll(filepath.Join(abs, d), 0o755); err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
	}
	b := &Builder{cfg: cfg, log: cfg.Logger, npm: cfg.NPM, store: cfg.Store, locks: map[string]chan struct{}{}}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.npm == "" {
		b.npm = "npm"
	}
	if b.store == nil {
		if b.store, err = bundles.NewFS(filepath.Join(abs, "bundles")); err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
	}
	if cfg.OSVDB != "" {
		if _, err := os.Stat(cfg.OSVDB); err != nil {
			return nil, fmt.Errorf("builder: OSV database: %w", err)
		}
	}
	b.scanner = NewScanner(cfg.OSVDB, cfg.OSVAPI, cfg.OSVRequired, b.log)
	return b, nil
}

// Manifest describes a bundle: what it was built from and what the scan found.
type Manifest struct {
	// SHA256 is the bundle's address in the store.
	SHA256 string `json:"sha256"`
	// Image is the runtime image it runs on.
	Image string `json:"image"`
	// Size is the bundle's length in bytes; CodeSize the reactor's own source.
	Size     int `json:"size"`
	CodeSize int `json:"code_size"`
	// Dependencies and Resolutions are the requested ones (versions or ranges).
	Dependencies map[string]string `json:"dependencies"`
	Resolutions  map[string]string `json:"resolutions"`
	// Resolved maps each direct dependency to the version npm installed.
	Resolved map[string]string `json:"resolved"`
	// Packages is the resolved dependency tree, flattened.
	Packages []Package `json:"packages"`
	// NodeModules maps each Node built-in the bundle requires to who requires it.
	NodeModules map[string][]string `json:"node_modules"`
	// Scan is the vulnerability scan of Packages.
	Scan ScanReport `json:"scan"`
	// Lockfile is npm's package-lock.json: the resolved tree with integrity hashes.
	Lockfile json.RawMessage `json:"lockfile,omitempty"`
	// Builder names the builder and bundler versions.
	Builder string `json:"builder"`
}

// ScanReport is the outcome of the vulnerability scan.
type ScanReport struct {
	// Scanned is false when no database was configured (Note says so).
	Scanned bool   `json:"scanned"`
	Source  string `json:"source,omitempty"`
	Note    string `json:"note,omitempty"`
	// Packages is how many package versions were checked.
	Packages int `json:"packages"`
	// Findings lists every advisory found, of any severity.
	Findings []Finding `json:"findings"`
}

// Vulnerability is one entry of error_details.vulnerabilities, as in the seeds.
type Vulnerability struct {
	Name           string   `json:"name"`
	Version        string   `json:"version"`
	Severity       string   `json:"severity"`
	ID             string   `json:"id"`
	DependencyPath []string `json:"dependency_path"`
}

// Finding is a Vulnerability with the advisory's OSV record id and summary.
type Finding struct {
	Vulnerability
	OSVID   string   `json:"osv_id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
}

// Timings report where a build spent its time.
type Timings struct {
	Install, Scan, Bundle, Verify, Total time.Duration
	// InstallCached and BundleCached report reuse of a previous build's work.
	InstallCached, BundleCached bool
}

// Result is a successful build.
type Result struct {
	Bundle   []byte
	Manifest Manifest
	Timings  Timings
}

// buildRecord remembers a finished bundle by its inputs.
type buildRecord struct {
	SHA256      string              `json:"sha256"`
	Packages    []Package           `json:"packages"`
	NodeModules map[string][]string `json:"node_modules"`
}

func hashJSON(v any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys: stable
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// lock serializes work on one key, honouring ctx while waiting.
func (b *Builder) lock(ctx context.Context, key string) (func(), error) {
	b.mu.Lock()
	ch, ok := b.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		b.locks[key] = ch
	}
	b.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Build builds in. Failures a user can act on are *Error; a cancelled ctx returns its
// error (and stops npm).
func (b *Builder) Build(ctx context.Context, in Input) (*Result, error) {
	start := time.Now()
	var t Timings
	image, deps, res, e := checkInput(in)
	if e != nil {
		return nil, e
	}

	// 1. Install (or reuse the install of the same dependency set).
	step := time.Now()
	dir, lock, cached, err := b.dependencies(ctx, deps, res, in.Lockfile)
	if err != nil {
		return nil, err
	}
	t.Install, t.InstallCached = time.Since(step), cached
	var pkgs []Package
	if lock != nil {
		if pkgs, err = tree(lock, deps); err != nil {
			return nil, errorf(CodeInstallFailed, "%v", err)
		}
	}

	// 2. Scan, every time: the database changes, the tree does not.
	step = time.Now()
	report, vulns, err := b.scanner.Scan(ctx, pkgs)
	if err != nil {
		return nil, err
	}
	t.Scan = time.Since(step)
	if len(vulns) > 0 {
		return nil, &Error{Code: CodeVulnerabilities, Message: VulnerabilitiesMessage, Details: VulnerabilityDetails{Vulnerabilities: vulns}}
	}

	m := Manifest{Image: image, CodeSize: len(in.Code), Dependencies: deps, Resolutions: res, Resolved: map[string]string{}, Scan: report, Lockfile: lock, Builder: Version}
	for _, p := range pkgs {
		if len(p.DependencyPath) == 1 && p.Location == "node_modules/"+p.Name {
			m.Resolved[p.Name] = p.Version
		}
	}

	// 3 and 4. Bundle and verify (or reuse the bundle of the same inputs).
	code, err := b.bundleOnce(ctx, in, image, dir, lock, pkgs, &m, &t)
	if err != nil {
		return nil, err
	}
	if m.Packages == nil {
		m.Packages = []Package{}
	}
	if m.NodeModules == nil {
		m.NodeModules = map[string][]string{}
	}
	m.SHA256 = bundles.Hash(code)
	m.Size = len(code)
	t.Total = time.Since(start)
	b.log.InfoContext(ctx, "builder: built", "sha256", m.SHA256, "size", m.Size, "packages", len(m.Packages),
		"install", t.Install, "install_cached", t.InstallCached, "scan", t.Scan, "bundle", t.Bundle,
		"bundle_cached", t.BundleCached, "verify", t.Verify, "total", t.Total)
	return &Result{Bundle: code, Manifest: m, Timings: t}, nil
}

// checkInput refuses what cannot be built and returns the image and copies of the
// dependency maps.
func checkInput(in Input) (image string, deps, res map[string]string, e *Error) {
	image = in.Image
	if image == "" {
		image = images.Node22
	}
	if !images.Of(image).Build {
		return "", nil, nil, errorf(CodeUnsupportedImage, "image %q cannot be built; images with dependencies: %s", image, strings.Join(images.Built(), ", "))
	}
	if len(strings.TrimSpace(string(in.Code))) == 0 {
		return "", nil, nil, errorf(CodeBuildFailed, "code is empty")
	}
	deps, res = maps.Clone(in.Dependencies), maps.Clone(in.Resolutions)
	if deps == nil {
		deps = map[string]string{}
	}
	if res == nil {
		res = map[string]string{}
	}
	if e := checkVersions("dependencies", deps); e != nil {
		return "", nil, nil, e
	}
	if e := checkVersions("resolutions", res); e != nil {
		return "", nil, nil, e
	}
	return image, deps, res, nil
}

// bundleOnce returns the bundle of in over the installed tree in dir: the one a
// build of the same inputs recorded, or a new one, bundled, verified, stored and
// recorded. It fills in the manifest's packages and the timings.
func (b *Builder) bundleOnce(ctx context.Context, in Input, image, dir string, lock []byte, pkgs []Package, m *Manifest, t *Timings) ([]byte, error) {
	step := time.Now()
	key := hashJSON([]any{Version, image, string(in.Code), string(lock), b.cfg.Engine != nil})
	recPath := filepath.Join(b.cfg.CacheDir, "builds", key+".json")
	if data, err := os.ReadFile(recPath); err == nil {
		var rec buildRecord
		if json.Unmarshal(data, &rec) == nil {
			if code, err := b.store.Get(ctx, rec.SHA256); err == nil {
				m.Packages, m.NodeModules = rec.Packages, rec.NodeModules
				t.BundleCached = true
				return code, nil
			}
		}
	}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp(filepath.Join(b.cfg.CacheDir, "deps"), "nodeps-"); err != nil {
			return nil, fmt.Errorf("builder: %w", err)
		}
		defer os.RemoveAll(dir)
	}
	out, err := bundle(ctx, dir, in.Code)
	if err != nil {
		return nil, err
	}
	t.Bundle = time.Since(step)
	for i := range pkgs {
		pkgs[i].BundledBytes = out.bytes[pkgs[i].Location]
	}
	m.Packages, m.NodeModules = pkgs, out.required

	// The bundle must load and export a handler.
	if b.cfg.Engine != nil {
		step = time.Now()
		if err := b.verify(ctx, image, out, in.Limits); err != nil {
			return nil, err
		}
		t.Verify = time.Since(step)
	}
	sha, err := b.store.Put(ctx, out.code)
	if err != nil {
		return nil, fmt.Errorf("builder: store bundle: %w", err)
	}
	rec, _ := json.Marshal(buildRecord{SHA256: sha, Packages: m.Packages, NodeModules: m.NodeModules})
	if err := writeAtomic(recPath, rec); err != nil {
		b.log.WarnContext(ctx, "builder: cannot record build", "err", err)
	}
	return out.code, nil
}

// dependencies installs deps with resolutions, or reuses a finished install of the same
// set. It returns the install directory and lockfile (both empty without dependencies).
//
// Installs are cached by what determines the tree: exact pins alone, or the lockfile.
// Given a lockfile, npm ci installs exactly it. Ranges without a lockfile are resolved
// by a fresh npm install each time (an update resolves afresh), and the result is
// filed under its lockfile so that a rebuild passing it back finds it installed.
func (b *Builder) dependencies(ctx context.Context, deps, res map[string]string, lockIn []byte) (string, []byte, bool, error) {
	if len(deps) == 0 {
		return "", nil, true, nil
	}
	exact := pinned(deps, res)
	var key string
	switch {
	case len(lockIn) > 0:
		key = hashJSON([]any{deps, res, b.cfg.Registry, string(lockIn)})[:32]
	case exact:
		key = hashJSON([]any{deps, res, b.cfg.Registry})[:32]
	}
	if key != "" {
		unlock, err := b.lock(ctx, key)
		if err != nil {
			return "", nil, false, err
		}
		defer unlock()
		if lock, err := installed(filepath.Join(b.cfg.CacheDir, "deps", key)); err == nil {
			return filepath.Join(b.cfg.CacheDir, "deps", key), lock, true, nil
		}
	}
	if _, err := exec.LookPath(b.npm); err != nil {
		return "", nil, false, errorf(CodeInstallFailed, "npm is required on the build machine to install dependencies: %v", err)
	}
	// Install into a fresh directory and rename it into place, so that an interrupted
	// install (or another process) never leaves a half-populated tree that looks done.
	tmp, err := os.MkdirTemp(filepath.Join(b.cfg.CacheDir, "deps"), "install.tmp-")
	if err != nil {
		return "", nil, false, fmt.Errorf("builder: %w", err)
	}
	defer os.RemoveAll(tmp)
	pj, err := packageJSON(maps.Clone(deps), res)
	if err != nil {
		return "", nil, false, fmt.Errorf("builder: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), pj, 0o644); err != nil {
		return "", nil, false, fmt.Errorf("builder: %w", err)
	}
	if len(lockIn) > 0 {
		if err := os.WriteFile(filepath.Join(tmp, "package-lock.json"), lockIn, 0o644); err != nil {
			return "", nil, false, fmt.Errorf("builder: %w", err)
		}
	}
	b.log.InfoContext(ctx, "builder: npm install", "dependencies", deps, "resolutions", res, "lockfile", len(lockIn) > 0)
	lock, err := b.install(ctx, tmp, len(lockIn) > 0, key == "")
	if err != nil {
		return "", nil, false, err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", nil, false, fmt.Errorf("builder: %w", err)
	}
	if key == "" {
		// resolved now: file it under the lockfile it produced
		key = hashJSON([]any{deps, res, b.cfg.Registry, string(lock)})[:32]
		unlock, err := b.lock(ctx, key)
		if err != nil {
			return "", nil, false, err
		}
		defer unlock()
	}
	dir := filepath.Join(b.cfg.CacheDir, "deps", key)
	if lock2, err := installed(dir); err == nil {
		return dir, lock2, false, nil // the same tree is installed already
	}
	os.RemoveAll(dir) // a stale, unfinished install
	if err := os.Rename(tmp, dir); err != nil {
		if lock2, err2 := installed(dir); err2 == nil {
			return dir, lock2, true, nil // another process finished first
		}
		return "", nil, false, fmt.Errorf("builder: %w", err)
	}
	return dir, lock, false, nil
}

// verify loads the bundle in the runtime as a worker will.
func (b *Builder) verify(ctx context.Context, image string, out *bundled, limits runtime.Limits) error {
	snap, err := b.cfg.Engine.Load(ctx, runtime.Bundle{Image: image, Code: out.code, Limits: limits})
	if err == nil {
		snap.Close()
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ce *runtime.CodeError
	if !errors.As(err, &ce) {
		return fmt.Errorf("builder: load bundle: %w", err)
	}
	msg := "the bundle does not load in the " + image + " runtime: " + ce.Message
	if u := out.unavailable(); len(u) > 0 {
		msg += "; the runtime has no " + strings.Join(u, ", ") + " (reactors reach the network through fetch only)"
	}
	return &Error{Code: CodeBuildFailed, Message: msg}
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
