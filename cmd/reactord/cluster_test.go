package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/natsd"
)

// buildBinary compiles reactord once for the process tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "reactord")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type proc struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func startProc(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: &log}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s %v output:\n%s", filepath.Base(bin), args, log.String())
		}
	})
	return p
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", addr)
}

func post(client *http.Client, url, key string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("BT-API-KEY", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// privateKey creates a private application with token:use (what react needs) through
// the management key and returns its key.
func privateKey(t *testing.T, client *http.Client, base, mgmtKey string) string {
	t.Helper()
	status, body, err := post(client, base+"/applications", mgmtKey, map[string]any{"name": "caller", "type": "private", "permissions": []string{"token:use"}})
	var app struct{ Key string }
	json.Unmarshal(body, &app)
	if err != nil || status != 201 || app.Key == "" {
		t.Fatalf("create application: %d %s %v", status, body, err)
	}
	return app.Key
}

// TestClusterSurvivesWorkerKill runs a standalone NATS server, two worker processes
// and a gateway process, kills one worker with SIGKILL under load, and checks that
// every accepted invocation was answered: successfully, or (those the killed worker
// was running) with the 502 that says the reactor may have run; none is run twice.
func TestClusterSurvivesWorkerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	bin := buildBinary(t)
	ctx := context.Background()
	ns, err := natsd.Start(ctx, natsd.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	cache := filepath.Join(t.TempDir(), "cache")
	common := []string{"REACTORD_NATS_URL=" + ns.URL(), "REACTORD_CACHE_DIR=" + cache, "REACTORD_MANAGEMENT_KEY=key_cluster"}
	gwAddr := freeAddr(t)
	w1Addr, w2Addr := freeAddr(t), freeAddr(t)
	w1 := startProc(t, bin, common, "worker", "--addr", w1Addr, "--tiers", "standard", "--data-dir", t.TempDir())
	startProc(t, bin, common, "worker", "--addr", w2Addr, "--tiers", "standard", "--data-dir", t.TempDir())
	startProc(t, bin, common, "gateway", "--addr", gwAddr, "--data-dir", t.TempDir())
	for _, a := range []string{w1Addr, w2Addr, gwAddr} {
		waitHealthy(t, a)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	status, body, err := post(client, "http://"+gwAddr+"/reactors", "key_cluster", map[string]any{
		"name": "slow echo",
		"code": `module.exports = async (req) => { await new Promise(r => setTimeout(r, 20)); return { raw: req.args }; };`,
	})
	if err != nil || status != 201 {
		t.Fatalf("create: %d %s %v", status, body, err)
	}
	var created struct{ ID string }
	json.Unmarshal(body, &created)
	useKey := privateKey(t, client, "http://"+gwAddr, "key_cluster")

	var ok, failed, refused, interrupted atomic.Int64
	var failures sync.Map
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, body, err := post(client, "http://"+gwAddr+"/reactors/"+created.ID+"/react", useKey, map[string]any{"args": map[string]int{"c": c, "i": i}})
				want := fmt.Sprintf(`"raw":{"c":%d,"i":%d}`, c, i)
				if err == nil && status == http.StatusTooManyRequests {
					refused.Add(1) // saturated: refused, not accepted
					continue
				}
				if err == nil && status == http.StatusBadGateway && strings.Contains(string(body), `"type":"reactor_interrupted"`) {
					interrupted.Add(1) // ran on the killed worker: answered, at most once
					continue
				}
				if err != nil || status != 200 || !strings.Contains(string(body), want) {
					failed.Add(1)
					failures.Store(fmt.Sprintf("%d/%d", c, i), fmt.Sprintf("%d %s %v", status, body, err))
					continue
				}
				ok.Add(1)
			}
		}(c)
	}
	time.Sleep(1500 * time.Millisecond)
	before := ok.Load()
	if err := w1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d invocations answered (%d before the kill), %d interrupted by the kill (502, may have run), %d refused with 429, %d failed",
		ok.Load(), before, interrupted.Load(), refused.Load(), failed.Load())
	failures.Range(func(k, v any) bool {
		t.Errorf("invocation %s: %s", k, v)
		return true
	})
	if ok.Load() <= before {
		t.Error("no invocation succeeded after the worker was killed")
	}
	scanner := bufio.NewScanner(strings.NewReader(w1.log.String()))
	for scanner.Scan() {
		if strings.Contains(scanner.Text(), `"level":"ERROR"`) {
			t.Logf("killed worker logged: %s", scanner.Text())
		}
	}
}
