package api_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// TestProxyTokens: the proxy detokenizes JSON, form and text bodies and headers with
// the caller's tokens, leaves them alone with disable_detokenization, and tokenize
// transforms create tokens that later transforms reference.
func TestProxyTokens(t *testing.T) {
	e := startLocal(t)
	tk := e.newApp(t, "private", "token:create", "token:read", "token:reveal", "token:use")
	dest, got := echoDestination(t)
	_, card := e.do(t, "POST", "/tokens", tk, map[string]any{"type": "card", "data": map[string]any{"number": "4111111111111111", "expiration_month": 1, "expiration_year": 2031}})
	id := card["id"].(string)

	for _, tc := range []struct {
		name, ct, body, want string
	}{
		{"json", "application/json", `{"pan":"{{ ` + id + ` | json: '$.number' }}","card":"{{ ` + id + ` }}","note":"exp {{ ` + id + ` | json: '$.expiration_year' }}"}`,
			`{"pan":"4111111111111111","card":{"number":"4111111111111111","expiration_month":1,"expiration_year":2031},"note":"exp 2031"}`},
		{"form", "application/x-www-form-urlencoded", "pan=" + url.QueryEscape("{{ "+id+" | json: '$.number' }}") + "&x=1", "pan=4111111111111111&x=1"},
		{"text", "text/plain", "card {{ " + id + " | json: '$.number' }}", "card 4111111111111111"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.raw(t, "POST", "/proxy", tc.body, "BT-API-KEY", tk, "BT-PROXY-URL", dest.URL, "Content-Type", tc.ct,
				"X-Pan", "{{ "+id+" | json: '$.number' }}")
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			r := <-got
			if !sameBody(tc.ct, r.body, tc.want) || r.header.Get("X-Pan") != "4111111111111111" {
				t.Errorf("destination got %q (X-Pan %q), want %q", r.body, r.header.Get("X-Pan"), tc.want)
			}
		})
	}
	resp, body := e.raw(t, "POST", "/proxy", `{"x":"{{ 00000000-0000-0000-0000-000000000000 }}"}`, "BT-API-KEY", tk, "BT-PROXY-URL", dest.URL, "Content-Type", "application/json")
	var pe struct {
		ProxyError struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		} `json:"proxy_error"`
	}
	json.Unmarshal(body, &pe)
	if resp.StatusCode != 400 || pe.ProxyError.Status != 400 || !strings.Contains(pe.ProxyError.Detail, "00000000-0000-0000-0000-000000000000") {
		t.Errorf("unknown token: %d %s", resp.StatusCode, body)
	}

	// A pre-configured proxy: the request's secret becomes a token (the destination
	// sees its id), and the response carries the token id appended.
	resp2, px := e.do(t, "POST", "/proxies", key, map[string]any{"name": "tokenizing", "destination_url": dest.URL,
		"request_transforms": []any{
			map[string]any{"type": "tokenize", "options": map[string]any{"identifier": "secret", "token": map[string]any{"type": "token", "data": "{{ req.secret }}"}}},
			map[string]any{"code": `module.exports = async (req) => ({ body: { secret: 'redacted' }, headers: req.args.headers })`},
		},
		"response_transforms": []any{
			map[string]any{"type": "append_json", "options": map[string]any{"location": "$.meta.secret_token", "value": "{{ transform_identifier: 'secret' | json: '$.id' }}"}},
		}})
	if resp2.StatusCode != 201 {
		t.Fatalf("create proxy: %d %v", resp2.StatusCode, px)
	}
	resp, body = e.raw(t, "POST", "/proxy", `{"secret":"hunter2"}`, "BT-PROXY-KEY", px["key"].(string), "BT-API-KEY", tk, "Content-Type", "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("tokenizing proxy: %d %s", resp.StatusCode, body)
	}
	if r := <-got; r.body != `{"secret":"redacted"}` {
		t.Errorf("destination got %s", r.body)
	}
	var out struct {
		Meta struct {
			SecretToken string `json:"secret_token"`
		} `json:"meta"`
	}
	json.Unmarshal(body, &out)
	_, tok := e.do(t, "GET", "/tokens/"+out.Meta.SecretToken, tk, nil)
	if tok["data"] != "hunter2" {
		t.Errorf("token %q: %v (body %s)", out.Meta.SecretToken, tok, body)
	}

	// disable_detokenization forwards expressions as they are.
	_, raw := e.do(t, "POST", "/proxies", key, map[string]any{"name": "raw", "destination_url": dest.URL, "disable_detokenization": true})
	resp, body = e.raw(t, "POST", "/proxy", `{"pan":"{{ `+id+` }}"}`, "BT-PROXY-KEY", raw["key"].(string), "BT-API-KEY", tk, "Content-Type", "application/json")
	if r := <-got; resp.StatusCode != 200 || r.body != `{"pan":"{{ `+id+` }}"}` {
		t.Errorf("disable_detokenization: %d %s, destination got %s", resp.StatusCode, body, r.body)
	}
}

// sameBody compares JSON bodies by value (key order aside), others by text.
func sameBody(ct, got, want string) bool {
	if ct != "application/json" {
		return got == want
	}
	var g, w any
	return json.Unmarshal([]byte(got), &g) == nil && json.Unmarshal([]byte(want), &w) == nil && reflect.DeepEqual(g, w)
}
