package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/vulns"
)

// exitVulnerable is the exit status of a build refused for HIGH or CRITICAL findings.
const exitVulnerable = 3

// reactorFile is reactor.json: what `reactord build DIR` builds.
type reactorFile struct {
	Image        string            `json:"image"`
	Code         string            `json:"code"`
	Dependencies map[string]string `json:"dependencies"`
	Resolutions  map[string]string `json:"resolutions"`
}

// pins is a repeatable name@version flag.
type pins map[string]string

func (p pins) String() string { return "" }

func (p pins) Set(s string) error {
	i := strings.LastIndex(s, "@")
	if i <= 0 || i == len(s)-1 {
		return fmt.Errorf("%q is not name@version", s)
	}
	p[s[:i]] = s[i+1:]
	return nil
}

// buildCommand is `reactord build` and `reactord publish`: build a node22 reactor and
// print its manifest, or upload it to a bundle store and print its sha256.
func buildCommand(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	image := fs.String("image", "", "runtime image (default node22, or reactor.json's)")
	deps, res := pins{}, pins{}
	fs.Var(deps, "dependency", "an npm dependency as name@version (repeatable)")
	fs.Var(res, "resolution", "a version override anywhere in the tree as name@version (repeatable)")
	osvDB := fs.String("osv-db", os.Getenv("REACTORD_OSV_DB"), "local OSV database directory, osv-scanner's offline layout (REACTORD_OSV_DB)")
	osvAPI := fs.String("osv-api", envOr("REACTORD_OSV_API", vulns.DefaultAPI), "OSV API URL used without --osv-db; empty scans nothing (REACTORD_OSV_API)")
	osvRequired := fs.Bool("osv-required", os.Getenv("REACTORD_OSV_REQUIRED") == "true", "fail the build when its vulnerability scan cannot run (vulnerability_scan_unavailable) instead of building unscanned (REACTORD_OSV_REQUIRED)")
	buildCache := fs.String("build-cache", envOr("REACTORD_BUILD_CACHE", defaultBuildCache()), "npm cache, installs and build records (REACTORD_BUILD_CACHE)")
	cacheDir := fs.String("cache-dir", envOr("REACTORD_CACHE_DIR", defaultCacheDir()), "engine compilation cache (REACTORD_CACHE_DIR)")
	registry := fs.String("registry", os.Getenv("REACTORD_NPM_REGISTRY"), "npm registry URL (REACTORD_NPM_REGISTRY)")
	verify := fs.Bool("verify", true, "load the bundle in the runtime before accepting it")
	var store, s3Endpoint, s3Region *string
	var s3PathStyle *bool
	if name == "publish" {
		store = fs.String("store", os.Getenv("REACTORD_BUNDLE_STORE"), "bundle store: file:DIR or s3://bucket/prefix (REACTORD_BUNDLE_STORE)")
		s3Endpoint = fs.String("s3-endpoint", os.Getenv("REACTORD_S3_ENDPOINT"), "S3-compatible endpoint URL (REACTORD_S3_ENDPOINT)")
		s3Region = fs.String("s3-region", envOr("REACTORD_S3_REGION", os.Getenv("AWS_REGION")), "S3 region (REACTORD_S3_REGION, AWS_REGION)")
		s3PathStyle = fs.Bool("s3-path-style", os.Getenv("REACTORD_S3_PATH_STYLE") == "true", "path-style S3 addressing (REACTORD_S3_PATH_STYLE)")
	}
	fs.Usage = func() {
		what := "prints the bundle manifest as JSON"
		if name == "publish" {
			what = "uploads the bundle to --store and prints its sha256"
		}
		fmt.Fprintf(stderr, "Usage: reactord %s DIR|FILE [flags]\n\nBuilds a node22 reactor (DIR/reactor.json, a reactor.json file, or a code file with flags) and %s.\n"+
			"Exit status: 0 ok, 1 build failure, 2 usage, 3 HIGH or CRITICAL vulnerabilities (the failure is printed as JSON).\nCredentials for S3 come from the AWS environment.\n\nFlags:\n", name, what)
		fs.PrintDefaults()
	}
	target, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitUsage
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "reactord %s: "+format+"\n", append([]any{name}, a...)...)
		return exitUsage
	}
	if target == "" {
		fs.Usage()
		return exitUsage
	}
	in, err := readInput(target)
	if err != nil {
		return usageErr("%v", err)
	}
	if *image != "" {
		in.Image = *image
	}
	for n, v := range deps {
		in.Dependencies[n] = v
	}
	for n, v := range res {
		in.Resolutions[n] = v
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg := builder.Config{CacheDir: *buildCache, OSVDB: *osvDB, OSVAPI: *osvAPI, OSVRequired: *osvRequired, Registry: *registry, Logger: log}
	if name == "publish" {
		if *store == "" {
			return usageErr("--store is required (file:DIR or s3://bucket/prefix)")
		}
		st, err := bundles.Open(ctx, *store, bundles.S3Config{Endpoint: *s3Endpoint, Region: *s3Region, PathStyle: *s3PathStyle})
		if err != nil {
			return usageErr("%v", err)
		}
		cfg.Store = st
	}
	if *verify {
		eng, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: *cacheDir, Logger: log})
		if err != nil {
			fmt.Fprintf(stderr, "reactord %s: %v\n", name, err)
			return 1
		}
		defer eng.Close(context.WithoutCancel(ctx))
		cfg.Engine = eng
	}
	b, err := builder.New(cfg)
	if err != nil {
		return usageErr("%v", err)
	}
	result, err := b.Build(ctx, in)
	if err != nil {
		be := builder.AsError(err)
		out, _ := json.Marshal(be)
		fmt.Fprintln(stdout, string(out))
		if be.Code == builder.CodeVulnerabilities {
			return exitVulnerable
		}
		return 1
	}
	if name == "publish" {
		fmt.Fprintln(stdout, result.Manifest.SHA256)
		return 0
	}
	out, err := json.Marshal(result.Manifest)
	if err != nil {
		fmt.Fprintf(stderr, "reactord %s: %v\n", name, err)
		return 1
	}
	fmt.Fprintln(stdout, string(out))
	return 0
}

// readInput reads DIR/reactor.json, a reactor.json file, or a code file.
func readInput(target string) (builder.Input, error) {
	in := builder.Input{Dependencies: map[string]string{}, Resolutions: map[string]string{}}
	st, err := os.Stat(target)
	if err != nil {
		return in, err
	}
	manifest := ""
	switch {
	case st.IsDir():
		manifest = filepath.Join(target, "reactor.json")
	case strings.HasSuffix(target, ".json"):
		manifest = target
	}
	if manifest == "" {
		in.Code, err = os.ReadFile(target)
		return in, err
	}
	data, err := os.ReadFile(manifest)
	if err != nil {
		return in, err
	}
	var rf reactorFile
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rf); err != nil {
		return in, fmt.Errorf("%s: %w", manifest, err)
	}
	if rf.Code == "" {
		rf.Code = "index.js"
	}
	codePath := rf.Code
	if !filepath.IsAbs(codePath) {
		codePath = filepath.Join(filepath.Dir(manifest), codePath)
	}
	if in.Code, err = os.ReadFile(codePath); err != nil {
		return in, fmt.Errorf("%s: code: %w", manifest, err)
	}
	in.Image = rf.Image
	for n, v := range rf.Dependencies {
		in.Dependencies[n] = v
	}
	for n, v := range rf.Resolutions {
		in.Resolutions[n] = v
	}
	return in, nil
}

func defaultBuildCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "reactord-build")
	}
	return filepath.Join(dir, "reactord", "build")
}
