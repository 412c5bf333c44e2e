package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
)

// TestProxyTransformContract: what code transforms receive and may answer, as
// Basis Theory documents proxy transforms.
func TestProxyTransformContract(t *testing.T) {
	e := startLocal(t)
	dest, got := echoDestination(t)
	app := e.newAppID(t, "private", "token:create", "token:read", "token:reveal")

	// req.args carries the request (body, headers, method, path, query) and req.bt
	// acts as the proxy's application; the response transform gets the
	// destination's body and headers.
	_, pkey := e.createProxy(t, map[string]any{"name": "contract", "destination_url": dest.URL, "require_auth": false,
		"application": map[string]string{"id": app}, "configuration": map[string]string{"GREETING": "hi"},
		"request_transforms": []any{map[string]any{"code": `module.exports = async (req) => {
  const { body, headers, method, path, query } = req.args;
  const token = await req.bt.tokens.create({ type: 'token', data: body.secret });
  return { body: { token: token.id, method, path, query, greeting: req.configuration.GREETING }, headers };
};`}},
		"response_transforms": []any{map[string]any{"code": `module.exports = async (req) => ({
  body: { seen: req.args.body.got, dest: req.args.headers['X-Destination'] }, headers: { 'Content-Type': 'application/json', 'X-Transformed': '1' } })`}},
	})
	resp, out := e.raw(t, "POST", "/proxy/charges?x=1&bt-proxy-key="+pkey, `{"secret":"s3cr3t"}`, "Content-Type", "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("call: %d %s", resp.StatusCode, out)
	}
	r := <-got
	var sent map[string]any
	json.Unmarshal([]byte(r.body), &sent)
	if sent["method"] != "POST" || sent["path"] != "/charges" || sent["query"] != "x=1" || sent["greeting"] != "hi" || sent["token"] == nil {
		t.Errorf("destination got %s", r.body)
	}
	if _, tok := e.do(t, "GET", "/tokens/"+sent["token"].(string), e.newApp(t, "private", "token:read", "token:reveal"), nil); tok["data"] != "s3cr3t" {
		t.Errorf("the token req.bt created: %v", tok)
	}
	var res map[string]any
	json.Unmarshal(out, &res)
	if res["dest"] != "echo" || res["seen"] != r.body || resp.Header.Get("X-Transformed") != "1" || resp.Header.Get("BT-PROXY-DESTINATION-STATUS") != "200" {
		t.Errorf("response %v %s", resp.Header, out)
	}

	// Response transforms run only on the destination's 2xx; anything else is
	// returned as the destination sent it.
	resp, out = e.raw(t, "POST", "/proxy", `{"secret":"x"}`, "BT-PROXY-KEY", pkey, "Content-Type", "application/json", "X-Status", "502")
	<-got
	if resp.StatusCode != 502 || resp.Header.Get("X-Transformed") != "" || resp.Header.Get("BT-PROXY-DESTINATION-STATUS") != "502" || proxyError(out) != nil {
		t.Errorf("destination 502: %d %v %s", resp.StatusCode, resp.Header, out)
	}

	// Skip Proxy Request: a request transform answering { response } ends the call
	// without the destination.
	_, skip := e.createProxy(t, map[string]any{"name": "skip", "destination_url": dest.URL, "require_auth": false,
		"request_transforms": []any{map[string]any{"code": `module.exports = async (req) => ({
  response: { status: 202, headers: { 'X-Skipped': 'yes' }, body: { accepted: req.args.body.id } } })`}},
		"response_transforms": []any{map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Response-Transform", "value": "ran"}}},
	})
	resp, out = e.raw(t, "POST", "/proxy", `{"id":7}`, "BT-PROXY-KEY", skip, "Content-Type", "application/json")
	if resp.StatusCode != 202 || string(out) != `{"accepted":7}` || resp.Header.Get("X-Skipped") != "yes" ||
		resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("BT-PROXY-DESTINATION-STATUS") != "" ||
		resp.Header.Get("X-Response-Transform") != "" {
		t.Errorf("skip: %d %v %s", resp.StatusCode, resp.Header, out)
	}

	// Every failure of transform code is a proxy_error carrying the reactor error.
	for _, tc := range []struct {
		name, code, typ string
		status          int
	}{
		{"thrown Error", `module.exports = async () => { throw new Error('boom') }`, "", 500},
		{"reactor error class", `const { AuthenticationError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async () => { throw new AuthenticationError('who are you') }`, "", 401},
		{"runtime TypeError", `module.exports = async (req) => ({ body: req.args.body.missing.deeper })`, "", 500},
		{"not an object", `module.exports = async () => 42`, "reactor_runtime_error", 500},
	} {
		_, k := e.createProxy(t, map[string]any{"name": tc.name, "destination_url": dest.URL, "require_auth": false,
			"request_transforms": []any{map[string]any{"code": tc.code}}})
		resp, out := e.raw(t, "POST", "/proxy", `{}`, "BT-PROXY-KEY", k, "Content-Type", "application/json")
		pe := proxyError(out)
		if resp.StatusCode != tc.status || pe == nil || pe["status"] != float64(tc.status) || (tc.typ != "" && pe["type"] != tc.typ) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, out)
		}
	}
	// A syntax error never gets stored.
	if resp, out := e.do(t, "POST", "/proxies", key, map[string]any{"name": "syntax", "destination_url": dest.URL,
		"request_transforms": []any{map[string]any{"code": `module.exports = async () => {`}}}); resp.StatusCode != 422 {
		t.Errorf("syntax error: %d %v", resp.StatusCode, out)
	}
	if len(got) != 0 {
		t.Errorf("the destination was called: %+v", <-got)
	}
}

// TestProxyReservedHeaders: BT-PROXY-KEEP-ALIVE and BT-PROXY-CONNECTION set the
// destination call's Keep-Alive and Connection; the BT- headers themselves never
// reach it.
func TestProxyReservedHeaders(t *testing.T) {
	e := startLocal(t)
	dest, got := echoDestination(t)
	resp, out := e.raw(t, "GET", "/proxy", "", "BT-PROXY-URL", dest.URL, "BT-API-KEY", e.useKey,
		"BT-PROXY-KEEP-ALIVE", "timeout=5, max=100", "BT-PROXY-CONNECTION", "keep-alive")
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	r := <-got
	if r.header.Get("Keep-Alive") != "timeout=5, max=100" || r.header.Get("Connection") != "keep-alive" ||
		r.header.Get("Bt-Proxy-Keep-Alive") != "" || r.header.Get("Bt-Proxy-Connection") != "" {
		t.Errorf("destination headers %v", r.header)
	}
	// Without them the caller's hop-by-hop headers stay with the caller.
	e.raw(t, "GET", "/proxy", "", "BT-PROXY-URL", dest.URL, "BT-API-KEY", e.useKey, "Keep-Alive", "timeout=1")
	if r := <-got; r.header.Get("Keep-Alive") != "" {
		t.Errorf("a caller's Keep-Alive was forwarded: %v", r.header)
	}
}

// TestProxyLegacyFields: the older API's single request_transform and
// response_transform are echoed back when a proxy was written with them; a
// proxy's application is application_id in responses, as Basis Theory shows it.
func TestProxyLegacyFields(t *testing.T) {
	e := startLocal(t)
	app := e.newAppID(t, "public", "token:create")
	code := `module.exports = async function (req) { return { headers: req.args.headers, body: req.args.body }; };`
	resp, created := e.do(t, "POST", "/proxies", key, map[string]any{"name": "legacy", "destination_url": "https://example.com/api",
		"request_transform": map[string]any{"code": code}, "response_transform": map[string]any{"code": code},
		"application": map[string]string{"id": app}, "require_auth": true})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id := created["id"].(string)
	check := func(what string, p map[string]any, legacy bool) {
		t.Helper()
		rt, _ := p["request_transform"].(map[string]any)
		if (rt != nil) != legacy || (legacy && (rt["code"] != code || p["response_transform"] == nil)) ||
			len(p["request_transforms"].([]any)) != 1 || p["application_id"] != app {
			t.Errorf("%s: %v", what, p)
		}
	}
	check("create", created, true)
	_, got := e.do(t, "GET", "/proxies/"+id, key, nil)
	check("get", got, true)
	_, list := e.do(t, "GET", "/proxies?name=LEG", key, nil)
	check("list", list["data"].([]any)[0].(map[string]any), true)
	e.do(t, "PATCH", "/proxies/"+id, key, map[string]any{"name": "legacy 2"}, "Content-Type", "application/merge-patch+json")
	_, got = e.do(t, "GET", "/proxies/"+id, key, nil)
	check("after a patch naming neither form", got, true)
	resp, put := e.do(t, "PUT", "/proxies/"+id, key, map[string]any{"name": "lists", "destination_url": "https://example.com/api",
		"request_transforms": []any{map[string]any{"code": code}}, "application": map[string]string{"id": app}})
	if resp.StatusCode != 200 {
		t.Fatalf("put: %d %v", resp.StatusCode, put)
	}
	check("after a put with the lists", put, false)
}

// TestProxyNode22TransformBT: a node22 code transform's event.bt acts with the
// transform's runtime.permissions, and event.req carries the request.
func TestProxyNode22TransformBT(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a node22 transform")
	}
	cache, _ := os.UserCacheDir()
	e := start(t, func(o *service.Config) {
		o.ProxyAllowHTTP, o.EgressAllowPrivate = true, true
		o.Build = service.BuildConfig{CacheDir: filepath.Join(cache, "reactord-test", "build")}
	})
	dest, got := echoDestination(t)
	id, pkey := e.createProxy(t, map[string]any{"name": "node22 bt", "destination_url": dest.URL, "require_auth": false,
		"request_transforms": []any{map[string]any{"type": "code", "runtime": map[string]any{"image": "node22", "permissions": []string{"token:create"}},
			"code": `module.exports = async (event) => {
  const token = await event.bt.tokens.create({ type: 'token', data: event.req.body.secret });
  return { body: { token: token.id, method: event.req.method, query: event.req.query }, headers: event.req.headers };
};`}}})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, rec := e.do(t, "GET", "/proxies/"+id, key, nil)
		if rec["state"] == "active" {
			break
		}
		if rec["state"] == "failed" || time.Now().After(deadline) {
			t.Fatalf("build: %v", rec)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, out := e.raw(t, "POST", "/proxy?x=2", `{"secret":"n22"}`, "BT-PROXY-KEY", pkey, "Content-Type", "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("call: %d %s", resp.StatusCode, out)
	}
	var sent map[string]any
	json.Unmarshal([]byte((<-got).body), &sent)
	tok, _ := sent["token"].(string)
	if sent["method"] != "POST" || sent["query"] != "x=2" || tok == "" {
		t.Fatalf("destination got %v", sent)
	}
	if _, rec := e.do(t, "GET", "/tokens/"+tok, e.newApp(t, "private", "token:read", "token:reveal"), nil); rec["data"] != "n22" {
		t.Errorf("token: %v", rec)
	}
}
