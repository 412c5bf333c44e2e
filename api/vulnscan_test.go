package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/osvtest"
	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/webhooks"
)

// TestContinuousScan runs the service against an OSV database that changes during
// the test: a reactor deployed clean, the database then gains an advisory for its
// dependency, the finding appears on GET and a webhook receiver gets the signed event
// once; the update that fixes the dependency clears the finding.
func TestContinuousScan(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	cache, _ := os.UserCacheDir()
	db := t.TempDir()
	if _, err := osvtest.WriteDB(db, "GHSA-pw2r-vq6v-hr8c"); err != nil { // nothing against lodash yet
		t.Fatal(err)
	}
	e := start(t, func(o *service.Config) {
		o.Build = service.BuildConfig{CacheDir: filepath.Join(cache, "reactord-test", "build"), OSVDB: db, OSVRequired: true,
			RescanPoll: 100 * time.Millisecond}
		o.EgressAllowPrivate = true // the webhook receiver is a local server
	})

	type delivery struct {
		body []byte
		sig  string
	}
	var mu sync.Mutex
	var got []delivery
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{b, r.Header.Get("BT-SIGNATURE")})
		mu.Unlock()
	}))
	defer receiver.Close()
	resp, hook := e.do(t, "POST", "/webhooks", key, map[string]any{"name": "security", "url": receiver.URL,
		"events": []string{"reactor.vulnerabilities_discovered"}})
	if resp.StatusCode != 201 || hook["status"] != "enabled" || !strings.HasPrefix(hook["signing_secret"].(string), "whsec_") {
		t.Fatalf("create webhook: %d %v", resp.StatusCode, hook)
	}
	secret := hook["signing_secret"].(string)
	if _, again := e.do(t, "GET", "/webhooks/"+hook["id"].(string), key, nil); again["signing_secret"] != nil || again["name"] != "security" {
		t.Errorf("GET shows %v; the secret is shown once", again)
	}

	code := `const _ = require('lodash'); module.exports = async () => ({ raw: _.VERSION });`
	deploy := func(method, path, version string) map[string]any {
		t.Helper()
		resp, rec := e.do(t, method, path, key, map[string]any{"name": "lodash", "code": code,
			"runtime": map[string]any{"image": "node22", "dependencies": map[string]string{"lodash": version}}})
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, rec)
		}
		return rec
	}
	rec := deploy("POST", "/reactors", "4.17.20")
	id := rec["id"].(string)
	if rec = e.waitState(t, id, "creating"); rec["state"] != "active" || rec["vulnerabilities"] != nil {
		t.Fatalf("clean deployment: %v", rec)
	}

	// The database gains the lodash advisory: the next poll sees the file change.
	if _, err := osvtest.WriteDB(db, "GHSA-pw2r-vq6v-hr8c", "GHSA-35jh-r3h4-6jhm"); err != nil {
		t.Fatal(err)
	}
	var found []any
	for deadline := time.Now().Add(30 * time.Second); len(found) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no finding recorded after the database changed")
		}
		time.Sleep(100 * time.Millisecond)
		_, rec = e.do(t, "GET", "/reactors/"+id, key, nil)
		found, _ = rec["vulnerabilities"].([]any)
	}
	v := found[0].(map[string]any)
	if len(found) != 1 || v["name"] != "lodash" || v["version"] != "4.17.20" || v["severity"] != "HIGH" || v["id"] != "CVE-2021-23337" ||
		strings.Join(toStrings(v["dependency_path"]), ">") != "lodash" || v["discovered_at"] == nil {
		t.Errorf("vulnerabilities = %v", found)
	}
	if status, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{}); status.StatusCode != 200 {
		t.Errorf("react with a HIGH finding (no blocking policy): %d %v", status.StatusCode, out)
	}
	if m := metrics(t, e); !strings.Contains(m, `reactord_vulnerabilities_open{severity="HIGH"} 1`) {
		t.Errorf("metrics lack the open finding:\n%s", grep(m, "reactord_vulnerabilities_open"))
	}

	// The webhook receives the signed event once.
	for deadline := time.Now().Add(30 * time.Second); ; {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no webhook delivery")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // further polls must not send it again
	mu.Lock()
	deliveries := append([]delivery(nil), got...)
	mu.Unlock()
	if len(deliveries) != 1 {
		t.Fatalf("%d deliveries, want 1", len(deliveries))
	}
	if !webhooks.Verify(secret, deliveries[0].body, deliveries[0].sig) {
		t.Errorf("signature %q does not verify", deliveries[0].sig)
	}
	var body struct {
		Event struct {
			ID, Type string
			TenantID string `json:"tenant_id"`
			Data     struct {
				Reactor         struct{ ID, Name string } `json:"reactor"`
				Vulnerabilities []map[string]any          `json:"vulnerabilities"`
			} `json:"data"`
		} `json:"event"`
		DeliveredAt string `json:"delivered_at"`
	}
	json.Unmarshal(deliveries[0].body, &body)
	if body.Event.Data.Reactor.ID != id || len(body.Event.Data.Vulnerabilities) != 1 || body.Event.Data.Vulnerabilities[0]["id"] != "CVE-2021-23337" ||
		body.DeliveredAt == "" {
		t.Errorf("event body %s", deliveries[0].body)
	}

	// The update that fixes the dependency clears the finding.
	deploy("PUT", "/reactors/"+id, "4.17.21")
	if rec = e.waitState(t, id, "updating"); rec["state"] != "active" || rec["vulnerabilities"] != nil {
		t.Fatalf("after the fix: %v", rec)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(metrics(t, e), `reactord_vulnerabilities_open{severity="HIGH"} 0`); {
		if time.Now().After(deadline) {
			t.Fatalf("the gauge still counts the fixed finding:\n%s", grep(metrics(t, e), "reactord_vulnerabilities_open"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func metrics(t *testing.T, e env) string {
	t.Helper()
	resp, err := e.client.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBlockCriticalAfter: with --block-critical-after, a CRITICAL finding open past
// the period refuses invocations with 409 naming it; the update that removes the
// vulnerable package unblocks.
func TestBlockCriticalAfter(t *testing.T) {
	if testing.Short() {
		t.Skip("installs npm packages")
	}
	cache, _ := os.UserCacheDir()
	db := t.TempDir()
	if _, err := osvtest.WriteDB(db, "GHSA-35jh-r3h4-6jhm"); err != nil { // nothing against minimist yet
		t.Fatal(err)
	}
	e := start(t, func(o *service.Config) {
		o.Build = service.BuildConfig{CacheDir: filepath.Join(cache, "reactord-test", "build"), OSVDB: db, OSVRequired: true,
			RescanPoll: 100 * time.Millisecond}
		o.BlockCriticalAfter = time.Nanosecond // any CRITICAL finding blocks at once
	})
	body := func(res map[string]string) map[string]any {
		return map[string]any{"name": "mkdirp", "code": `module.exports = async () => ({ raw: 'ok' }); // mkdirp is installed, not loaded: it needs fs`,
			"runtime": map[string]any{"image": "node22", "dependencies": map[string]string{"mkdirp": "0.5.1"}, "resolutions": res}}
	}
	resp, rec := e.do(t, "POST", "/reactors", key, body(nil))
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, rec)
	}
	id := rec["id"].(string)
	if rec = e.waitState(t, id, "creating"); rec["state"] != "active" {
		t.Fatalf("deploy: %v", rec)
	}
	react := func() (int, map[string]any) {
		resp, out := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{})
		return resp.StatusCode, out
	}
	if status, out := react(); status != 200 {
		t.Fatalf("react before the advisory: %d %v", status, out)
	}
	if _, err := osvtest.WriteDB(db, "GHSA-35jh-r3h4-6jhm", "GHSA-xvch-5gv4-984h"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, rec = e.do(t, "GET", "/reactors/"+id, key, nil); rec["vulnerabilities"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no finding recorded")
		}
	}
	status, out := react()
	if detail, _ := out["detail"].(string); status != 409 || !strings.Contains(detail, "CVE-2021-44906") || !strings.Contains(detail, "minimist@0.0.8") {
		t.Fatalf("react with a CRITICAL finding: %d %v", status, out)
	}
	resp, rec = e.do(t, "PUT", "/reactors/"+id, key, body(map[string]string{"minimist": "1.2.8"}))
	if resp.StatusCode != 200 {
		t.Fatalf("update: %d %v", resp.StatusCode, rec)
	}
	if rec = e.waitState(t, id, "updating"); rec["state"] != "active" || rec["vulnerabilities"] != nil {
		t.Fatalf("after the fix: %v", rec)
	}
	if status, out := react(); status != 200 {
		t.Fatalf("react after the fix: %d %v", status, out)
	}
}

// TestLifecycleWebhooks: creating, updating and deleting a reactor send
// reactor.created, reactor.updated and reactor.deleted, each once, signed; a webhook
// URL on a loopback address is refused when the egress policy forbids it.
func TestLifecycleWebhooks(t *testing.T) {
	e := start(t, func(o *service.Config) { o.EgressAllowPrivate = true })
	type delivery struct {
		typ, id string
		ok      bool
	}
	var mu sync.Mutex
	var got []delivery
	var secret string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct {
			Event struct{ ID, Type string } `json:"event"`
		}
		json.Unmarshal(b, &body)
		mu.Lock()
		got = append(got, delivery{body.Event.Type, body.Event.ID, webhooks.Verify(secret, b, r.Header.Get("BT-SIGNATURE"))})
		mu.Unlock()
	}))
	defer receiver.Close()
	resp, hook := e.do(t, "POST", "/webhooks", key, map[string]any{"name": "lifecycle", "url": receiver.URL,
		"events": []string{"reactor.created", "reactor.updated", "reactor.deleted", "reactor.build_failed"}})
	if resp.StatusCode != 201 {
		t.Fatalf("create webhook: %d %v", resp.StatusCode, hook)
	}
	mu.Lock()
	secret = hook["signing_secret"].(string)
	mu.Unlock()
	for _, bad := range []map[string]any{
		{"name": "x", "url": receiver.URL, "events": []string{"reactor.nonsense"}},
		{"name": "x", "url": "ftp://example.com", "events": []string{"reactor.created"}},
		{"url": receiver.URL, "events": []string{"reactor.created"}},
	} {
		if resp, out := e.do(t, "POST", "/webhooks", key, bad); resp.StatusCode != 400 || out["errors"] == nil {
			t.Errorf("POST %v: %d %v", bad, resp.StatusCode, out)
		}
	}
	if resp, _ := e.do(t, "POST", "/webhooks", e.useKey, map[string]any{"name": "x", "url": receiver.URL, "events": []string{"reactor.created"}}); resp.StatusCode != 403 {
		t.Errorf("POST /webhooks without webhook:create: %d", resp.StatusCode)
	}

	resp, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "r", "code": "module.exports = async () => ({ raw: 1 })"})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, rec)
	}
	id := rec["id"].(string)
	if resp, out := e.do(t, "PUT", "/reactors/"+id, key, map[string]any{"name": "r2", "code": "module.exports = async () => ({ raw: 2 })"}); resp.StatusCode != 200 {
		t.Fatalf("update: %d %v", resp.StatusCode, out)
	}
	if resp, _ := e.do(t, "DELETE", "/reactors/"+id, key, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	// A node22 reactor whose code does not build.
	if resp, out := e.do(t, "POST", "/reactors", key, map[string]any{"name": "broken", "code": "module.exports = (",
		"runtime": map[string]any{"image": "node22"}}); resp.StatusCode != 201 {
		t.Fatalf("create node22: %d %v", resp.StatusCode, out)
	}
	want := []string{"reactor.created", "reactor.updated", "reactor.deleted", "reactor.created", "reactor.build_failed"}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries %v, want %v", got, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	seen := map[string]bool{}
	for i, d := range got {
		if i >= len(want) || d.typ != want[i] || !d.ok || seen[d.id] {
			t.Errorf("delivery %d: %+v (want %s, signed, a new event id)", i, d, want[min(i, len(want)-1)])
		}
		seen[d.id] = true
	}

	if resp, _ := e.do(t, "DELETE", "/webhooks/"+hook["id"].(string), key, nil); resp.StatusCode != 204 {
		t.Errorf("delete webhook: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "/webhooks/"+hook["id"].(string), key, nil); resp.StatusCode != 404 {
		t.Errorf("GET a deleted webhook: %d", resp.StatusCode)
	}
}

// TestWebhookURLPolicy: without --egress-allow-private a webhook cannot name a
// loopback or metadata address, nor use plain HTTP.
func TestWebhookURLPolicy(t *testing.T) {
	e := start(t)
	for _, u := range []string{"https://127.0.0.1/hook", "https://169.254.169.254/latest", "https://[::1]/x", "http://example.com/hook"} {
		resp, out := e.do(t, "POST", "/webhooks", key, map[string]any{"name": "x", "url": u, "events": []string{"reactor.created"}})
		if errs, _ := out["errors"].(map[string]any); resp.StatusCode != 400 || errs["url"] == nil {
			t.Errorf("POST url %s: %d %v", u, resp.StatusCode, out)
		}
	}
	if resp, out := e.do(t, "POST", "/webhooks", key, map[string]any{"name": "x", "url": "https://hooks.example.com/x", "events": []string{"reactor.created"}}); resp.StatusCode != 201 {
		t.Errorf("a public https URL: %d %v", resp.StatusCode, out)
	}
}
