package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestApplications walks an application's life through the API: validation, creation
// with a key shown once, authentication with that key, listing and filters, update,
// key regeneration (the old key stops working), extra keys, and deletion.
func TestApplications(t *testing.T) {
	e := start(t)
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"missing name", map[string]any{"type": "private", "permissions": []string{"token:use"}}, "name"},
		{"unknown type", map[string]any{"name": "a", "type": "robot", "permissions": []string{"token:use"}}, "type"},
		{"no permissions", map[string]any{"name": "a", "type": "private"}, "permissions"},
		{"unknown permission", map[string]any{"name": "a", "type": "private", "permissions": []string{"token:fly"}}, "permissions"},
		{"permission of another type", map[string]any{"name": "a", "type": "public", "permissions": []string{"token:use"}}, "permissions"},
		{"management permission on private", map[string]any{"name": "a", "type": "private", "permissions": []string{"reactor:create"}}, "permissions"},
		{"bad rule transform", map[string]any{"name": "a", "type": "private", "rules": []map[string]any{{"priority": 1, "transform": "melt", "permissions": []string{"token:read"}}}}, "rules[0].transform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := e.do(t, "POST", "/applications", key, tc.body)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d: %v", resp.StatusCode, out)
			}
			if errs, _ := out["errors"].(map[string]any); errs[tc.field] == nil {
				t.Errorf("errors %v lack %s", out["errors"], tc.field)
			}
		})
	}

	resp, app := e.do(t, "POST", "/applications", key, map[string]any{"name": "backend", "type": "management", "permissions": []string{"reactor:read", "application:read"}})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, app)
	}
	id, appKey := app["id"].(string), app["key"].(string)
	if keys, _ := app["keys"].([]any); len(keys) != 1 || keys[0].(map[string]any)["key"] != appKey {
		t.Errorf("keys = %v", app["keys"])
	}
	// The new key authenticates with its own permissions only.
	if resp, out := e.do(t, "GET", "/reactors", appKey, nil); resp.StatusCode != 200 {
		t.Errorf("list reactors with the new key: %d %v", resp.StatusCode, out)
	}
	if resp, _ := e.do(t, "POST", "/applications", appKey, map[string]any{"name": "x", "type": "private", "permissions": []string{"token:use"}}); resp.StatusCode != 403 {
		t.Errorf("create without application:create: %d", resp.StatusCode)
	}
	resp, self := e.do(t, "GET", "/applications/key", appKey, nil)
	if resp.StatusCode != 200 || self["id"] != id || self["key"] != nil {
		t.Errorf("applications/key: %d %v", resp.StatusCode, self)
	}
	resp, got := e.do(t, "GET", "/applications/"+id, key, nil)
	if resp.StatusCode != 200 || got["key"] != nil || got["name"] != "backend" {
		t.Errorf("get: %d %v (the key must not be shown again)", resp.StatusCode, got)
	}
	resp, list := e.do(t, "GET", "/applications?type=management&size=1&page=1", key, nil)
	if resp.StatusCode != 200 || list["pagination"].(map[string]any)["total_items"] != float64(2) || len(list["data"].([]any)) != 1 {
		t.Errorf("list: %d %v", resp.StatusCode, list)
	}
	resp, list = e.do(t, "GET", "/applications?id="+id, key, nil)
	if data, _ := list["data"].([]any); resp.StatusCode != 200 || len(data) != 1 {
		t.Errorf("list by id: %d %v", resp.StatusCode, list)
	}

	resp, upd := e.do(t, "PUT", "/applications/"+id, key, map[string]any{"name": "backend 2", "permissions": []string{"application:read"}})
	if resp.StatusCode != 200 || upd["name"] != "backend 2" {
		t.Fatalf("update: %d %v", resp.StatusCode, upd)
	}
	if resp, _ := e.do(t, "GET", "/reactors", appKey, nil); resp.StatusCode != 403 {
		t.Errorf("a removed permission still works: %d", resp.StatusCode)
	}

	resp, regen := e.do(t, "POST", "/applications/"+id+"/regenerate", key, nil)
	if resp.StatusCode != 200 || regen["key"] == nil || regen["key"] == appKey {
		t.Fatalf("regenerate: %d %v", resp.StatusCode, regen)
	}
	if resp, _ := e.do(t, "GET", "/applications/key", appKey, nil); resp.StatusCode != 401 {
		t.Errorf("the old key still authenticates: %d", resp.StatusCode)
	}
	newKey := regen["key"].(string)
	if resp, _ := e.do(t, "GET", "/applications/key", newKey, nil); resp.StatusCode != 200 {
		t.Errorf("the regenerated key does not authenticate: %d", resp.StatusCode)
	}

	resp, extra := e.do(t, "POST", "/applications/"+id+"/keys", key, nil)
	if resp.StatusCode != 200 || extra["key"] == nil {
		t.Fatalf("add key: %d %v", resp.StatusCode, extra)
	}
	if resp, _ := e.do(t, "DELETE", "/applications/"+id+"/keys/"+extra["id"].(string), key, nil); resp.StatusCode != 204 {
		t.Errorf("delete key: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/applications/key", extra["key"].(string), nil); resp.StatusCode != 401 {
		t.Errorf("a deleted key still authenticates: %d", resp.StatusCode)
	}

	if resp, _ := e.do(t, "DELETE", "/applications/"+id, key, nil); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/applications/key", newKey, nil); resp.StatusCode != 401 {
		t.Errorf("a deleted application's key still authenticates: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/applications/"+id, key, nil); resp.StatusCode != 404 {
		t.Errorf("get deleted: %d", resp.StatusCode)
	}
}

func TestPermissions(t *testing.T) {
	e := start(t)
	for _, tc := range []struct {
		query    string
		status   int
		contains string
		excludes string
	}{
		{"", 200, "token:use", ""},
		{"?application_type=private", 200, "token:use", "reactor:create"},
		{"?application_type=management", 200, "reactor:create", "token:use"},
		{"?application_type=robot", 400, "", ""},
	} {
		req, _ := http.NewRequest("GET", e.url+"/permissions"+tc.query, nil)
		req.Header.Set("BT-API-KEY", e.useKey) // any authenticated application may list them
		resp, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var perms []struct {
			Type string `json:"type"`
		}
		if resp.StatusCode == 200 {
			decodeBody(t, resp, &perms)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s: status %d", tc.query, resp.StatusCode)
		}
		has := map[string]bool{}
		for _, p := range perms {
			has[p.Type] = true
		}
		if tc.contains != "" && !has[tc.contains] {
			t.Errorf("%s: %s missing", tc.query, tc.contains)
		}
		if tc.excludes != "" && has[tc.excludes] {
			t.Errorf("%s: %s present", tc.query, tc.excludes)
		}
	}
}

func decodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
