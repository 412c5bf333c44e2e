package api_test

import (
	"testing"
)

// selfCaller calls itself through its Basis Theory client (bt.internal) with the
// path in configuration PATH, one level deeper each time, and reports each level.
const selfCaller = `module.exports = async (req) => {
  const depth = (req.args && req.args.depth) || 1;
  const r = await fetch('http://bt.internal/reactors/' + req.configuration.SELF + req.configuration.PATH, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ args: { depth: depth + 1 } }) });
  return { raw: { depth, status: r.status, inner: await r.json() } };
};`

// selfReactor creates a node-bt reactor running selfCaller with an application that
// may react, pointed at itself.
func selfReactor(t *testing.T, e env, path string) string {
	t.Helper()
	resp, app := e.do(t, "POST", "/applications", key, map[string]any{"name": "caller", "type": "private", "permissions": []string{"token:use"}})
	if resp.StatusCode != 201 {
		t.Fatalf("application: %d %v", resp.StatusCode, app)
	}
	appRef := map[string]string{"id": app["id"].(string)}
	_, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "self", "code": selfCaller, "application": appRef})
	id := rec["id"].(string)
	resp, rec = e.do(t, "PUT", "/reactors/"+id, key, map[string]any{"name": "self", "code": selfCaller, "application": appRef,
		"configuration": map[string]string{"SELF": id, "PATH": path}})
	if resp.StatusCode != 200 {
		t.Fatalf("update: %d %v", resp.StatusCode, rec)
	}
	return id
}

// TestNestedReactDepth: a reactor calling reactors through its client works (the
// bridge serves the nested call while the outer one waits) and stops at the depth
// limit with a 400 instead of running until its timeout or forever.
func TestNestedReactDepth(t *testing.T) {
	e := start(t)
	id := selfReactor(t, e, "/react")
	resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": map[string]int{"depth": 1}})
	if resp.StatusCode != 200 {
		t.Fatalf("react: %d %v", resp.StatusCode, out)
	}
	level := out
	for want := 1; want <= 3; want++ {
		raw, _ := level["raw"].(map[string]any)
		if raw == nil || raw["depth"] != float64(want) {
			t.Fatalf("level %d: %v (whole answer %v)", want, level, out)
		}
		inner, _ := raw["inner"].(map[string]any)
		if want < 3 {
			if raw["status"] != float64(200) {
				t.Fatalf("level %d called level %d: %v", want, want+1, raw)
			}
			level = inner
			continue
		}
		if raw["status"] != float64(400) || inner["detail"] != "reactors may call reactors at most 3 deep" {
			t.Fatalf("level 3 was let call deeper: %v", raw)
		}
	}
}

// TestSandboxCannotEnqueue: reactor code cannot start react-async requests, which
// would run after its key was revoked (and, re-enqueueing themselves, forever).
func TestSandboxCannotEnqueue(t *testing.T) {
	e := start(t)
	id := selfReactor(t, e, "/react-async")
	resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": map[string]int{"depth": 1}})
	raw, _ := out["raw"].(map[string]any)
	if resp.StatusCode != 200 || raw == nil || raw["status"] != float64(403) {
		t.Fatalf("react-async from reactor code: %d %v", resp.StatusCode, out)
	}
	// An API key still enqueues.
	if resp, out := e.do(t, "POST", "/reactors/"+id+"/react-async", e.useKey, map[string]any{"args": nil}); resp.StatusCode != 202 {
		t.Fatalf("react-async with an API key: %d %v", resp.StatusCode, out)
	}
}

// TestTokenizeNeedsCreate: a result's tokenize block creates tokens only for a
// caller that may create them, as POST /tokens requires.
func TestTokenizeNeedsCreate(t *testing.T) {
	e := start(t)
	useOnly := e.newApp(t, "private", "token:use")
	_, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "tokenizer",
		"code": `module.exports = async () => ({ raw: 'r', tokenize: { t: { type: 'token', data: 'planted' } } })`})
	id := rec["id"].(string)
	if resp, out := e.do(t, "POST", "/reactors/"+id+"/react", useOnly, map[string]any{"args": nil}); resp.StatusCode != 403 {
		t.Fatalf("tokenize with token:use only: %d %v", resp.StatusCode, out)
	}
	if resp, out := e.do(t, "POST", "/tokens", useOnly, map[string]any{"type": "token", "data": "x"}); resp.StatusCode != 403 {
		t.Fatalf("POST /tokens with token:use only: %d %v", resp.StatusCode, out)
	}
	resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": nil})
	toks, _ := out["tokens"].(map[string]any)
	if resp.StatusCode != 200 || toks["t"] == nil {
		t.Fatalf("tokenize with token:create: %d %v", resp.StatusCode, out)
	}
}
