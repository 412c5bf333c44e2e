package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/api"
	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
)

const key = "key_test_management"

type env struct {
	url    string
	client *http.Client
	// useKey is a private application's key with token:use, the permission react needs.
	useKey string
}

// start runs the whole service in-process on a real embedded NATS server: stores,
// an engine, a worker serving the standard tier only, and the gateway.
func start(t testing.TB, opts ...func(*service.Config)) env {
	t.Helper()
	dir, _ := os.UserCacheDir()
	o := service.Config{DataDir: t.TempDir(), Gateway: true, ManagementKey: key,
		Tiers: []runtime.Tier{runtime.Standard}, WorkerID: "test-worker",
		Runtime: runtime.Config{CacheDir: dir + "/reactord-test/wazero"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, opt := range opts {
		opt(&o)
	}
	svc, err := service.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(svc.Handler)
	t.Cleanup(func() {
		hs.Close()
		svc.Stop(context.Background())
	})
	e := env{url: hs.URL, client: hs.Client()}
	e.useKey = e.newApp(t, "private", "token:use", "token:create", "token:read")
	return e
}

// newApp creates an application and returns its key.
func (e env) newApp(t testing.TB, typ string, perms ...string) string {
	t.Helper()
	resp, out := e.do(t, "POST", "/applications", key, map[string]any{"name": typ + " app", "type": typ, "permissions": perms})
	if resp.StatusCode != 201 || out["key"] == nil {
		t.Fatalf("create application: %d %v", resp.StatusCode, out)
	}
	return out["key"].(string)
}

func (e env) do(t testing.TB, method, path, apiKey string, body any, hdr ...string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("BT-API-KEY", apiKey)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(raw, &out)
	return resp, out
}

const maskCode = `const MaskData = require('maskdata');
module.exports = async function (req) {
  return { raw: { masked: MaskData.maskCard(req.args.card_number, { maskWith: '*', unmaskedStartDigits: 0, unmaskedEndDigits: 4 }), key: req.configuration.SERVICE_API_KEY } };
};`

func TestReactorLifecycle(t *testing.T) {
	e := start(t)
	resp, created := e.do(t, "POST", "/reactors", key, map[string]any{
		"name": "Masker", "code": maskCode, "configuration": map[string]string{"SERVICE_API_KEY": "key_abcd1234"},
	})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id, _ := created["id"].(string)
	if id == "" || created["name"] != "Masker" || created["tenant_id"] == "" || created["created_at"] == "" {
		t.Fatalf("created reactor %v", created)
	}
	resp, got := e.do(t, "GET", "/reactors/"+id, key, nil)
	if resp.StatusCode != 200 || got["code"] != maskCode || got["configuration"].(map[string]any)["SERVICE_API_KEY"] != "key_abcd1234" {
		t.Fatalf("get: %d %v", resp.StatusCode, got)
	}
	for i := 0; i < 3; i++ {
		resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": map[string]string{"card_number": "4242424242424242"}}, "BT-TRACE-ID", "trace-123")
		if resp.StatusCode != 200 {
			t.Fatalf("react: %d %v", resp.StatusCode, out)
		}
		raw := out["raw"].(map[string]any)
		if raw["masked"] != "************4242" || raw["key"] != "key_abcd1234" {
			t.Errorf("react body %v", out)
		}
		if resp.Header.Get("BT-TRACE-ID") != "trace-123" {
			t.Errorf("trace id not echoed: %q", resp.Header.Get("BT-TRACE-ID"))
		}
	}
	resp, list := e.do(t, "GET", "/reactors?name=Masker", key, nil)
	if resp.StatusCode != 200 || len(list["data"].([]any)) != 1 {
		t.Errorf("list: %d %v", resp.StatusCode, list)
	}
	if resp, _ := e.do(t, "DELETE", "/reactors/"+id, key, nil); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/reactors/"+id, key, nil); resp.StatusCode != 404 {
		t.Errorf("get after delete: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": map[string]any{}}); resp.StatusCode != 404 {
		t.Errorf("react after delete: %d", resp.StatusCode)
	}
}

func TestRejections(t *testing.T) {
	e := start(t)
	_, ok := e.do(t, "POST", "/reactors", key, map[string]any{"name": "ok", "code": `module.exports = async (req) => { throw new (require('@basis-theory/basis-theory-reactor-formulas-sdk-js').BadRequestError)('nope') }`})
	okID, _ := ok["id"].(string)
	_, xl := e.do(t, "POST", "/reactors", key, map[string]any{"name": "xl", "code": `module.exports = async () => ({ raw: 1 })`, "runtime": map[string]any{"image": "node-bt", "resources": "xlarge"}})
	xlID, _ := xl["id"].(string)
	big := strings.Repeat("x", 2<<20)
	tests := []struct {
		name, method, path, key string
		body                    any
		status                  int
		field                   string
	}{
		{"no key", "GET", "/reactors", "", nil, 401, ""},
		{"wrong key", "GET", "/reactors", "key_wrong", nil, 401, ""},
		{"missing name", "POST", "/reactors", key, map[string]any{"code": "module.exports = () => 1"}, 400, "name"},
		{"long name", "POST", "/reactors", key, map[string]any{"name": strings.Repeat("n", 201), "code": "module.exports = () => 1"}, 400, "name"},
		{"missing code", "POST", "/reactors", key, map[string]any{"name": "a"}, 400, "code"},
		{"bad timeout", "POST", "/reactors", key, map[string]any{"name": "a", "code": "module.exports = () => 1", "runtime": map[string]any{"image": "node-bt", "timeout": 31}}, 400, "runtime.timeout"},
		{"bad resources", "POST", "/reactors", key, map[string]any{"name": "a", "code": "module.exports = () => 1", "runtime": map[string]any{"image": "node-bt", "resources": "huge"}}, 400, "runtime.resources"},
		{"unknown image", "POST", "/reactors", key, map[string]any{"name": "a", "code": "module.exports = () => 1", "runtime": map[string]any{"image": "python3"}}, 400, "runtime.image"},
		{"no exported function", "POST", "/reactors", key, map[string]any{"name": "a", "code": "const x = 1;"}, 422, "code"},
		{"syntax error", "POST", "/reactors", key, map[string]any{"name": "a", "code": "module.exports = function ("}, 422, "code"},
		{"malformed json", "POST", "/reactors", key, "{not json", 400, ""},
		{"body too large", "POST", "/reactors/" + okID + "/react", e.useKey, map[string]any{"args": big}, 413, ""},
		{"unknown reactor", "POST", "/reactors/00000000-0000-0000-0000-000000000000/react", e.useKey, map[string]any{"args": 1}, 404, ""},
		{"reactor error", "POST", "/reactors/" + okID + "/react", e.useKey, map[string]any{"args": 1}, 400, ""},
		{"no worker for tier", "POST", "/reactors/" + xlID + "/react", e.useKey, map[string]any{"args": 1}, 503, ""},
		{"unknown route", "GET", "/nope", key, nil, 404, ""},
		{"management key cannot react", "POST", "/reactors/" + okID + "/react", key, map[string]any{"args": 1}, 403, ""},
		{"private key cannot create reactors", "POST", "/reactors", e.useKey, map[string]any{"name": "a", "code": "module.exports = () => 1"}, 403, ""},
		{"private key cannot list applications", "GET", "/applications", e.useKey, nil, 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := e.do(t, tc.method, tc.path, tc.key, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tc.status, out)
			}
			if out["status"] != float64(tc.status) || out["title"] == "" {
				t.Errorf("not in the error format: %v", out)
			}
			if tc.field != "" {
				errs, _ := out["errors"].(map[string]any)
				if _, ok := errs[tc.field]; !ok {
					t.Errorf("errors %v lack the field %s", errs, tc.field)
				}
			}
			if resp.Header.Get("BT-TRACE-ID") == "" {
				t.Error("no BT-TRACE-ID on the response")
			}
		})
	}
}

func TestWarmConcurrencyAndHealth(t *testing.T) {
	e := start(t)
	resp, out := e.do(t, "POST", "/reactors", key, map[string]any{"name": "warm", "code": `module.exports = async () => ({ raw: 'hot' })`,
		"runtime": map[string]any{"image": "node-bt", "warm_concurrency": 2, "timeout": 5}})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, out)
	}
	time.Sleep(500 * time.Millisecond)
	resp, out = e.do(t, "POST", "/reactors/"+out["id"].(string)+"/react", e.useKey, map[string]any{"args": nil})
	if resp.StatusCode != 200 || out["raw"] != "hot" {
		t.Fatalf("react: %d %v", resp.StatusCode, out)
	}
	if resp, _ := e.do(t, "GET", "/healthz", "", nil); resp.StatusCode != 200 {
		t.Errorf("healthz %d", resp.StatusCode)
	}
}

// TestNativeStallIsBounded: a native builtin (a deep JSON.stringify) holds the engine
// past the reactor's 1 s timeout without reaching the interrupt handler. The worker's
// watchdog answers on time unless Go's garbage collector waits on the stalled call
// (wazero's compiled code cannot be preempted); either way the caller gets an error in
// the API format within the stall's bound, and the service keeps serving.
func TestNativeStallIsBounded(t *testing.T) {
	e := start(t)
	resp, out := e.do(t, "POST", "/reactors", key, map[string]any{"name": "deep",
		"code":    `module.exports = async () => { let o = {}; for (let i = 0; i < 30000; i++) o = { o }; return { raw: JSON.stringify(o).length }; }`,
		"runtime": map[string]any{"image": "node-bt", "timeout": 1}})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, out)
	}
	start := time.Now()
	resp, out = e.do(t, "POST", "/reactors/"+out["id"].(string)+"/react", e.useKey, map[string]any{"args": nil})
	elapsed := time.Since(start)
	if resp.StatusCode != 500 || out["status"] != float64(500) || out["title"] == "" {
		t.Fatalf("react: %d %v", resp.StatusCode, out)
	}
	if elapsed > 15*time.Second {
		t.Errorf("answered after %v", elapsed)
	}
	resp, out = e.do(t, "POST", "/reactors", key, map[string]any{"name": "fine", "code": `module.exports = async () => ({ raw: 'ok' })`})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, out)
	}
	resp, out = e.do(t, "POST", "/reactors/"+out["id"].(string)+"/react", e.useKey, map[string]any{"args": nil})
	if resp.StatusCode != 200 || out["raw"] != "ok" {
		t.Errorf("the service stopped serving: %d %v", resp.StatusCode, out)
	}
}

func TestReactorUpdates(t *testing.T) {
	e := start(t)
	_, created := e.do(t, "POST", "/reactors", key, map[string]any{"name": "v1", "code": `module.exports = async (req) => ({ raw: ['v1', req.configuration] })`,
		"configuration": map[string]string{"A": "1", "B": "2"}})
	id := created["id"].(string)
	react := func() any {
		resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": nil})
		if resp.StatusCode != 200 {
			t.Fatalf("react: %d %v", resp.StatusCode, out)
		}
		return out["raw"]
	}
	if got := react(); got.([]any)[0] != "v1" {
		t.Fatalf("v1 answered %v", got)
	}
	resp, out := e.do(t, "PUT", "/reactors/"+id, key, map[string]any{"name": "v2", "code": `module.exports = async (req) => ({ raw: ['v2', req.configuration] })`,
		"configuration": map[string]string{"A": "9"}})
	if resp.StatusCode != 200 || out["name"] != "v2" || out["modified_at"] == nil || out["created_at"] != created["created_at"] {
		t.Fatalf("put: %d %v", resp.StatusCode, out)
	}
	time.Sleep(200 * time.Millisecond) // the worker releases the old version
	jsonPart, _ := json.Marshal(react())
	if string(jsonPart) != `["v2",{"A":"9"}]` {
		t.Errorf("after PUT the reactor answered %s", jsonPart)
	}
	patch := func(body string, ct string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("PATCH", e.url+"/reactors/"+id, strings.NewReader(body))
		req.Header.Set("BT-API-KEY", key)
		req.Header.Set("Content-Type", ct)
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	resp, _ = patch(`{"configuration": {"A": null, "C": "3"}, "name": "v3"}`, "application/merge-patch+json")
	if resp.StatusCode != 204 {
		t.Fatalf("patch: %d, want 204", resp.StatusCode)
	}
	_, out = e.do(t, "GET", "/reactors/"+id, key, nil)
	if out["name"] != "v3" || out["code"] == "" {
		t.Fatalf("after patch: %v", out)
	}
	if cfg := out["configuration"].(map[string]any); len(cfg) != 1 || cfg["C"] != "3" {
		t.Errorf("merge patch configuration %v, want only C", cfg)
	}
	for _, tc := range []struct {
		body, ct string
		status   int
	}{
		{`{"name": "x"}`, "application/json", 415},
		{`{"name": null}`, "application/merge-patch+json", 400},
		{`{"code": "const nothing = 1"}`, "application/merge-patch+json", 422},
		{`{not json`, "application/merge-patch+json", 400},
	} {
		if resp, out := patch(tc.body, tc.ct); resp.StatusCode != tc.status || out["status"] != float64(tc.status) {
			t.Errorf("patch %s (%s): %d %v, want %d", tc.body, tc.ct, resp.StatusCode, out, tc.status)
		}
	}
	if resp, _ := e.do(t, "PUT", "/reactors/00000000-0000-0000-0000-000000000000", key, map[string]any{"name": "a", "code": "module.exports = () => 1"}); resp.StatusCode != 404 {
		t.Errorf("put of a missing reactor: %d", resp.StatusCode)
	}
}

func TestMergePatch(t *testing.T) {
	// The examples of RFC 7386, appendix A.
	tests := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for _, tc := range tests {
		var target, patch any
		json.Unmarshal([]byte(tc.target), &target)
		json.Unmarshal([]byte(tc.patch), &patch)
		got, _ := json.Marshal(api.MergePatch(target, patch))
		if string(got) != tc.want {
			t.Errorf("merge %s with %s = %s, want %s", tc.target, tc.patch, got, tc.want)
		}
	}
}
