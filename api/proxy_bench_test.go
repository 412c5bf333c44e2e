package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
)

// BenchmarkProxy is one POST /proxy through the whole in-process service, in the
// cases bench/cmd/benchreport reports: the destination called directly (the
// baseline), the ephemeral proxy with no transform, a pre-configured proxy with one
// code transform on a warm instance, and the ephemeral proxy detokenizing ten
// tokens in a JSON body, each with 1 and 32 concurrent clients. It reports the p50
// latency per request (the proxy's added p50 is a case's p50 less the direct
// one's) and the process's CPU time per request: client, gateway, NATS, worker and
// destination all run in this process, and at 32 clients on a 2-core machine the
// latency follows the CPU each request costs. On a shared machine cpu-µs/op is the
// steadier figure. Run it with -cpu 2:
//
//	go test ./api -run '^$' -bench BenchmarkProxy -cpu 2 -count 5
func BenchmarkProxy(b *testing.B) {
	e := start(b, func(o *service.Config) { o.ProxyAllowHTTP, o.EgressAllowPrivate = true, true })
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 30 * time.Second}

	answer := []byte(`{"ok":true,"card":"4242424242424242"}`)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	dest := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}))
	dest.Listener = ln
	dest.Start()
	b.Cleanup(dest.Close)
	destURL := dest.URL + "/charge"

	app := e.newApp(b, "private", "token:use", "token:create")
	var fields []string
	for i := range 10 {
		resp, tok := e.do(b, "POST", "/tokens", app, map[string]any{"type": "token", "data": fmt.Sprintf("secret value %d", i)})
		if resp.StatusCode != 201 {
			b.Fatalf("create token: %d %v", resp.StatusCode, tok)
		}
		fields = append(fields, fmt.Sprintf(`"f%d":"{{ %s }}"`, i, tok["id"]))
	}
	detokBody := []byte("{" + strings.Join(fields, ",") + "}")
	resp, px := e.do(b, "POST", "/proxies", key, map[string]any{"name": "bench", "destination_url": destURL, "require_auth": false,
		"request_transforms": []any{map[string]any{"code": "module.exports = async (req) => ({ body: { ...req.args.body, amount: req.args.body.amount * 100 }, headers: req.args.headers })"}}})
	if resp.StatusCode != 201 {
		b.Fatalf("create proxy: %d %v", resp.StatusCode, px)
	}
	body := []byte(`{"amount":12.5,"currency":"usd"}`)

	cases := []struct {
		name string
		url  string
		body []byte
		hdr  []string
	}{
		{"direct", destURL, body, nil},
		{"none", e.url + "/proxy", body, []string{"BT-API-KEY", app, "BT-PROXY-URL", destURL}},
		{"transform", e.url + "/proxy", body, []string{"BT-PROXY-KEY", px["key"].(string)}},
		{"detokenize10", e.url + "/proxy", detokBody, []string{"BT-API-KEY", app, "BT-PROXY-URL", destURL}},
	}
	for _, clients := range []int{1, 32} {
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/clients=%d", c.name, clients), func(b *testing.B) {
				call := func() error {
					req, _ := http.NewRequest("POST", c.url, bytes.NewReader(c.body))
					req.Header.Set("Content-Type", "application/json")
					for i := 0; i+1 < len(c.hdr); i += 2 {
						req.Header.Set(c.hdr[i], c.hdr[i+1])
					}
					resp, err := e.client.Do(req)
					if err != nil {
						return err
					}
					got, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || !bytes.Contains(got, []byte(`"ok":true`)) {
						return fmt.Errorf("%d %s", resp.StatusCode, got)
					}
					return nil
				}
				if err := call(); err != nil {
					b.Fatal(err)
				}
				var mu sync.Mutex
				var lat []time.Duration
				run := func(next func() bool) {
					var mine []time.Duration
					for next() {
						t := time.Now()
						if err := call(); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(t))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				}
				cpu0 := cpuTime()
				b.ResetTimer()
				if clients == 1 {
					i := 0
					run(func() bool { i++; return i <= b.N })
				} else {
					// RunParallel starts parallelism x GOMAXPROCS goroutines.
					b.SetParallelism((clients + goruntime.GOMAXPROCS(0) - 1) / goruntime.GOMAXPROCS(0))
					b.RunParallel(func(pb *testing.PB) { run(pb.Next) })
				}
				b.StopTimer()
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				slices.Sort(lat)
				if len(lat) > 0 {
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				}
			})
		}
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
