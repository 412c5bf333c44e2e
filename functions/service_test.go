package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
)

const mgmt = "key_test_management"

// svc is a whole reactord (embedded NATS, a standard-tier worker, the gateway)
// serving the examples the way a user would reach them.
type svc struct {
	t   *testing.T
	url string
	hc  *http.Client
}

func start(t *testing.T) svc {
	t.Helper()
	cache, _ := os.UserCacheDir()
	o := service.Config{DataDir: t.TempDir(), Gateway: true, ManagementKey: mgmt, Tiers: []runtime.Tier{runtime.Standard}, WorkerID: "functions",
		Runtime:        runtime.Config{CacheDir: filepath.Join(cache, "reactord-test", "wazero")},
		Build:          service.BuildConfig{CacheDir: filepath.Join(cache, "reactord-test", "build")},
		ProxyAllowHTTP: true, EgressAllowPrivate: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	s, err := service.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler)
	t.Cleanup(func() {
		hs.Close()
		s.Stop(context.Background())
	})
	return svc{t: t, url: hs.URL, hc: hs.Client()}
}

// call sends a request and decodes a JSON answer.
func (s svc) call(method, path, key string, body any, hdr ...string) (int, map[string]any, http.Header) {
	s.t.Helper()
	var rd io.Reader
	if b, ok := body.(string); ok {
		rd = strings.NewReader(b)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("BT-API-KEY", key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, resp.Header
}

// app creates an application and returns its id and key.
func (s svc) app(typ string, perms ...string) (id, key string) {
	s.t.Helper()
	status, out, _ := s.call("POST", "/applications", mgmt, map[string]any{"name": typ, "type": typ, "permissions": perms})
	if status != 201 {
		s.t.Fatalf("application: %d %v", status, out)
	}
	return out["id"].(string), out["key"].(string)
}

func code(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExamplesThroughTheService creates each node-bt example as a reactor or a
// proxy transform and calls it through the API.
func TestExamplesThroughTheService(t *testing.T) {
	s := start(t)
	_, useKey := s.app("private", "token:use", "token:create")
	writerID, _ := s.app("private", "token:create")
	_, revealKey := s.app("private", "token:read", "token:reveal")

	reactors := []struct {
		dir  string
		body map[string]any // create body beyond name and code
		args any
		want func(raw any, out map[string]any) bool
	}{
		{"hello", map[string]any{"configuration": map[string]string{"SERVICE_API_KEY": "key_abcd1234"}}, nil,
			func(raw any, _ map[string]any) bool { return raw.(map[string]any)["foo"] == "bar" }},
		{"anything", nil, map[string]any{"tokens": []string{"a", "b"}},
			func(raw any, out map[string]any) bool {
				toks, _ := out["tokens"].(map[string]any)
				return raw.(map[string]any)["received"] == 2.0 && toks["foo"] != nil
			}},
		{"mask-card", map[string]any{"configuration": map[string]string{"SERVICE_API_KEY": "key_abcd1234"}}, map[string]any{"card_number": "4242424242424242"},
			func(raw any, _ map[string]any) bool { return raw.(map[string]any)["masked_card"] == "************4242" }},
		{"import-file", map[string]any{"application": map[string]string{"id": writerID}}, map[string]any{"fileString": "name,ssn\nTheory,555445555"},
			func(raw any, _ map[string]any) bool {
				lines := strings.Split(raw.(string), "\n")
				if len(lines) != 2 || lines[0] != "name,ssn" || !strings.HasPrefix(lines[1], "Theory,") {
					return false
				}
				_, tok, _ := s.call("GET", "/tokens/"+strings.TrimPrefix(lines[1], "Theory,"), revealKey, nil)
				return tok["data"] == "555445555"
			}},
	}
	for _, tc := range reactors {
		t.Run(tc.dir, func(t *testing.T) {
			body := map[string]any{"name": tc.dir, "code": code(t, tc.dir)}
			for k, v := range tc.body {
				body[k] = v
			}
			status, rec, _ := s.call("POST", "/reactors", mgmt, body)
			if status != 201 {
				t.Fatalf("create: %d %v", status, rec)
			}
			status, out, _ := s.call("POST", "/reactors/"+rec["id"].(string)+"/react", useKey, map[string]any{"args": tc.args})
			if status != 200 || out["raw"] == nil || !tc.want(out["raw"], out) {
				t.Errorf("react: %d %v", status, out)
			}
		})
	}

	// The proxy examples, in front of a destination that echoes what it received.
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"body": json.RawMessage(b), "authorization": r.Header.Get("Authorization")})
	}))
	t.Cleanup(dest.Close)
	t.Run("proxy-passthrough", func(t *testing.T) {
		status, px, _ := s.call("POST", "/proxies", mgmt, map[string]any{"name": "passthrough", "destination_url": dest.URL,
			"configuration": map[string]string{"SERVICE_API_KEY": "key_abcd1234"}, "require_auth": false,
			"request_transforms": []any{map[string]any{"code": code(t, "proxy-passthrough")}}})
		if status != 201 {
			t.Fatalf("create: %d %v", status, px)
		}
		status, out, _ := s.call("POST", "/proxy", "", `{"a":1}`, "BT-PROXY-KEY", px["key"].(string))
		if b, _ := out["body"].(map[string]any); status != 200 || b["a"] != 1.0 || out["authorization"] != "Bearer key_abcd1234" {
			t.Errorf("call: %d %v", status, out)
		}
	})
	t.Run("inbound-tokenize", func(t *testing.T) {
		if status, _, _ := s.call("POST", "/tokenize", useKey, map[string]any{"type": "token", "data": "x"}); status == 404 {
			t.Skip("this gateway serves no POST /tokenize, which the Basis Theory SDK's tokenize calls")
		}
		status, px, _ := s.call("POST", "/proxies", mgmt, map[string]any{"name": "inbound", "destination_url": dest.URL, "require_auth": false,
			"application": map[string]string{"id": writerID}, "request_transforms": []any{map[string]any{"code": code(t, "inbound-tokenize")}}})
		if status != 201 {
			t.Fatalf("create: %d %v", status, px)
		}
		status, out, _ := s.call("POST", "/proxy", "", `{"sensitive_value":"123-45-6789","other":"kept"}`, "BT-PROXY-KEY", px["key"].(string))
		b, _ := out["body"].(map[string]any)
		id, _ := b["sensitive_value"].(string)
		if status != 200 || b["other"] != "kept" || id == "" || id == "123-45-6789" {
			t.Fatalf("call: %d %v", status, out)
		}
		if _, tok, _ := s.call("GET", "/tokens/"+id, revealKey, nil); tok["data"] != "123-45-6789" {
			t.Errorf("token %s: %v", id, tok)
		}
	})
}

// TestNode22Example builds mask-card-node22 from its reactor.json dependencies (npm)
// and invokes it.
func TestNode22Example(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	s := start(t)
	_, useKey := s.app("private", "token:use")
	var manifest struct {
		Image        string            `json:"image"`
		Dependencies map[string]string `json:"dependencies"`
	}
	b, err := os.ReadFile("mask-card-node22/reactor.json")
	if err != nil || json.Unmarshal(b, &manifest) != nil {
		t.Fatalf("reactor.json: %v", err)
	}
	status, rec, _ := s.call("POST", "/reactors", mgmt, map[string]any{"name": "node22 mask", "code": code(t, "mask-card-node22"),
		"configuration": map[string]string{"SERVICE_API_KEY": "key_abcd1234"},
		"runtime":       map[string]any{"image": manifest.Image, "dependencies": manifest.Dependencies}})
	if status != 201 {
		t.Fatalf("create: %d %v", status, rec)
	}
	id := rec["id"].(string)
	for deadline := time.Now().Add(3 * time.Minute); rec["state"] != "active"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) || rec["state"] == "failed" {
			t.Fatalf("build: %v", rec)
		}
		_, rec, _ = s.call("GET", "/reactors/"+id, mgmt, nil)
	}
	status, out, _ := s.call("POST", "/reactors/"+id+"/react", useKey, map[string]any{"args": map[string]any{"card_number": "4242424242424242"}})
	// node22's res answers { body, headers } with res.statusCode.
	if b, _ := out["body"].(map[string]any); status != 200 || b["masked_card"] != "************4242" || b["success"] != true || b["configured"] != true {
		t.Errorf("react: %d %v", status, out)
	}
}
