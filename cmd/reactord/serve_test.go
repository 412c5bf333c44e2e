package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeRestart runs `reactord serve` as a process: the generated management key
// is printed once, a reactor survives a restart, SIGTERM shuts down cleanly, and
// /metrics counts the invocations.
func TestServeRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	env := []string{"REACTORD_DATA_DIR=" + data, "REACTORD_CACHE_DIR=" + filepath.Join(t.TempDir(), "cache"), "REACTORD_MANAGEMENT_KEY="}
	addr := freeAddr(t)
	first := startProc(t, bin, env, "serve", "--addr", addr)
	waitHealthy(t, addr)
	key := regexp.MustCompile(`Management API key \(shown once, keep it\): (key_[0-9a-f]+)`).FindStringSubmatch(first.log.String())
	if key == nil {
		t.Fatalf("no generated key printed:\n%s", first.log.String())
	}
	client := &http.Client{Timeout: 10 * time.Second}
	status, body, err := post(client, "http://"+addr+"/reactors", key[1], map[string]any{
		"name": "persisted", "code": `module.exports = async (req) => ({ raw: req.configuration.GREETING + ' ' + req.args.name })`,
		"configuration": map[string]string{"GREETING": "hello"},
	})
	if err != nil || status != 201 {
		t.Fatalf("create: %d %s %v", status, body, err)
	}
	id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(string(body))[1]
	useKey := privateKey(t, client, "http://"+addr, key[1])

	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := first.cmd.Wait(); err != nil {
		t.Fatalf("serve did not shut down cleanly: %v\n%s", err, first.log.String())
	}

	second := startProc(t, bin, env, "serve", "--addr", addr)
	waitHealthy(t, addr)
	if strings.Contains(second.log.String(), "Management API key") {
		t.Error("the key was printed again on restart")
	}
	status, body, err = post(client, "http://"+addr+"/reactors/"+id+"/react", useKey, map[string]any{"args": map[string]string{"name": "world"}})
	if err != nil || status != 200 || !strings.Contains(string(body), `"raw":"hello world"`) {
		t.Fatalf("react after restart: %d %s %v", status, body, err)
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// Whether that invocation was a cold start depends on whether the instance the
	// worker prepares for a recently deployed reactor was ready in time, so the cold
	// start counter is not checked here (scheduler.TestMetricsCount checks it).
	for _, want := range []string{`reactord_invocations_total{outcome="ok",tier="standard"} 1`,
		"reactord_invocation_duration_seconds_bucket", "reactord_warm_instances", "process_resident_memory_bytes", "reactord_http_request_duration_seconds"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
