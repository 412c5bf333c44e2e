package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
)

// newAppID creates an application and returns its id.
func (e env) newAppID(t testing.TB, typ string, perms ...string) string {
	t.Helper()
	resp, out := e.do(t, "POST", "/applications", key, map[string]any{"name": typ + " app", "type": typ, "permissions": perms})
	if resp.StatusCode != 201 || out["id"] == nil {
		t.Fatalf("create application: %d %v", resp.StatusCode, out)
	}
	return out["id"].(string)
}

// proxyError decodes a {"proxy_error": {...}} body; nil when the body is not one.
func proxyError(body []byte) map[string]any {
	var out struct {
		ProxyError map[string]any `json:"proxy_error"`
	}
	json.Unmarshal(body, &out)
	return out.ProxyError
}

// createProxy creates a proxy and returns its id and key.
func (e env) createProxy(t *testing.T, body map[string]any) (id, pkey string) {
	t.Helper()
	resp, out := e.do(t, "POST", "/proxies", key, body)
	if resp.StatusCode != 201 {
		t.Fatalf("create proxy: %d %v", resp.StatusCode, out)
	}
	return out["id"].(string), out["key"].(string)
}

// TestAnonymousProxyDetokenization performs the attack: with no API key at all, a
// caller holding only a require_auth:false proxy's key asks it to detokenize a token
// of the tenant. A proxy without an application detokenizes nothing (403, the
// destination never called); one acts with its application's permissions, which
// must include token:use; only public and private applications can be attached.
func TestAnonymousProxyDetokenization(t *testing.T) {
	e := startLocal(t)
	dest, got := echoDestination(t)
	resp, tok := e.do(t, "POST", "/tokens", e.useKey, map[string]any{"type": "token", "data": "4111111111111111"})
	if resp.StatusCode != 201 {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	body := `{"card":"{{ ` + tok["id"].(string) + ` }}"}`
	noUse := e.newAppID(t, "private", "token:read")
	withUse := e.newAppID(t, "private", "token:use")
	management := e.newAppID(t, "management", "proxy:read")

	for _, tc := range []struct {
		name   string
		app    string // "" for none
		status int
	}{
		{"no application", "", http.StatusForbidden},
		{"application without token:use", noUse, http.StatusForbidden},
		{"application with token:use", withUse, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]any{"name": tc.name, "destination_url": dest.URL, "require_auth": false}
			if tc.app != "" {
				p["application"] = map[string]string{"id": tc.app}
			}
			_, pkey := e.createProxy(t, p)
			resp, out := e.raw(t, "POST", "/proxy", body, "BT-PROXY-KEY", pkey, "Content-Type", "application/json")
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s", resp.StatusCode, out)
			}
			if tc.status == http.StatusOK {
				if r := <-got; r.body != `{"card":"4111111111111111"}` {
					t.Errorf("destination got %s", r.body)
				}
				return
			}
			if pe := proxyError(out); pe == nil || pe["status"] != float64(tc.status) || bytes.Contains(out, []byte("4111")) {
				t.Errorf("refusal: %s", out)
			}
			if len(got) != 0 {
				t.Errorf("the destination was called: %+v", <-got)
			}
			// Plain requests still pass: the proxy is usable, it just detokenizes nothing.
			if resp, out := e.raw(t, "POST", "/proxy", `{"a":1}`, "BT-PROXY-KEY", pkey, "Content-Type", "application/json"); resp.StatusCode != 200 {
				t.Errorf("plain call: %d %s", resp.StatusCode, out)
			}
			<-got
		})
	}

	// Only public and private applications can be attached, at create and update.
	for _, app := range []string{management, "00000000-0000-0000-0000-000000000000"} {
		resp, out := e.do(t, "POST", "/proxies", key, map[string]any{"name": "m", "destination_url": dest.URL, "require_auth": false,
			"application": map[string]string{"id": app}})
		if errs, _ := out["errors"].(map[string]any); resp.StatusCode != 400 || errs["application.id"] == nil {
			t.Errorf("create with application %s: %d %v", app, resp.StatusCode, out)
		}
	}
	id, _ := e.createProxy(t, map[string]any{"name": "u", "destination_url": dest.URL, "require_auth": false})
	resp, out := e.do(t, "PUT", "/proxies/"+id, key, map[string]any{"name": "u", "destination_url": dest.URL, "require_auth": false,
		"application": map[string]string{"id": management}})
	if errs, _ := out["errors"].(map[string]any); resp.StatusCode != 400 || errs["application.id"] == nil {
		t.Errorf("update to a management application: %d %v", resp.StatusCode, out)
	}
	resp, _ = e.do(t, "PATCH", "/proxies/"+id, key, map[string]any{"application": map[string]string{"id": management}}, "Content-Type", "application/merge-patch+json")
	if resp.StatusCode != 400 {
		t.Errorf("patch to a management application: %d", resp.StatusCode)
	}

	// A tokenize transform of an anonymous proxy creates tokens only with its
	// application's token:create.
	_, pkey := e.createProxy(t, map[string]any{"name": "tokenize", "destination_url": dest.URL, "require_auth": false,
		"request_transforms": []any{map[string]any{"type": "tokenize", "options": map[string]any{"token": map[string]any{"type": "token", "data": "{{ req.a }}"}}}}})
	if resp, out := e.raw(t, "POST", "/proxy", `{"a":"x"}`, "BT-PROXY-KEY", pkey, "Content-Type", "application/json"); resp.StatusCode != 403 || proxyError(out) == nil {
		t.Errorf("anonymous tokenize: %d %s", resp.StatusCode, out)
	}
	if len(got) != 0 {
		t.Errorf("the destination was called: %+v", <-got)
	}
}

// TestProxyKeysAndRateLimit: an unknown key is a 404 proxy_error (one index read in
// the store, which TestProxyKeyIndex checks), and /proxy is rate-limited like the
// API: per application for authenticated calls, per proxy for anonymous ones, 429
// with Retry-After in the proxy_error format, the destination not called.
func TestProxyKeysAndRateLimit(t *testing.T) {
	const burst = 5 // the management key spends 3 of its own on the setup
	e := start(t, func(o *service.Config) {
		o.ProxyAllowHTTP, o.EgressAllowPrivate = true, true
		o.RateLimit, o.RateBurst = 0.001, burst
	})
	dest, got := echoDestination(t)
	for _, k := range []string{"0123456789abcdef0123456789abcdef", "nope"} {
		if resp, out := e.raw(t, "GET", "/proxy", "", "BT-PROXY-KEY", k); resp.StatusCode != 404 || proxyError(out) == nil {
			t.Errorf("unknown key %s: %d %s", k, resp.StatusCode, out)
		}
	}
	_, anon := e.createProxy(t, map[string]any{"name": "anon", "destination_url": dest.URL, "require_auth": false})
	_, authed := e.createProxy(t, map[string]any{"name": "authed", "destination_url": dest.URL})
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"anonymous, per proxy", []string{"BT-PROXY-KEY", anon}},
		{"authenticated, per application", []string{"BT-PROXY-KEY", authed, "BT-API-KEY", e.useKey}},
	} {
		for i := range burst + 1 {
			resp, out := e.raw(t, "GET", "/proxy", "", tc.hdr...)
			if i < burst {
				if resp.StatusCode != 200 {
					t.Fatalf("%s: call %d: %d %s", tc.name, i, resp.StatusCode, out)
				}
				<-got
				continue
			}
			if pe := proxyError(out); resp.StatusCode != 429 || pe == nil || pe["status"] != 429.0 || resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s: past the limit: %d %v %s", tc.name, resp.StatusCode, resp.Header, out)
			}
		}
	}
	// The ephemeral proxy shares the application's bucket, already empty.
	if resp, _ := e.raw(t, "GET", "/proxy", "", "BT-PROXY-URL", dest.URL, "BT-API-KEY", e.useKey); resp.StatusCode != 429 {
		t.Errorf("ephemeral past the application's limit: %d", resp.StatusCode)
	}
	if len(got) != 0 {
		t.Errorf("the destination was called past the limit: %+v", <-got)
	}
}

// TestProxyDestinationLimits: --proxy-timeout answers 408 and --proxy-max-response
// 502, both as proxy_error.
func TestProxyDestinationLimits(t *testing.T) {
	e := start(t, func(o *service.Config) {
		o.ProxyAllowHTTP, o.EgressAllowPrivate = true, true
		o.ProxyTimeout, o.ProxyMaxResponse = 300*time.Millisecond, 64
	})
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write([]byte(strings.Repeat("x", 65)))
			return
		}
		<-release
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	for _, tc := range []struct {
		path   string
		status int
	}{{"/slow", 408}, {"/big", 502}} {
		resp, out := e.raw(t, "GET", "/proxy"+tc.path, "", "BT-PROXY-URL", slow.URL, "BT-API-KEY", e.useKey)
		if pe := proxyError(out); resp.StatusCode != tc.status || pe == nil || pe["status"] != float64(tc.status) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, out)
		}
	}
}
