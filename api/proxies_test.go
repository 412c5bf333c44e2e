package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
)

// startLocal is start with proxies allowed to reach the loopback test destinations
// over plain HTTP.
func startLocal(t *testing.T) env {
	t.Helper()
	return start(t, func(o *service.Config) { o.ProxyAllowHTTP, o.EgressAllowPrivate = true, true })
}

// raw sends a request with a raw body and returns the response and its body.
func (e env) raw(t testing.TB, method, path string, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestProxiesCRUD(t *testing.T) {
	e := startLocal(t)
	appID := e.newAppID(t, "private", "token:use")
	create := map[string]any{
		"name": "My Proxy", "destination_url": "https://example.com/api",
		"request_transforms":  []any{map[string]any{"code": "module.exports = async (req) => ({ body: req.args.body, headers: req.args.headers })"}},
		"response_transforms": []any{map[string]any{"type": "mask", "matcher": "regex", "expression": "(\\d+)", "replacement": "*"}},
		"configuration":       map[string]string{"SERVICE_API_KEY": "key_abcd1234"},
		"application":         map[string]string{"id": appID},
	}
	resp, created := e.do(t, "POST", "/proxies", key, create)
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, created)
	}
	id, _ := created["id"].(string)
	pkey, _ := created["key"].(string)
	if id == "" || len(pkey) < 16 || created["require_auth"] != true || created["disable_detokenization"] != false ||
		created["application_id"] != appID || created["tenant_id"] == "" || created["created_at"] == "" {
		t.Fatalf("created %v", created)
	}
	resp, got := e.do(t, "GET", "/proxies/"+id, key, nil)
	if resp.StatusCode != 200 || got["configuration"].(map[string]any)["SERVICE_API_KEY"] != "key_abcd1234" ||
		len(got["request_transforms"].([]any)) != 1 || got["response_transforms"].([]any)[0].(map[string]any)["replacement"] != "*" {
		t.Fatalf("get: %d %v", resp.StatusCode, got)
	}
	e.do(t, "POST", "/proxies", key, map[string]any{"name": "Other", "destination_url": "https://example.org"})
	for _, tc := range []struct {
		query string
		n     int
	}{{"", 2}, {"?name=my", 1}, {"?id=" + id, 1}, {"?size=1&page=2", 1}, {"?name=none", 0}} {
		resp, list := e.do(t, "GET", "/proxies"+tc.query, key, nil)
		if resp.StatusCode != 200 || len(list["data"].([]any)) != tc.n || list["pagination"] == nil {
			t.Errorf("list %s: %d %v", tc.query, resp.StatusCode, list)
		}
	}
	resp, put := e.do(t, "PUT", "/proxies/"+id, key, map[string]any{"name": "Renamed", "destination_url": "https://example.com/v2", "require_auth": false})
	if resp.StatusCode != 200 || put["name"] != "Renamed" || put["require_auth"] != false || put["key"] != pkey ||
		len(put["request_transforms"].([]any)) != 0 || put["modified_at"] == nil {
		t.Errorf("put: %d %v", resp.StatusCode, put)
	}
	if resp, _ := e.do(t, "PATCH", "/proxies/"+id, key, map[string]any{"name": "x"}); resp.StatusCode != 415 {
		t.Errorf("patch as application/json: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "PATCH", "/proxies/"+id, key, map[string]any{"name": "Patched", "configuration": map[string]any{"B": "2"}},
		"Content-Type", "application/merge-patch+json")
	if resp.StatusCode != 204 {
		t.Errorf("patch: %d", resp.StatusCode)
	}
	_, got = e.do(t, "GET", "/proxies/"+id, key, nil)
	if got["name"] != "Patched" || got["destination_url"] != "https://example.com/v2" || got["require_auth"] != false ||
		got["configuration"].(map[string]any)["B"] != "2" {
		t.Errorf("after patch: %v", got)
	}
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"no name", map[string]any{"destination_url": "https://example.com"}, 400, "name"},
		{"no destination", map[string]any{"name": "n"}, 400, "destination_url"},
		{"http destination allowed here, ftp not", map[string]any{"name": "n", "destination_url": "ftp://example.com"}, 400, "destination_url"},
		{"mask needs a capture group", map[string]any{"name": "n", "destination_url": "https://example.com",
			"response_transforms": []any{map[string]any{"type": "mask", "matcher": "regex", "expression": "\\d", "replacement": "*"}}}, 400, "response_transforms[0].expression"},
		{"code must export a function", map[string]any{"name": "n", "destination_url": "https://example.com",
			"request_transforms": []any{map[string]any{"code": "const a = 1"}}}, 422, "request_transforms[0].code"},
	} {
		resp, out := e.do(t, "POST", "/proxies", key, tc.body)
		errs, _ := out["errors"].(map[string]any)
		if resp.StatusCode != tc.status || errs[tc.field] == nil {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, out)
		}
	}
	if resp, _ := e.do(t, "GET", "/proxies", "wrong-key", nil); resp.StatusCode != 401 {
		t.Errorf("list with a wrong key: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "DELETE", "/proxies/"+id, key, nil); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/proxies/"+id, key, nil); resp.StatusCode != 404 {
		t.Errorf("get after delete: %d", resp.StatusCode)
	}
	// The deleted proxy's key no longer proxies.
	if resp, body := e.raw(t, "GET", "/proxy?bt-proxy-key="+pkey, ""); resp.StatusCode != 404 || !bytes.Contains(body, []byte("proxy_error")) {
		t.Errorf("invoke a deleted proxy: %d %s", resp.StatusCode, body)
	}
}

type received struct {
	method, path, query, body string
	header                    http.Header
}

// echoDestination records each request and answers with the status in X-Status
// (default 200) and a JSON body.
func echoDestination(t *testing.T) (*httptest.Server, chan received) {
	ch := make(chan received, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- received{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Clone()}
		status := 200
		if s := r.Header.Get("X-Status"); s != "" {
			json.Unmarshal([]byte(s), &status)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Destination", "echo")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"card": "4242424242424242", "got": string(b)})
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func TestEphemeralProxy(t *testing.T) {
	e := startLocal(t)
	dest, got := echoDestination(t)
	for _, status := range []int{200, 404, 503} {
		resp, body := e.raw(t, "PUT", "/proxy/foo/bar?x=1", `{"a":"b"}`, "BT-API-KEY", e.useKey, "BT-PROXY-URL", dest.URL+"/api",
			"Content-Type", "application/json", "X-Status", itoa(status), "Authorization", "Bearer dest-token")
		r := <-got
		if r.method != "PUT" || r.path != "/api/foo/bar" || r.query != "x=1" || r.body != `{"a":"b"}` ||
			r.header.Get("Authorization") != "Bearer dest-token" || r.header.Get("Bt-Api-Key") != "" || r.header.Get("Bt-Proxy-Url") != "" {
			t.Errorf("destination received %+v", r)
		}
		if resp.StatusCode != status || resp.Header.Get("BT-PROXY-DESTINATION-STATUS") != itoa(status) ||
			resp.Header.Get("X-Destination") != "echo" || !bytes.Contains(body, []byte(`"got":"{\"a\":\"b\"}"`)) {
			t.Errorf("status %d: %d %v %s", status, resp.StatusCode, resp.Header, body)
		}
	}
	for _, tc := range []struct {
		name   string
		hdr    []string
		status int
	}{
		{"no API key", []string{"BT-PROXY-URL", dest.URL}, 401},
		{"no destination", []string{"BT-API-KEY", e.useKey}, 400},
		{"invalid destination", []string{"BT-API-KEY", e.useKey, "BT-PROXY-URL", "ftp://x"}, 400},
		{"expression without tokens", []string{"BT-API-KEY", e.useKey, "BT-PROXY-URL", dest.URL, "X-Card", "{{ 26818785-547b-4b28-b0fa-531377e99f4e }}"}, 400},
	} {
		resp, body := e.raw(t, "POST", "/proxy", `{}`, tc.hdr...)
		var out struct {
			ProxyError struct {
				Status int    `json:"status"`
				Title  string `json:"title"`
			} `json:"proxy_error"`
		}
		json.Unmarshal(body, &out)
		if resp.StatusCode != tc.status || out.ProxyError.Status != tc.status || out.ProxyError.Title == "" ||
			resp.Header.Get("BT-PROXY-DESTINATION-STATUS") != "" {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if len(got) != 0 {
		t.Errorf("the destination was called by a refused request: %+v", <-got)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestPreconfiguredProxy(t *testing.T) {
	e := startLocal(t)
	dest, got := echoDestination(t)
	createProxy := func(body map[string]any) (id, pkey string) {
		t.Helper()
		resp, out := e.do(t, "POST", "/proxies", key, body)
		if resp.StatusCode != 201 {
			t.Fatalf("create: %d %v", resp.StatusCode, out)
		}
		return out["id"].(string), out["key"].(string)
	}
	// Two request transforms run in order (the second sees the first's header), then
	// the response transforms: code, then a mask over the code's output.
	_, pkey := createProxy(map[string]any{
		"name": "transforms", "destination_url": dest.URL + "/base", "require_auth": false,
		"configuration": map[string]string{"SUFFIX": "-configured"},
		"request_transforms": []any{
			map[string]any{"code": `module.exports = async (req) => ({ body: { ...req.args.body, step: 1 }, headers: { ...req.args.headers, 'X-Step': 'one' } })`},
			map[string]any{"type": "code", "code": `module.exports = async (req) => ({ body: { ...req.args.body, step: req.args.body.step + 1, seen: req.args.headers['X-Step'] + req.configuration.SUFFIX }, headers: req.args.headers })`},
		},
		"response_transforms": []any{
			map[string]any{"code": `module.exports = async (req) => ({ body: { card: req.args.body.card, dest: req.args.headers['X-Destination'] }, headers: { ...req.args.headers, 'X-Transformed': 'yes' } })`},
			map[string]any{"type": "mask", "matcher": "regex", "expression": `"card":"(\d{12})\d{4}"`, "replacement": "*"},
			map[string]any{"type": "append_json", "options": map[string]any{"location": "$.meta.via", "value": "reactord"}},
			map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Appended", "value": "1"}},
		},
	})
	for _, via := range []string{"header", "query"} {
		path, hdr := "/proxy/sub?x=1", []string{"BT-PROXY-KEY", pkey, "Content-Type", "application/json"}
		if via == "query" {
			path, hdr = "/proxy/sub?bt-proxy-key="+pkey+"&x=1", []string{"Content-Type", "application/json"}
		}
		// No BT-API-KEY: require_auth is false.
		resp, body := e.raw(t, "POST", path, `{"name":"Ann"}`, hdr...)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", via, resp.StatusCode, body)
		}
		r := <-got
		var sent map[string]any
		json.Unmarshal([]byte(r.body), &sent)
		if r.path != "/base/sub" || r.query != "x=1" || sent["name"] != "Ann" || sent["step"] != 2.0 || sent["seen"] != "one-configured" ||
			r.header.Get("X-Step") != "one" || r.header.Get("Bt-Proxy-Key") != "" {
			t.Errorf("%s: destination received %+v", via, r)
		}
		var out map[string]any
		json.Unmarshal(body, &out)
		if out["card"] != "************4242" || out["dest"] != "echo" || out["meta"].(map[string]any)["via"] != "reactord" ||
			resp.Header.Get("X-Transformed") != "yes" || resp.Header.Get("X-Appended") != "1" || resp.Header.Get("BT-PROXY-DESTINATION-STATUS") != "200" {
			t.Errorf("%s: response %v %s", via, resp.Header, body)
		}
	}

	// require_auth (the default) wants the API key.
	_, authKey := createProxy(map[string]any{"name": "auth", "destination_url": dest.URL})
	if resp, body := e.raw(t, "GET", "/proxy", "", "BT-PROXY-KEY", authKey); resp.StatusCode != 401 || !bytes.Contains(body, []byte("proxy_error")) {
		t.Errorf("require_auth without a key: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.raw(t, "GET", "/proxy", "", "BT-PROXY-KEY", authKey, "BT-API-KEY", e.useKey); resp.StatusCode != 200 {
		t.Errorf("require_auth with the key: %d %s", resp.StatusCode, body)
	}
	<-got

	// disable_detokenization passes {{ }} through as literal text.
	_, literalKey := createProxy(map[string]any{"name": "literal", "destination_url": dest.URL, "disable_detokenization": true})
	resp, body := e.raw(t, "POST", "/proxy", `{"t":"{{ not-a-token }}"}`, "BT-PROXY-KEY", literalKey, "BT-API-KEY", e.useKey, "Content-Type", "application/json")
	if r := <-got; resp.StatusCode != 200 || r.body != `{"t":"{{ not-a-token }}"}` {
		t.Errorf("disable_detokenization: %d %s; destination got %s", resp.StatusCode, body, r.body)
	}

	// A request transform that throws answers with the reactor error mapping, and the
	// destination is not called.
	_, throwKey := createProxy(map[string]any{"name": "thrower", "destination_url": dest.URL, "request_transforms": []any{map[string]any{
		"code": "module.exports = async () => { throw new (require('@basis-theory/basis-theory-reactor-formulas-sdk-js').BadRequestError)('card expired') }"}}})
	resp, body = e.raw(t, "POST", "/proxy", `{}`, "BT-PROXY-KEY", throwKey, "BT-API-KEY", e.useKey, "Content-Type", "application/json")
	var thrown struct {
		ProxyError map[string]any `json:"proxy_error"`
	}
	json.Unmarshal(body, &thrown)
	if resp.StatusCode != 400 || thrown.ProxyError["detail"] != "card expired" || thrown.ProxyError["status"] != 400.0 || resp.Header.Get("BT-PROXY-DESTINATION-STATUS") != "" {
		t.Errorf("throwing transform: %d %s", resp.StatusCode, body)
	}
	if len(got) != 0 {
		t.Errorf("the destination was called after a request transform failed: %+v", <-got)
	}
}

func TestProxyHostileTransforms(t *testing.T) {
	e := startLocal(t)
	dest, got := echoDestination(t)
	for _, tc := range []struct {
		name, code, typ string
		timeout         int
	}{
		{"loop", "module.exports = async () => { for (;;) {} }", "reactor_timeout", 1},
		{"memory bomb", "module.exports = async () => { const a = []; for (;;) a.push(new Array(1e5).fill(1.5)) }", "reactor_out_of_memory", 10},
	} {
		resp, out := e.do(t, "POST", "/proxies", key, map[string]any{"name": tc.name, "destination_url": dest.URL,
			"request_transforms": []any{map[string]any{"code": tc.code, "runtime": map[string]any{"image": "node-bt", "timeout": tc.timeout}}}})
		if resp.StatusCode != 201 {
			t.Fatalf("create: %d %v", resp.StatusCode, out)
		}
		resp, body := e.raw(t, "POST", "/proxy", `{}`, "BT-PROXY-KEY", out["key"].(string), "BT-API-KEY", e.useKey, "Content-Type", "application/json")
		var pe struct {
			ProxyError struct {
				Type   string `json:"type"`
				Status int    `json:"status"`
			} `json:"proxy_error"`
		}
		json.Unmarshal(body, &pe)
		if resp.StatusCode != 500 || pe.ProxyError.Type != tc.typ || pe.ProxyError.Status != 500 {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if len(got) != 0 {
		t.Errorf("the destination was called after a hostile transform: %+v", <-got)
	}
	// The service is healthy and still proxies.
	if resp, body := e.raw(t, "GET", "/healthz", ""); resp.StatusCode != 200 {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
	resp, out := e.do(t, "POST", "/proxies", key, map[string]any{"name": "fine", "destination_url": dest.URL,
		"request_transforms": []any{map[string]any{"code": "module.exports = async (req) => req.args"}}})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, out)
	}
	if resp, body := e.raw(t, "POST", "/proxy", `{"ok":1}`, "BT-PROXY-KEY", out["key"].(string), "BT-API-KEY", e.useKey, "Content-Type", "application/json"); resp.StatusCode != 200 {
		t.Errorf("after the hostile transforms: %d %s", resp.StatusCode, body)
	}
	if r := <-got; r.body != `{"ok":1}` {
		t.Errorf("destination got %s", r.body)
	}
}

func TestProxyTokenTransforms(t *testing.T) {
	e := startLocal(t)
	dest, got := echoDestination(t)
	tk := e.newApp(t, "private", "token:create", "token:read", "token:reveal", "token:use")
	newToken := func(typ string, data any) string {
		t.Helper()
		resp, out := e.do(t, "POST", "/tokens", tk, map[string]any{"type": typ, "data": data})
		if resp.StatusCode != 201 {
			t.Fatalf("create token: %d %v", resp.StatusCode, out)
		}
		return out["id"].(string)
	}
	card := newToken("card", map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030})
	secret := newToken("token", "s3cret")

	// Ephemeral: JSON body, header and text interpolation, | json: selection.
	body := `{"number": "{{ ` + card + ` | json: '$.number' }}", "card": "{{ ` + card + ` }}", "note": "secret={{ ` + secret + ` }}"}`
	resp, out := e.raw(t, "POST", "/proxy", body, "BT-API-KEY", tk, "BT-PROXY-URL", dest.URL, "Content-Type", "application/json",
		"X-Secret", "{{ "+secret+" }}")
	r := <-got
	want := `{"number": "4242424242424242", "card": {"expiration_month":12,"expiration_year":2030,"number":"4242424242424242"}, "note": "secret=s3cret"}`
	if resp.StatusCode != 200 || r.body != want || r.header.Get("X-Secret") != "s3cret" {
		t.Errorf("detokenized: %d %s; destination got %s %v", resp.StatusCode, out, r.body, r.header)
	}
	resp, out = e.raw(t, "POST", "/proxy", `{"a":"{{ 00000000-0000-0000-0000-000000000000 }}"}`, "BT-API-KEY", tk, "BT-PROXY-URL", dest.URL, "Content-Type", "application/json")
	if resp.StatusCode != 400 || !bytes.Contains(out, []byte("proxy_error")) || !bytes.Contains(out, []byte("00000000-0000-0000-0000-000000000000")) {
		t.Errorf("unknown token: %d %s", resp.StatusCode, out)
	}
	resp, out = e.raw(t, "POST", "/proxy", `{"a":"{{ bad expression ( }}"}`, "BT-API-KEY", tk, "BT-PROXY-URL", dest.URL, "Content-Type", "application/json")
	if resp.StatusCode != 400 || !bytes.Contains(out, []byte("proxy_error")) {
		t.Errorf("bad expression: %d %s", resp.StatusCode, out)
	}
	if len(got) != 0 {
		t.Errorf("the destination was called after a detokenization error: %+v", <-got)
	}

	// Pre-configured: a request tokenize transform from {{ req.* }}, a response one
	// from {{ res.* }}, and references to both in append_json and append_header.
	resp2, px := e.do(t, "POST", "/proxies", key, map[string]any{
		"name": "tokenizing", "destination_url": dest.URL, "require_auth": false,
		"application": map[string]string{"id": e.newAppID(t, "private", "token:use", "token:create")},
		"request_transforms": []any{map[string]any{"type": "tokenize", "options": map[string]any{
			"identifier": "in", "token": map[string]any{"type": "token", "data": "{{ req.name }}"}}}},
		"response_transforms": []any{
			map[string]any{"type": "tokenize", "options": map[string]any{"identifier": "out", "token": map[string]any{"type": "card_number", "data": "{{ res.card }}"}}},
			map[string]any{"type": "mask", "matcher": "regex", "expression": `"card":"(\d+)"`, "replacement": "*"},
			map[string]any{"type": "append_json", "options": map[string]any{"location": "$.tokens.card", "value": "{{ transform_identifier: 'out' | json: '$.id' }}"}},
			map[string]any{"type": "append_json", "options": map[string]any{"location": "$.tokens.masked", "value": "{{ transform_identifier: 'out' | json: '$.data' }}"}},
			map[string]any{"type": "append_header", "options": map[string]any{"location": "X-Name-Token", "value": "{{ transform_identifier: 'in' | json: '$.id' }}"}},
		},
	})
	if resp2.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp2.StatusCode, px)
	}
	resp, out = e.raw(t, "POST", "/proxy", `{"name":"Ann","card":"{{ `+secret+` }}"}`, "BT-PROXY-KEY", px["key"].(string), "Content-Type", "application/json")
	r = <-got
	if resp.StatusCode != 200 || r.body != `{"name":"Ann","card":"s3cret"}` {
		t.Fatalf("tokenizing proxy: %d %s; destination got %s", resp.StatusCode, out, r.body)
	}
	var res map[string]any
	json.Unmarshal(out, &res)
	toks, _ := res["tokens"].(map[string]any)
	cardID, _ := toks["card"].(string)
	if res["card"] != "****************" || toks["masked"] != "XXXXXXXXXXXX4242" || cardID == "" {
		t.Fatalf("response %s", out)
	}
	_, tok := e.do(t, "GET", "/tokens/"+cardID, tk, nil)
	if tok["data"] != "4242424242424242" || tok["type"] != "card_number" { // tk may reveal
		t.Errorf("response token %v", tok)
	}
	nameID := resp.Header.Get("X-Name-Token")
	if resp, tok := e.do(t, "GET", "/tokens/"+nameID, tk, nil); resp.StatusCode != 200 || tok["type"] != "token" {
		t.Errorf("request token %q: %d %v", nameID, resp.StatusCode, tok)
	}
}

// TestProxyNode22Transform: a node22 code transform is built like a node22 reactor
// (creating -> active), gets the whole request in event.req, and an update that
// fails to build leaves the proxy outdated with the last good transform serving.
func TestProxyNode22Transform(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	cache, _ := os.UserCacheDir()
	e := start(t, func(o *service.Config) {
		o.ProxyAllowHTTP, o.EgressAllowPrivate = true, true
		o.Build = service.BuildConfig{CacheDir: filepath.Join(cache, "reactord-test", "build")}
	})
	dest, got := echoDestination(t)
	transform := func(deps map[string]string) []any {
		return []any{map[string]any{"type": "code", "runtime": map[string]any{"image": "node22", "dependencies": deps},
			"code": `const dayjs = require('dayjs');
module.exports = async (event) => ({ body: { ...event.req.body, method: event.req.method, path: event.req.path, year: dayjs(0).year() }, headers: event.req.headers });`}}
	}
	resp, px := e.do(t, "POST", "/proxies", key, map[string]any{"name": "node22 proxy", "destination_url": dest.URL, "require_auth": false,
		"request_transforms": transform(map[string]string{"dayjs": "1.11.13"})})
	if resp.StatusCode != 201 || px["state"] != "creating" {
		t.Fatalf("create: %d %v", resp.StatusCode, px)
	}
	id, pkey := px["id"].(string), px["key"].(string)
	if resp, body := e.raw(t, "POST", "/proxy", `{}`, "BT-PROXY-KEY", pkey, "Content-Type", "application/json"); resp.StatusCode != 409 || !bytes.Contains(body, []byte("proxy_error")) {
		t.Errorf("invoke while creating: %d %s", resp.StatusCode, body)
	}
	wait := func(from string) map[string]any {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_, rec := e.do(t, "GET", "/proxies/"+id, key, nil)
			if rec["state"] != from || time.Now().After(deadline) {
				return rec
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if rec := wait("creating"); rec["state"] != "active" {
		t.Fatalf("after the build: %v", rec)
	}
	call := func() {
		t.Helper()
		resp, body := e.raw(t, "POST", "/proxy/charges", `{"amount":5}`, "BT-PROXY-KEY", pkey, "Content-Type", "application/json")
		if resp.StatusCode != 200 {
			t.Fatalf("invoke: %d %s", resp.StatusCode, body)
		}
		if r := <-got; !sameBody("application/json", r.body, `{"amount":5,"method":"POST","path":"/charges","year":1970}`) {
			t.Errorf("destination got %s", r.body)
		}
	}
	call()
	resp, _ = e.do(t, "PUT", "/proxies/"+id, key, map[string]any{"name": "node22 proxy", "destination_url": dest.URL, "require_auth": false,
		"request_transforms": transform(map[string]string{"dayjs": "0.0.404"})})
	if resp.StatusCode != 200 {
		t.Fatalf("update: %d", resp.StatusCode)
	}
	rec := wait("updating")
	if req, _ := rec["requested"].(map[string]any); rec["state"] != "outdated" || req["error_code"] == nil {
		t.Fatalf("after the failed update: %v", rec)
	}
	call() // the last good transform keeps serving
}
