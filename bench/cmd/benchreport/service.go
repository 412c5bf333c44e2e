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
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
)

const benchKey = "key_bench"

// measureService runs the whole service in this process (embedded NATS, gateway,
// worker) on real sockets and drives it over HTTP, with the GC target `reactord serve`
// runs with (the load generator in this process shares it).
func measureService(ctx context.Context, d time.Duration, add func(name, value, target, note string)) error {
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(service.GCPercent))
	}
	dir, err := os.MkdirTemp("", "reactord-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cache, _ := os.UserCacheDir()
	svc, err := service.Start(ctx, service.Config{DataDir: dir, Gateway: true, ManagementKey: benchKey, Tiers: runtime.Tiers,
		ProxyAllowHTTP: true, EgressAllowPrivate: true, // the benchmark's destination is on loopback
		Pools: scheduler.PoolsConfig{QueueWait: 2 * time.Second}, Runtime: runtime.Config{CacheDir: cache + "/reactord/wazero"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 30 * time.Second}

	code, err := os.ReadFile("functions/mask-card/index.js")
	if err != nil {
		return err
	}
	// react needs token:use, which only private applications hold.
	status, app, err := postJSON(client, base+"/applications", benchKey, []byte(`{"name":"bench caller","type":"private","permissions":["token:use"]}`))
	var created struct{ Key string }
	if err != nil || status != 201 || json.Unmarshal(app, &created) != nil {
		return fmt.Errorf("create application: %d %s %v", status, app, err)
	}
	useKey := created.Key
	id, err := createReactor(client, base, string(code), 1)
	if err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond) // the worker prepares the snapshot and the warm instance
	url := base + "/reactors/" + id + "/react"
	body := []byte(`{"args":{"card_number":"4242424242424242"}}`)
	check := func(status int, b []byte) error {
		if status != 200 || !bytes.Contains(b, []byte("************4242")) {
			return fmt.Errorf("unexpected response %d %s", status, b)
		}
		return nil
	}
	for _, c := range []int{1, 32} {
		lat, n, el, err := load(client, url, useKey, body, c, d, check)
		if err != nil {
			return err
		}
		target := ""
		if c == 1 {
			target = "p50 <= 250 us, p99 <= 1 ms"
		}
		add(fmt.Sprintf("service: card masking, %d client(s) p50 / p99", c), us(pct(lat, 50))+" / "+us(pct(lat, 99)), target,
			fmt.Sprintf("%.0f invocations/s, HTTP -> NATS -> wasm", float64(n)/el.Seconds()))
	}
	best := 0.0
	for _, c := range []int{16, 64} {
		_, n, el, err := load(client, url, useKey, body, c, d, check)
		if err != nil {
			return err
		}
		best = max(best, float64(n)/el.Seconds())
	}
	add("service: maximum throughput with no errors", fmt.Sprintf("%.0f invocations/s", best), ">= 8,000/s", fmt.Sprintf("best of 16 and 64 clients, %s each", d))

	// Cold start through the full path: a new reactor's first invocation, its
	// snapshot already prepared by the worker, no instance yet.
	var colds []time.Duration
	for i := range idleRequests {
		id, err := createReactor(client, base, fmt.Sprintf("%s\n// variant %d\n", code, i), 0)
		if err != nil {
			return err
		}
		lat, err := afterPause(client, base+"/reactors/"+id+"/react", useKey, body, check)
		if err != nil {
			return err
		}
		colds = append(colds, lat)
	}
	add("service: cold start through the full path p50", us(pct(colds, 50)), "<= 1 ms", "first invocation of a new reactor, snapshot prepared")
	// The same request pattern on the warm reactor: what waking an idle machine and
	// process costs a request here, whether or not its reactor is new.
	var idles []time.Duration
	for range idleRequests {
		lat, err := afterPause(client, url, useKey, body, check)
		if err != nil {
			return err
		}
		idles = append(idles, lat)
	}
	add("service: warm reactor after the same idle p50", us(pct(idles, 50)), "", "the cold start's control: a warm instance, requested after 100 ms of idleness like each cold start")

	// Both readings follow a collection that returns the heap's free pages: with the
	// service's GC target the heap swings by tens of MiB between collections, which
	// would drown what the reactors hold.
	debug.FreeOSMemory()
	rssBefore, shmemBefore := rss(), meminfo("Shmem:")
	for i := range 100 {
		if _, err := createReactor(client, base, fmt.Sprintf("%s\n// warm %d\n", code, i), 1); err != nil {
			return err
		}
	}
	time.Sleep(3 * time.Second)
	debug.FreeOSMemory()
	add("service: RSS with 100 reactors x 1 warm instance", fmt.Sprintf("%d MiB (+%d MiB)", rss()>>20, (rss()-rssBefore)>>20), "",
		fmt.Sprintf("whole process after a forced GC: NATS, gateway, worker; anonymous and file pages (RssAnon + RssFile): the 100 snapshot images are %d MiB of shared memory (memfd), of which the instances map %d MiB (RssShmem)",
			(meminfo("Shmem:")-shmemBefore)>>20, procStatus("RssShmem:")>>20))

	if err := measureProxy(client, base, add); err != nil {
		return fmt.Errorf("proxy: %w", err)
	}
	return nil
}

// afterPause sends one request after idleGap without any and returns its latency.
func afterPause(client *http.Client, url, key string, body []byte, check func(int, []byte) error) (time.Duration, error) {
	time.Sleep(idleGap)
	start := time.Now()
	status, b, err := postJSON(client, url, key, body)
	lat := time.Since(start)
	if err == nil {
		err = check(status, b)
	}
	return lat, err
}

func createReactor(client *http.Client, base, code string, warm int) (string, error) {
	b, _ := json.Marshal(map[string]any{"name": "bench", "code": code, "runtime": map[string]any{"image": "node-bt", "warm_concurrency": warm}})
	status, out, err := postJSON(client, base+"/reactors", benchKey, b)
	if err != nil {
		return "", err
	}
	if status != 201 {
		return "", fmt.Errorf("create reactor: %d %s", status, out)
	}
	var r struct{ ID string }
	json.Unmarshal(out, &r)
	return r.ID, nil
}

func postJSON(client *http.Client, url, key string, body []byte) (int, []byte, error) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	if key != "" {
		req.Header.Set("BT-API-KEY", key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// load runs clients sequential requests each for d and returns every latency.
func load(client *http.Client, url, key string, body []byte, clients int, d time.Duration, check func(int, []byte) error) ([]time.Duration, int, time.Duration, error) {
	return loadRequests(client, func() *http.Request {
		req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		if key != "" {
			req.Header.Set("BT-API-KEY", key)
		}
		req.Header.Set("Content-Type", "application/json")
		return req
	}, clients, d, check)
}

// loadRequests sends the requests newReq makes from clients goroutines for d and
// returns every latency, their count and the elapsed time.
func loadRequests(client *http.Client, newReq func() *http.Request, clients int, d time.Duration, check func(int, []byte) error) ([]time.Duration, int, time.Duration, error) {
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
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
				if err == nil {
					err = check(resp.StatusCode, b)
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
	return all, len(all), time.Since(start), firstErr
}

// meminfo reads a /proc/meminfo field in bytes.
func meminfo(field string) int64 { return procField("/proc/meminfo", field) }

// rss is this process's resident memory without its mapped shared memory (RssAnon +
// RssFile): the snapshot images are memfds, so the pages of them an instance maps
// are counted once in the machine's Shmem, not once per instance here.
func rss() int64 { return procStatus("RssAnon:") + procStatus("RssFile:") }

// procStatus is a field of /proc/self/status, in bytes.
func procStatus(field string) int64 { return procField("/proc/self/status", field) }

// procField reads a "Field: N kB" line of a /proc file, in bytes (0 when absent).
func procField(path, field string) int64 {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
