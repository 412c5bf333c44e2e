package builder_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/osvtest"
	"github.com/reactord/reactord/runtime"
)

var (
	engine   *runtime.Engine
	cacheDir string // shared by the tests' builders: one npm cache per test run
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	dir, _ := os.UserCacheDir()
	var err error
	engine, err = runtime.NewEngine(ctx, runtime.Config{
		CacheDir: dir + "/reactord-test/wazero",
		Async:    map[string]runtime.AsyncHandler{"fetch": egress.New(egress.Policy{AllowPrivate: true}, egress.Options{}).Handle},
	})
	if err != nil {
		panic(err)
	}
	if cacheDir, err = os.MkdirTemp("", "reactord-builder-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	engine.Close(ctx)
	os.RemoveAll(cacheDir)
	os.Exit(code)
}

func newBuilder(t *testing.T, cfg builder.Config) *builder.Builder {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = cacheDir
	}
	b, err := builder.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run loads a bundle in the runtime and invokes it once with args.
func run(t *testing.T, bundle []byte, args string) runtime.Response {
	t.Helper()
	ctx := context.Background()
	snap, err := engine.Load(ctx, runtime.Bundle{Image: "node22", Code: bundle})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	defer snap.Close()
	limits, _ := runtime.TierLimits(runtime.Standard)
	in, err := snap.NewInstance(ctx, limits)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	resp, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(args)})
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return resp
}

func TestRealPackagesRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "method": r.Method})
	}))
	defer srv.Close()
	b := newBuilder(t, builder.Config{Engine: engine})
	tests := []struct {
		name string
		deps map[string]string
		code string
		want string // substring of the response body
	}{
		{"maskdata", map[string]string{"maskdata": "1.3.4"},
			`const M = require('maskdata'); module.exports = async (e) => ({ raw: { card: M.maskCard(e.req.card, { maskWith: '*', unmaskedStartDigits: 0, unmaskedEndDigits: 4 }) } });`,
			`"card":"************4242"`},
		{"lodash", map[string]string{"lodash": "4.17.21"},
			`const _ = require('lodash'); module.exports = async (e) => ({ raw: { chunks: _.chunk([1,2,3,4,5], 2), tpl: _.template('hi <%= n %>')({ n: 'x' }) } });`,
			`"chunks":[[1,2],[3,4],[5]],"tpl":"hi x"`},
		{"uuid", map[string]string{"uuid": "11.1.0"},
			`const { v4, validate, version } = require('uuid'); module.exports = async () => { const id = v4(); return { raw: { ok: validate(id) && version(id) === 4 } }; };`,
			`"ok":true`},
		{"dayjs", map[string]string{"dayjs": "1.11.13"},
			`const dayjs = require('dayjs'); module.exports = async () => ({ raw: { d: dayjs('2024-03-05T10:20:30Z').add(1, 'day').format('YYYY-MM-DD') } });`,
			`"d":"2024-03-06"`},
		{"jose", map[string]string{"jose": "6.1.0"},
			`const jose = require('jose');
module.exports = async () => {
  const key = new TextEncoder().encode('a-string-secret-at-least-256-bits-long');
  const jwt = await new jose.SignJWT({ sub: 'card' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(1700000000).sign(key);
  const { payload } = await jose.jwtVerify(jwt, key);
  return { raw: { parts: jwt.split('.').length, sub: payload.sub } };
};`,
			`"parts":3,"sub":"card"`},
		{"axios", map[string]string{"axios": "1.12.2"},
			`const axios = require('axios');
module.exports = async (e) => { const r = await axios.post(e.req.url + '/axios', { a: 1 }, { adapter: 'fetch' }); return { raw: { status: r.status, data: r.data } }; };`,
			`"data":{"method":"POST","path":"/axios"}`},
		{"node-fetch", map[string]string{"node-fetch": "2.7.0"},
			`const fetch = require('node-fetch'); module.exports = async (e) => { const r = await fetch(e.req.url + '/nf'); return { raw: await r.json() }; };`,
			`"path":"/nf"`},
		{"stripe", map[string]string{"stripe": "18.4.0"},
			`const Stripe = require('stripe'); module.exports = async () => { const s = new Stripe('sk_test_123'); return { raw: { customers: typeof s.customers.create, version: typeof Stripe.PACKAGE_VERSION } }; };`,
			`"customers":"function"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			res, err := b.Build(ctx, builder.Input{Image: "node22", Code: []byte(tc.code), Dependencies: tc.deps})
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			t.Logf("%s: %d bytes, %d packages, cold build %v (install %v, bundle %v, verify %v)", tc.name, res.Manifest.Size,
				len(res.Manifest.Packages), res.Timings.Total, res.Timings.Install, res.Timings.Bundle, res.Timings.Verify)
			resp := run(t, res.Bundle, `{"card":"4242424242424242","url":"`+srv.URL+`"}`)
			if resp.Status != 200 || !strings.Contains(string(resp.Body), tc.want) {
				t.Fatalf("status %d body %s logs %v, want %s", resp.Status, resp.Body, resp.Logs, tc.want)
			}
			again, err := b.Build(ctx, builder.Input{Image: "node22", Code: []byte(tc.code), Dependencies: tc.deps})
			if err != nil {
				t.Fatal(err)
			}
			if !again.Timings.InstallCached || !again.Timings.BundleCached || again.Manifest.SHA256 != res.Manifest.SHA256 {
				t.Errorf("repeat build reused nothing: %+v", again.Timings)
			}
			t.Logf("%s: cached build %v", tc.name, again.Timings.Total)
		})
	}
}

func TestBuildFailures(t *testing.T) {
	b := newBuilder(t, builder.Config{Engine: engine})
	ok := `module.exports = async () => ({ raw: 1 })`
	tests := []struct {
		name     string
		in       builder.Input
		code     string
		contains string
	}{
		{"missing version", builder.Input{Code: []byte(ok), Dependencies: map[string]string{"maskdata": "1.3.2"}},
			builder.CodeDependencyNotFound, "maskdata@1.3.2"},
		{"missing package", builder.Input{Code: []byte(ok), Dependencies: map[string]string{"reactord-no-such-package-zz": "1.0.0"}},
			builder.CodeDependencyNotFound, "reactord-no-such-package-zz"},
		{"tag", builder.Input{Code: []byte(ok), Dependencies: map[string]string{"lodash": "latest"}},
			builder.CodeInvalidDependencies, "not a version or semver range"},
		{"file reference", builder.Input{Code: []byte(ok), Dependencies: map[string]string{"lodash": "file:/etc"}},
			builder.CodeInvalidDependencies, "not a version or semver range"},
		{"url", builder.Input{Code: []byte(ok), Dependencies: map[string]string{"lodash": "https://example.com/lodash.tgz"}},
			builder.CodeInvalidDependencies, "not a version or semver range"},
		{"no range satisfied", builder.Input{Code: []byte(ok), Dependencies: map[string]string{"maskdata": "^99.0.0"}},
			builder.CodeDependencyNotFound, "maskdata"},
		{"bad name", builder.Input{Code: []byte(ok), Dependencies: map[string]string{"../x": "1.0.0"}},
			builder.CodeInvalidDependencies, "not a valid npm package name"},
		{"bad resolution", builder.Input{Code: []byte(ok), Resolutions: map[string]string{"minimist": "latest"}},
			builder.CodeInvalidDependencies, "resolutions"},
		{"image", builder.Input{Image: "node-bt", Code: []byte(ok)}, builder.CodeUnsupportedImage, "node22"},
		{"syntax", builder.Input{Code: []byte(`module.exports = async () => {`)}, builder.CodeBuildFailed, "bundling failed"},
		{"unresolvable import", builder.Input{Code: []byte(`require('left-pad'); module.exports = async () => 1`)}, builder.CodeBuildFailed, "left-pad"},
		{"no handler", builder.Input{Code: []byte(`module.exports = 42`)}, builder.CodeBuildFailed, "must export a function"},
		{"node-only package", builder.Input{Code: []byte(`const fetch = require('node-fetch'); module.exports = async () => ({ raw: typeof fetch })`),
			Dependencies: map[string]string{"node-fetch": "3.3.2"}}, builder.CodeBuildFailed, "fs (required by fetch-blob)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Build(context.Background(), tc.in)
			var be *builder.Error
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want *builder.Error", err)
			}
			if be.Code != tc.code || !strings.Contains(be.Message, tc.contains) {
				t.Fatalf("got %s %q, want %s containing %q", be.Code, be.Message, tc.code, tc.contains)
			}
			t.Logf("%s: %s", be.Code, be.Message)
		})
	}
}

func TestVulnerabilityScan(t *testing.T) {
	db, err := osvtest.WriteDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t, builder.Config{OSVDB: db})
	code := []byte(`module.exports = async () => ({ raw: 1 })`)
	tests := []struct {
		name       string
		deps, res  map[string]string
		fail       []builder.Vulnerability // the error's vulnerabilities; nil: the build passes
		reportedID string                  // a finding the passing build's report lists
	}{
		{name: "clean", deps: map[string]string{"lodash": "4.17.21"}},
		{name: "direct", deps: map[string]string{"lodash": "4.17.20"},
			fail: []builder.Vulnerability{{Name: "lodash", Version: "4.17.20", Severity: "HIGH", ID: "CVE-2021-23337", DependencyPath: []string{"lodash"}}}},
		{name: "transitive", deps: map[string]string{"mkdirp": "0.5.1"},
			fail: []builder.Vulnerability{{Name: "minimist", Version: "0.0.8", Severity: "CRITICAL", ID: "CVE-2021-44906", DependencyPath: []string{"mkdirp", "minimist"}}}},
		{name: "removed by a resolution", deps: map[string]string{"mkdirp": "0.5.1"}, res: map[string]string{"minimist": "1.2.8"}},
		{name: "axios with follow-redirects forced back", deps: map[string]string{"axios": "0.21.1"}, res: map[string]string{"follow-redirects": "1.14.7"},
			fail: []builder.Vulnerability{{Name: "axios", Version: "0.21.1", Severity: "HIGH", ID: "CVE-2021-3749", DependencyPath: []string{"axios"}}}},
		{name: "moderate is reported, not fatal", deps: map[string]string{"axios": "0.21.2"}, res: map[string]string{"follow-redirects": "1.14.7"},
			reportedID: "CVE-2022-0536"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := b.Build(context.Background(), builder.Input{Code: code, Dependencies: tc.deps, Resolutions: tc.res})
			if tc.fail != nil {
				var be *builder.Error
				if !errors.As(err, &be) || be.Code != builder.CodeVulnerabilities {
					t.Fatalf("err = %v, want %s", err, builder.CodeVulnerabilities)
				}
				got := be.Details.(builder.VulnerabilityDetails).Vulnerabilities
				if !reflect.DeepEqual(got, tc.fail) {
					t.Fatalf("vulnerabilities\n got %+v\nwant %+v", got, tc.fail)
				}
				js, _ := json.Marshal(be)
				t.Logf("%s", js)
				return
			}
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			sc := res.Manifest.Scan
			if !sc.Scanned || sc.Packages == 0 {
				t.Errorf("scan report %+v", sc)
			}
			found := false
			for _, f := range sc.Findings {
				if f.Severity == "HIGH" || f.Severity == "CRITICAL" {
					t.Errorf("passing build has finding %+v", f)
				}
				found = found || f.ID == tc.reportedID
			}
			if tc.reportedID != "" && !found {
				t.Errorf("report lacks %s: %+v", tc.reportedID, sc.Findings)
			}
			if tc.reportedID == "" && len(sc.Findings) > 0 {
				t.Errorf("clean tree has findings %+v", sc.Findings)
			}
		})
	}
}

func TestNotScannedSaysSo(t *testing.T) {
	b := newBuilder(t, builder.Config{})
	res, err := b.Build(context.Background(), builder.Input{Code: []byte(`module.exports = async () => 1`), Dependencies: map[string]string{"lodash": "4.17.20"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Scan.Scanned || !strings.Contains(res.Manifest.Scan.Note, "not scanned") {
		t.Errorf("scan report %+v", res.Manifest.Scan)
	}
	if len(res.Manifest.Lockfile) == 0 || len(res.Manifest.Packages) != 1 || res.Manifest.Packages[0].Integrity == "" {
		t.Errorf("manifest tree: %+v", res.Manifest.Packages)
	}
}

// TestScanUnavailable: a scan that cannot run (no source, a missing database, an API
// that does not answer) fails the build when a scan is required and otherwise passes
// it with a note saying why it was not scanned.
func TestScanUnavailable(t *testing.T) {
	dir := t.TempDir()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden) // not retried by the client
	}))
	defer down.Close()
	tests := []struct {
		name     string
		cfg      builder.Config
		contains string
	}{
		{"no source", builder.Config{}, "no OSV database or API"},
		{"missing database", builder.Config{OSVDB: dir}, filepath.Join(dir, "osv-scanner", "npm", "all.zip")},
		{"API refuses", builder.Config{OSVAPI: down.URL}, down.URL},
	}
	for _, tc := range tests {
		for _, required := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s required=%v", tc.name, required), func(t *testing.T) {
				cfg := tc.cfg
				cfg.OSVRequired = required
				b := newBuilder(t, cfg)
				res, err := b.Build(context.Background(), builder.Input{Code: []byte(`module.exports = async () => 1`), Dependencies: map[string]string{"lodash": "4.17.21"}})
				if required {
					var be *builder.Error
					if !errors.As(err, &be) || be.Code != builder.CodeScanUnavailable || !strings.Contains(be.Message, tc.contains) {
						t.Fatalf("err = %v, want %s naming %s", err, builder.CodeScanUnavailable, tc.contains)
					}
					return
				}
				if err != nil {
					t.Fatalf("build: %v", err)
				}
				if sc := res.Manifest.Scan; sc.Scanned || !strings.Contains(sc.Note, "not scanned") {
					t.Errorf("scan report %+v", sc)
				}
			})
		}
	}
}

func TestCancel(t *testing.T) {
	b := newBuilder(t, builder.Config{CacheDir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Build(ctx, builder.Input{Code: []byte(`module.exports = async () => 1`), Dependencies: map[string]string{"dayjs": "1.11.12"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// TestOSVAPI scans through the OSV API client against a server answering the API's
// querybatch and vulns endpoints from the same real advisories (matching by name only:
// range evaluation is the offline path's, tested above).
func TestOSVAPI(t *testing.T) {
	var queried []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/querybatch":
			var req struct {
				Queries []struct {
					Package struct{ Name, Ecosystem string } `json:"package"`
					Version string                           `json:"version"`
				} `json:"queries"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			var results []map[string]any
			for _, q := range req.Queries {
				queried = append(queried, q.Package.Ecosystem+":"+q.Package.Name+"@"+q.Version)
				var vulns []map[string]string
				for id, rec := range osvtest.Advisories {
					if strings.Contains(rec, `"name": "`+q.Package.Name+`"`) {
						vulns = append(vulns, map[string]string{"id": id, "modified": "2024-01-01T00:00:00Z"})
					}
				}
				results = append(results, map[string]any{"vulns": vulns})
			}
			json.NewEncoder(w).Encode(map[string]any{"results": results})
		case strings.HasPrefix(r.URL.Path, "/v1/vulns/"):
			rec, ok := osvtest.Advisories[strings.TrimPrefix(r.URL.Path, "/v1/vulns/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(rec))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	b := newBuilder(t, builder.Config{OSVAPI: srv.URL})
	_, err := b.Build(context.Background(), builder.Input{Code: []byte(`module.exports = async () => 1`), Dependencies: map[string]string{"lodash": "4.17.20"}})
	var be *builder.Error
	if !errors.As(err, &be) || be.Code != builder.CodeVulnerabilities {
		t.Fatalf("err = %v (queried %v)", err, queried)
	}
	want := []builder.Vulnerability{{Name: "lodash", Version: "4.17.20", Severity: "HIGH", ID: "CVE-2021-23337", DependencyPath: []string{"lodash"}}}
	if got := be.Details.(builder.VulnerabilityDetails).Vulnerabilities; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	if len(queried) != 1 || queried[0] != "npm:lodash@4.17.20" {
		t.Errorf("queries %v", queried)
	}
}
