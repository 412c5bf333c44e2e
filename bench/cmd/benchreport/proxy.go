package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
)

// measureProxy measures what the proxy adds over calling a local destination
// directly: no transform, one code transform, and detokenizing 10 tokens, at 1 and
// 32 clients. The whole service runs in this process, as in measureService.
func measureProxy(ctx context.Context, add func(name, value, target, note string)) error {
	dir, err := os.MkdirTemp("", "reactord-bench-proxy")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cache, _ := os.UserCacheDir()
	svc, err := service.Start(ctx, service.Options{DataDir: dir, Gateway: true, ManagementKey: benchKey, Tiers: runtime.Tiers,
		Pools: scheduler.PoolsConfig{QueueWait: 2 * time.Second}, Runtime: runtime.Config{CacheDir: cache + "/reactord/wazero"},
		ProxyAllowHTTP: true, ProxyAllowPrivate: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return err
	}
	defer svc.Stop(context.Background())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: svc.Handler}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	defer dest.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 30 * time.Second}

	// Ten tokens and a body referring to each.
	var fields []string
	for i := range 10 {
		status, out, err := postJSON(client, base+"/tokens", []byte(fmt.Sprintf(`{"type":"token","data":"secret-%d"}`, i)))
		if err != nil || status != 201 {
			return fmt.Errorf("create token: %d %s %v", status, out, err)
		}
		var t struct{ ID string }
		json.Unmarshal(out, &t)
		fields = append(fields, fmt.Sprintf(`"f%d":"{{ %s }}"`, i, t.ID))
	}
	tokenBody := []byte("{" + strings.Join(fields, ",") + "}")
	plainBody := []byte(`{"card_number":"4242424242424242","amount":100}`)

	b, _ := json.Marshal(map[string]any{"name": "bench", "destination_url": dest.URL, "require_auth": false,
		"request_transforms": []any{map[string]any{"code": "module.exports = async (req) => ({ body: { ...req.args.body, seen: true }, headers: req.args.headers })",
			"runtime": map[string]any{"image": "node-bt", "warm_concurrency": 4}}}})
	status, out, err := postJSON(client, base+"/proxies", b)
	if err != nil || status != 201 {
		return fmt.Errorf("create proxy: %d %s %v", status, out, err)
	}
	var px struct{ Key string }
	json.Unmarshal(out, &px)

	type scenario struct {
		name string
		req  func() *http.Request
		ok   func(int, []byte) bool
	}
	post := func(url string, body []byte, hdr ...string) func() *http.Request {
		return func() *http.Request {
			r, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(hdr); i += 2 {
				r.Header.Set(hdr[i], hdr[i+1])
			}
			return r
		}
	}
	is200 := func(s int, _ []byte) bool { return s == 200 }
	scenarios := []scenario{
		{"direct", post(dest.URL, plainBody), is200},
		{"no transform", post(base+"/proxy", plainBody, "BT-API-KEY", benchKey, "BT-PROXY-URL", dest.URL), is200},
		{"one code transform", post(base+"/proxy", plainBody, "BT-PROXY-KEY", px.Key),
			func(s int, b []byte) bool { return s == 200 && bytes.Contains(b, []byte(`"seen":true`)) }},
		{"detokenizing 10 tokens", post(base+"/proxy", tokenBody, "BT-API-KEY", benchKey, "BT-PROXY-URL", dest.URL),
			func(s int, b []byte) bool { return s == 200 && bytes.Contains(b, []byte(`"secret-9"`)) }},
	}
	for _, c := range []int{1, 32} {
		var direct time.Duration
		for _, sc := range scenarios {
			loadRequests(client, sc.req, sc.ok, c, 300*time.Millisecond) // warm up
			lat, err := loadRequests(client, sc.req, sc.ok, c, 2*time.Second)
			if err != nil {
				return fmt.Errorf("proxy %s: %w", sc.name, err)
			}
			p50, p99 := pct(lat, 50), pct(lat, 99)
			if sc.name == "direct" {
				direct = p50
				add(fmt.Sprintf("proxy: destination called directly, %d client(s) p50 / p99", c), us(p50)+" / "+us(p99), "", "local HTTP echo server")
				continue
			}
			target := ""
			if sc.name == "one code transform" && c == 1 {
				target = "added p50 <= 300 us"
			}
			add(fmt.Sprintf("proxy: %s, %d client(s) p50 / p99", sc.name, c), us(p50)+" / "+us(p99), target,
				"added p50 "+us(p50-direct))
		}
	}
	return nil
}

// loadRequests runs clients sequential requests each for d and returns every latency.
func loadRequests(client *http.Client, newReq func() *http.Request, ok func(int, []byte) bool, clients int, d time.Duration) ([]time.Duration, error) {
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(end) {
				t := time.Now()
				resp, err := client.Do(newReq())
				var b []byte
				if err == nil {
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				mine = append(mine, time.Since(t))
				if err == nil && !ok(resp.StatusCode, b) {
					err = fmt.Errorf("unexpected response %d %s", resp.StatusCode, b)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, firstErr
}
