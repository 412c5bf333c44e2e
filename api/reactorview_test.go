package api_test

import (
	"net/url"
	"testing"
)

// TestReactorViews: GET /reactors?name= matches a part of the name in any case, a
// runtime object shows the values in effect, and a node22 reactor being created
// shows its state and requested deployment, not the pending code at the top level.
func TestReactorViews(t *testing.T) {
	e := start(t)
	code := "module.exports = async () => ({ raw: 1 })"
	for _, name := range []string{"Card Masker", "card lookup", "Other"} {
		if resp, out := e.do(t, "POST", "/reactors", key, map[string]any{"name": name, "code": code}); resp.StatusCode != 201 {
			t.Fatalf("create %s: %d %v", name, resp.StatusCode, out)
		}
	}
	for _, tc := range []struct {
		query string
		n     int
	}{{"CARD", 2}, {"mask", 1}, {"card lookup", 1}, {"zzz", 0}, {"", 3}} {
		_, list := e.do(t, "GET", "/reactors?name="+url.QueryEscape(tc.query), key, nil)
		if data, _ := list["data"].([]any); len(data) != tc.n {
			t.Errorf("name=%q: %d reactors, want %d", tc.query, len(data), tc.n)
		}
	}

	resp, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "rt", "code": code, "runtime": map[string]any{"image": "node-bt"}})
	if resp.StatusCode != 201 {
		t.Fatalf("create with a runtime: %d %v", resp.StatusCode, rec)
	}
	_, got := e.do(t, "GET", "/reactors/"+rec["id"].(string), key, nil)
	rt, _ := got["runtime"].(map[string]any)
	if rt["image"] != "node-bt" || rt["timeout"] != 10.0 || rt["resources"] != "standard" || rt["warm_concurrency"] != 0.0 ||
		rt["dependencies"] == nil || len(rt["dependencies"].(map[string]any)) != 0 || rt["permissions"] == nil || len(rt["permissions"].([]any)) != 0 {
		t.Errorf("effective runtime: %v", rt)
	}

	resp, creating := e.do(t, "POST", "/reactors", key, map[string]any{"name": "n22", "code": code, "configuration": map[string]string{"A": "b"},
		"runtime": map[string]any{"image": "node22", "permissions": []string{"token:create"}}})
	if resp.StatusCode != 201 || creating["state"] != "creating" {
		t.Fatalf("create node22: %d %v", resp.StatusCode, creating)
	}
	req, _ := creating["requested"].(map[string]any)
	pending, _ := req["reactor"].(map[string]any)
	prt, _ := pending["runtime"].(map[string]any)
	if creating["code"] != nil || creating["runtime"] != nil || creating["configuration"] != nil || pending["code"] != code ||
		prt["timeout"] != 10.0 || prt["resources"] != "standard" || creating["id"] == nil || creating["created_at"] == nil {
		t.Errorf("creating body: %v", creating)
	}
}
