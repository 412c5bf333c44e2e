package api_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestAccessRulesPerContainer: an application's access rules scope each permission
// to containers, for reading tokens, deleting them, creating them and detokenizing
// them in reactors and proxies; plain permissions act over every container.
func TestAccessRulesPerContainer(t *testing.T) {
	e := startLocal(t)
	admin := e.newApp(t, "private", "token:create", "token:read", "token:reveal", "token:use", "token:delete")
	_, card := e.do(t, "POST", "/tokens", admin, map[string]any{"type": "card_number", "data": "4242424242424242"})
	_, ssn := e.do(t, "POST", "/tokens", admin, map[string]any{"type": "social_security_number", "data": "123-45-6789"})
	cardID, ssnID := card["id"].(string), ssn["id"].(string)

	rulesApp := func(rules ...map[string]any) string {
		t.Helper()
		resp, app := e.do(t, "POST", "/applications", key, map[string]any{"name": "scoped", "type": "private", "rules": rules})
		if resp.StatusCode != 201 {
			t.Fatalf("application: %d %v", resp.StatusCode, app)
		}
		return app["key"].(string)
	}
	// pci reveals and detokenizes cards only; pii masks SSNs and may delete them.
	pci := rulesApp(map[string]any{"priority": 1, "container": "/pci/", "transform": "reveal", "permissions": []string{"token:read", "token:use", "token:create"}})
	// Creating children needs token:read too, which the rule grants on /pci/ only.
	pii := rulesApp(map[string]any{"priority": 1, "container": "/pii/", "transform": "mask", "permissions": []string{"token:read", "token:delete"}},
		map[string]any{"priority": 2, "container": "/pii/", "transform": "redact", "permissions": []string{"token:read"}})

	cases := []struct {
		name, method, path, key string
		body                    any
		status                  int
		data                    any // expected "data" when status is 200 (nil: absent)
	}{
		{"pci reads a card in plaintext", "GET", "/tokens/" + cardID, pci, nil, 200, "4242424242424242"},
		{"pci cannot read an SSN", "GET", "/tokens/" + ssnID, pci, nil, 403, nil},
		{"pii reads an SSN masked (its first rule)", "GET", "/tokens/" + ssnID, pii, nil, 200, "XXX-XX-6789"},
		{"pii cannot read a card", "GET", "/tokens/" + cardID, pii, nil, 403, nil},
		{"pii cannot delete a card", "DELETE", "/tokens/" + cardID, pii, nil, 403, nil},
		{"pci creates a card", "POST", "/tokens", pci, map[string]any{"type": "card_number", "data": "5555555555554444"}, 201, nil},
		{"pci cannot create an SSN", "POST", "/tokens", pci, map[string]any{"type": "social_security_number", "data": "987-65-4321"}, 403, nil},
		{"plain permissions cover every container", "GET", "/tokens/" + ssnID, admin, nil, 200, "123-45-6789"},
		{"pci cannot tokenize an SSN", "POST", "/tokenize", pci, map[string]any{"ssn": map[string]any{"type": "social_security_number", "data": "987-65-4321"}}, 403, nil},
		{"pci tokenizes a card", "POST", "/tokenize", pci, map[string]any{"type": "card_number", "data": "4000056655665556"}, 201, nil},
		{"pci cannot create an SSN child", "POST", "/tokens/" + cardID + "/children", pci, map[string]any{"type": "social_security_number", "data": "987-65-4321"}, 403, nil},
	}
	for _, tc := range cases {
		resp, out := e.do(t, tc.method, tc.path, tc.key, tc.body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %v, want %d", tc.name, resp.StatusCode, out, tc.status)
			continue
		}
		if tc.status == 200 && out["data"] != tc.data {
			t.Errorf("%s: data %v, want %v", tc.name, out["data"], tc.data)
		}
	}

	// A reactor result's tokenize block is refused where the caller may not create.
	_, tk := e.do(t, "POST", "/reactors", key, map[string]any{"name": "tokenize-ssn",
		"code": `module.exports = async () => ({ raw: 1, tokenize: { s: { type: 'social_security_number', data: '987-65-4321' } } })`})
	if resp, out := e.do(t, "POST", "/reactors/"+tk["id"].(string)+"/react", pci, map[string]any{"args": nil}); resp.StatusCode != 403 {
		t.Errorf("pci tokenizing an SSN from a result: %d %v", resp.StatusCode, out)
	}

	// Detokenizing in a reactor needs token:use on the token's containers.
	_, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "echo", "code": `module.exports = async (req) => ({ raw: req.args })`})
	react := func(ref string) (int, map[string]any) {
		resp, out := e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", pci, map[string]any{"args": map[string]string{"v": "{{ " + ref + " }}"}})
		return resp.StatusCode, out
	}
	if status, out := react(cardID); status != 200 || out["raw"].(map[string]any)["v"] != "4242424242424242" {
		t.Errorf("pci detokenizing a card: %d %v", status, out)
	}
	if status, out := react(ssnID); status != 403 {
		t.Errorf("pci detokenizing an SSN: %d %v (the SSN must not reach the reactor)", status, out)
	}

	// And in a proxy: the destination is never called with the SSN.
	var calls atomic.Int32
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer dst.Close()
	resp, out := e.do(t, "POST", "/proxy", pci, map[string]any{"ssn": "{{ " + ssnID + " }}"}, "BT-PROXY-URL", dst.URL)
	if resp.StatusCode != 403 || calls.Load() != 0 {
		t.Errorf("pci detokenizing an SSN through the proxy: %d %v, destination called %d times", resp.StatusCode, out, calls.Load())
	}
}
