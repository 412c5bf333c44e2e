package api_test

import (
	"context"
	"github.com/reactord/reactord/runtime"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/internal/osvtest"
	"github.com/reactord/reactord/internal/service"
)

// waitState polls a reactor until it leaves the transient state from.
func (e env) waitState(t *testing.T, id, from string) map[string]any {
	t.Helper()
	return e.waitResource(t, "/reactors/"+id, from)
}

// waitResource polls a reactor or proxy until its state is no longer from.
func (e env) waitResource(t *testing.T, path, from string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, rec := e.do(t, "GET", path, key, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("get: %d %v", resp.StatusCode, rec)
		}
		if rec["state"] != from {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %s: %v", from, rec)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestNode22Lifecycle builds node22 reactors with real npm packages and a small OSV
// database: creating -> active, an update refused for a vulnerable dependency
// (updating -> outdated, the last good version keeps serving), a missing version
// (creating -> failed), and 409s while a build is pending.
func TestNode22Lifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	cache, _ := os.UserCacheDir()
	db, err := osvtest.WriteDB(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, func(o *service.Config) {
		o.Build = service.BuildConfig{CacheDir: filepath.Join(cache, "reactord-test", "build"), OSVDB: db}
	})
	code := `const _ = require('lodash');
module.exports = async (event) => ({ raw: { chunks: _.chunk(event.req.list, 2), version: _.VERSION } });`
	resp, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "lodash", "code": code,
		"runtime": map[string]any{"image": "node22", "dependencies": map[string]string{"lodash": "4.17.21"}}})
	if resp.StatusCode != 201 || rec["state"] != "creating" {
		t.Fatalf("create: %d %v", resp.StatusCode, rec)
	}
	id := rec["id"].(string)
	if req, _ := rec["requested"].(map[string]any); req == nil || req["reactor"] == nil {
		t.Errorf("creating without requested.reactor: %v", rec)
	}
	if resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": map[string]any{"list": []int{1}}}); resp.StatusCode != 409 {
		t.Errorf("react while creating: %d %v", resp.StatusCode, out)
	}
	if resp, _ := e.do(t, "PUT", "/reactors/"+id, key, map[string]any{"name": "x", "code": code}); resp.StatusCode != 409 {
		t.Errorf("update while creating: %d", resp.StatusCode)
	}
	if rec = e.waitState(t, id, "creating"); rec["state"] != "active" || rec["requested"] != nil {
		t.Fatalf("after the build: %v", rec)
	}
	react := func() (int, map[string]any) {
		resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": map[string]any{"list": []int{1, 2, 3}}})
		return resp.StatusCode, out
	}
	if status, out := react(); status != 200 || out["raw"].(map[string]any)["version"] != "4.17.21" {
		t.Fatalf("react: %d %v", status, out)
	}

	// An update to a vulnerable version fails its scan; 4.17.21 keeps serving.
	resp, rec = e.do(t, "PUT", "/reactors/"+id, key, map[string]any{"name": "lodash", "code": code,
		"runtime": map[string]any{"image": "node22", "dependencies": map[string]string{"lodash": "4.17.20"}}})
	if resp.StatusCode != 200 || rec["state"] != "updating" {
		t.Fatalf("update: %d %v", resp.StatusCode, rec)
	}
	if status, out := react(); status != 200 || out["raw"].(map[string]any)["version"] != "4.17.21" {
		t.Errorf("react while updating: %d %v", status, out)
	}
	rec = e.waitState(t, id, "updating")
	req, _ := rec["requested"].(map[string]any)
	if rec["state"] != "outdated" || req["error_code"] != "vulnerabilities_detected" {
		t.Fatalf("after the failed update: %v", rec)
	}
	vulns := req["error_details"].(map[string]any)["vulnerabilities"].([]any)
	v := vulns[0].(map[string]any)
	if v["name"] != "lodash" || v["version"] != "4.17.20" || v["severity"] != "HIGH" || v["id"] != "CVE-2021-23337" ||
		strings.Join(toStrings(v["dependency_path"]), ">") != "lodash" {
		t.Errorf("vulnerability = %v", v)
	}
	if status, out := react(); status != 200 || out["raw"].(map[string]any)["version"] != "4.17.21" {
		t.Errorf("react while outdated: %d %v", status, out)
	}

	// A version that does not exist: creating -> failed, not invocable.
	resp, rec = e.do(t, "POST", "/reactors", key, map[string]any{"name": "missing", "code": "module.exports = async () => ({ raw: require('maskdata') })",
		"runtime": map[string]any{"image": "node22", "dependencies": map[string]string{"maskdata": "1.3.2"}}})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, rec)
	}
	failed := e.waitState(t, rec["id"].(string), "creating")
	if req, _ := failed["requested"].(map[string]any); failed["state"] != "failed" || req["error_code"] != "dependency_not_found" ||
		!strings.Contains(req["error_message"].(string), "1.3.2") {
		t.Errorf("failed build: %v", failed)
	}
	if resp, _ := e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", e.useKey, map[string]any{"args": nil}); resp.StatusCode != 409 {
		t.Errorf("react a failed reactor: %d", resp.StatusCode)
	}
	for _, tc := range []struct {
		name  string
		deps  map[string]string
		field string
	}{
		{"tag", map[string]string{"lodash": "latest"}, "runtime.dependencies"},
		{"file reference", map[string]string{"lodash": "file:../../etc"}, "runtime.dependencies"},
		{"git reference", map[string]string{"lodash": "git+https://example.com/lodash.git"}, "runtime.dependencies"},
		{"empty", map[string]string{"lodash": ""}, "runtime.dependencies"},
		{"bad name", map[string]string{"Lodash!": "4.17.21"}, "runtime.dependencies"},
	} {
		resp, out := e.do(t, "POST", "/reactors", key, map[string]any{"name": tc.name, "code": code, "runtime": map[string]any{"image": "node22", "dependencies": tc.deps}})
		if errs, _ := out["errors"].(map[string]any); resp.StatusCode != 400 || errs[tc.field] == nil {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, out)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestPublishedBundle: a node22 reactor naming a bundle published to the shared store
// runs it without a build; an unknown bundle fails.
func TestPublishedBundle(t *testing.T) {
	dir := t.TempDir()
	fs, err := bundles.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := fs.Put(context.Background(), []byte(`module.exports = async (event) => ({ raw: 'published ' + event.req.n })`))
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, func(o *service.Config) { o.BundleStore = "file:" + dir; o.Build.Disabled = true })
	for _, tc := range []struct {
		name, sha, state, want string
	}{
		{"published", sha, "active", ""},
		{"unknown", strings.Repeat("0", 64), "failed", "bundle_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": tc.name, "code": "// built in CI",
				"runtime": map[string]any{"image": "node22", "bundle": tc.sha}})
			if resp.StatusCode != 201 {
				t.Fatalf("create: %d %v", resp.StatusCode, rec)
			}
			rec = e.waitState(t, rec["id"].(string), "creating")
			if rec["state"] != tc.state {
				t.Fatalf("state: %v", rec)
			}
			if tc.want != "" {
				if req, _ := rec["requested"].(map[string]any); req["error_code"] != tc.want {
					t.Errorf("requested: %v", rec["requested"])
				}
				return
			}
			resp, out := e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", e.useKey, map[string]any{"args": map[string]int{"n": 7}})
			if resp.StatusCode != 200 || out["raw"] != "published 7" {
				t.Errorf("react: %d %v", resp.StatusCode, out)
			}
		})
	}
}

// TestNode22BuildResumesAfterRestart: a gateway stopped while builds wait on the
// registry leaves a reactor and a proxy creating; the next start resumes both builds.
func TestNode22BuildResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	stalled := make(chan struct{})
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // a registry that never answers while the first gateway runs
		case <-stalled:
		case <-r.Context().Done():
		}
		http.Error(w, "gone", http.StatusServiceUnavailable)
	}))
	defer registry.Close()
	defer close(stalled)
	dir, cache := t.TempDir(), t.TempDir()
	cacheRoot, _ := os.UserCacheDir()
	opts := service.Config{DataDir: dir, Gateway: true, ManagementKey: key, Tiers: []runtime.Tier{runtime.Standard},
		Runtime: runtime.Config{CacheDir: cacheRoot + "/reactord-test/wazero"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Build: service.BuildConfig{CacheDir: cache, Registry: registry.URL}}
	run := func(o service.Config) (env, func()) {
		svc, err := service.Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(svc.Handler)
		return env{url: hs.URL, client: hs.Client()}, func() { hs.Close(); svc.Stop(context.Background()) }
	}
	e, stop := run(opts)
	resp, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "resumed", "code": "const d = require('dayjs'); module.exports = async () => ({ raw: d(0).year() })",
		"runtime": map[string]any{"image": "node22", "dependencies": map[string]string{"dayjs": "1.11.13"}}})
	if resp.StatusCode != 201 || rec["state"] != "creating" {
		t.Fatalf("create: %d %v", resp.StatusCode, rec)
	}
	id := rec["id"].(string)
	resp, px := e.do(t, "POST", "/proxies", key, map[string]any{"name": "resumed", "destination_url": "https://example.com",
		"request_transforms": []any{map[string]any{"type": "code", "code": "const d = require('dayjs'); module.exports = async (e) => ({ body: e.req.body, headers: e.req.headers })",
			"runtime": map[string]any{"image": "node22", "dependencies": map[string]string{"dayjs": "1.11.13"}}}}})
	if resp.StatusCode != 201 || px["state"] != "creating" {
		t.Fatalf("create proxy: %d %v", resp.StatusCode, px)
	}
	time.Sleep(500 * time.Millisecond) // the builds are waiting on the registry
	stop()

	opts.Build.Registry = "" // npm's default registry
	e, stop = run(opts)
	defer stop()
	e.useKey = e.newApp(t, "private", "token:use")
	if rec = e.waitState(t, id, "creating"); rec["state"] != "active" {
		t.Fatalf("after the restart: %v", rec)
	}
	if resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": nil}); resp.StatusCode != 200 || out["raw"] != float64(1970) {
		t.Errorf("react: %d %v", resp.StatusCode, out)
	}
	if px = e.waitResource(t, "/proxies/"+px["id"].(string), "creating"); px["state"] != "active" {
		t.Fatalf("proxy after the restart: %v", px)
	}
}
