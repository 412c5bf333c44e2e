package api_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
)

// TestSandboxClient: reactor code's req.bt / event.bt (the real basis-theory-js SDK)
// creates, reads and deletes tokens through the API with the attached application's
// or runtime.permissions' rights, never holding a key; without a grant it is null and
// bt.internal refuses.
func TestSandboxClient(t *testing.T) {
	cache, _ := os.UserCacheDir()
	e := start(t, func(o *service.Config) {
		o.Build = service.BuildConfig{CacheDir: filepath.Join(cache, "reactord-test", "build")}
	})
	resp, app := e.do(t, "POST", "/applications", key, map[string]any{"name": "reactor app", "type": "private",
		"permissions": []string{"token:create", "token:read", "token:reveal", "token:delete"}})
	if resp.StatusCode != 201 {
		t.Fatalf("application: %d %v", resp.StatusCode, app)
	}
	code := `module.exports = async (req) => {
  const bt = req.bt;
  const token = await bt.tokens.create({ type: 'token', data: req.args.secret });
  const read = await bt.tokens.retrieve(token.id);
  await bt.tokens.delete(token.id);
  let after;
  try { await bt.tokens.retrieve(token.id); after = 'found'; } catch (e) { after = e.status; }
  return { raw: { id: token.id, data: read.data, after, keys: JSON.stringify(req).includes('key_') } };
};`
	_, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "bt", "code": code, "application": map[string]string{"id": app["id"].(string)}})
	resp, out := e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", e.useKey, map[string]any{"args": map[string]string{"secret": "s3cr3t"}})
	raw, _ := out["raw"].(map[string]any)
	if resp.StatusCode != 200 || raw["data"] != "s3cr3t" || raw["after"] != float64(404) || raw["keys"] != false {
		t.Fatalf("node-bt with an application: %d %v", resp.StatusCode, out)
	}

	// node22: runtime.permissions bound the client; token:create alone cannot read.
	code22 := `module.exports = async (event) => {
  const token = await event.bt.tokens.create({ type: 'token', data: 'x' });
  try { await event.bt.tokens.retrieve(token.id); return { raw: 'read' }; } catch (e) { return { raw: { created: !!token.id, status: e.status } }; }
};`
	_, rec = e.do(t, "POST", "/reactors", key, map[string]any{"name": "bt22", "code": code22,
		"runtime": map[string]any{"image": "node22", "permissions": []string{"token:create"}}})
	id22 := rec["id"].(string)
	deadline := time.Now().Add(2 * time.Minute)
	for rec["state"] != "active" {
		if time.Now().After(deadline) {
			t.Fatalf("node22 build: %v", rec)
		}
		time.Sleep(100 * time.Millisecond)
		_, rec = e.do(t, "GET", "/reactors/"+id22, key, nil)
	}
	resp, out = e.do(t, "POST", "/reactors/"+id22+"/react", e.useKey, map[string]any{"args": nil})
	if raw, _ := out["raw"].(map[string]any); resp.StatusCode != 200 || raw["created"] != true || raw["status"] != float64(403) {
		t.Fatalf("node22 with token:create: %d %v", resp.StatusCode, out)
	}

	// No grant: bt is null and the bridge refuses direct calls.
	_, rec = e.do(t, "POST", "/reactors", key, map[string]any{"name": "nobt", "code": `module.exports = async (req) => {
  const r = await fetch('http://bt.internal/tokens', { method: 'POST', headers: { 'content-type': 'application/json', 'bt-api-key': 'key_reactord_sandbox' }, body: '{"type":"token","data":"x"}' });
  return { raw: { bt: req.bt, status: r.status } };
}`})
	resp, out = e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", e.useKey, map[string]any{"args": nil})
	if raw, _ := out["raw"].(map[string]any); resp.StatusCode != 200 || raw["bt"] != nil || raw["status"] != float64(403) {
		t.Fatalf("no grant: %d %v", resp.StatusCode, out)
	}
}
