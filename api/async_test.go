package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/service"
	"github.com/reactord/reactord/runtime"
)

// poll fetches a react-async result until it is no longer pending.
func (e env) poll(t *testing.T, reactorID, requestID string) (int, map[string]any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, out := e.do(t, "GET", "/reactors/"+reactorID+"/results/"+requestID, e.useKey, nil)
		if resp.StatusCode != 202 {
			return resp.StatusCode, out
		}
		if out["status"] != "pending" || out["async_reactor_request_id"] != requestID {
			t.Fatalf("pending result: %v", out)
		}
		if time.Now().After(deadline) {
			t.Fatal("the async request stayed pending")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReactAsync: an accepted request answers, once run, exactly as the synchronous
// call does, errors included; results are scoped to their reactor.
func TestReactAsync(t *testing.T) {
	e := start(t)
	_, created := e.do(t, "POST", "/reactors", key, map[string]any{"name": "async", "code": `module.exports = async (req) => {
  if (req.args.fail) throw new (require('@basis-theory/basis-theory-reactor-formulas-sdk-js').BadRequestError)('bad args');
  return { raw: { echo: req.args.v } };
}`})
	id := created["id"].(string)
	for _, tc := range []struct {
		name   string
		args   map[string]any
		status int
		want   string
	}{
		{"ok", map[string]any{"v": "hello"}, 200, `"echo":"hello"`},
		{"reactor error", map[string]any{"fail": true}, 400, `"detail":"bad args"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, acc := e.do(t, "POST", "/reactors/"+id+"/react-async", e.useKey, map[string]any{"args": tc.args})
			reqID, _ := acc["async_reactor_request_id"].(string)
			if resp.StatusCode != 202 || len(reqID) != 36 {
				t.Fatalf("react-async: %d %v", resp.StatusCode, acc)
			}
			status, out := e.poll(t, id, reqID)
			sync, syncOut := e.do(t, "POST", "/reactors/"+id+"/react", e.useKey, map[string]any{"args": tc.args})
			if status != tc.status || sync.StatusCode != tc.status {
				t.Fatalf("async %d %v, sync %d %v, want %d", status, out, sync.StatusCode, syncOut, tc.status)
			}
			got := jsonString(out)
			if !strings.Contains(got, tc.want) || got != jsonString(syncOut) {
				t.Errorf("async result %s differs from the sync one %s", got, jsonString(syncOut))
			}
			// Another reactor's id does not reveal the result.
			if resp, _ := e.do(t, "GET", "/reactors/00000000-0000-0000-0000-000000000000/results/"+reqID, e.useKey, nil); resp.StatusCode != 404 {
				t.Errorf("result under another reactor: %d", resp.StatusCode)
			}
		})
	}
	for _, tc := range []struct {
		name, method, path, key string
		status                  int
	}{
		{"unknown request", "GET", "/reactors/" + id + "/results/00000000-0000-0000-0000-000000000000", e.useKey, 404},
		{"unknown reactor", "POST", "/reactors/00000000-0000-0000-0000-000000000000/react-async", e.useKey, 404},
		{"management key", "POST", "/reactors/" + id + "/react-async", key, 403},
	} {
		if resp, out := e.do(t, tc.method, tc.path, tc.key, map[string]any{"args": 1}); resp.StatusCode != tc.status || out["title"] == nil {
			t.Errorf("%s: %d %v, want %d in the error format", tc.name, resp.StatusCode, out, tc.status)
		}
	}
}

// TestReactAsyncSurvivesRestart accepts a request on a gateway that runs none, stops
// the service, and finds the request answered after a restart on the same data.
func TestReactAsyncSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cache, _ := os.UserCacheDir()
	opts := service.Config{DataDir: dir, Gateway: true, ManagementKey: key, Tiers: []runtime.Tier{runtime.Standard},
		Runtime: runtime.Config{CacheDir: cache + "/reactord-test/wazero"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := func(concurrency int) (env, func()) {
		o := opts
		o.AsyncConcurrency = concurrency
		svc, err := service.Start(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(svc.Handler)
		return env{url: hs.URL, client: hs.Client()}, func() { hs.Close(); svc.Stop(context.Background()) }
	}
	e, stop := run(-1)
	e.useKey = e.newApp(t, "private", "token:use")
	_, created := e.do(t, "POST", "/reactors", key, map[string]any{"name": "later", "code": `module.exports = async (req) => ({ raw: req.args.n + 1 })`})
	id := created["id"].(string)
	_, acc := e.do(t, "POST", "/reactors/"+id+"/react-async", e.useKey, map[string]any{"args": map[string]int{"n": 41}})
	reqID := acc["async_reactor_request_id"].(string)
	if resp, out := e.do(t, "GET", "/reactors/"+id+"/results/"+reqID, e.useKey, nil); resp.StatusCode != 202 {
		t.Fatalf("before the restart: %d %v", resp.StatusCode, out)
	}
	stop()

	e2, stop2 := run(0)
	defer stop2()
	e2.useKey = e.useKey
	if status, out := e2.poll(t, id, reqID); status != 200 || out["raw"] != float64(42) {
		t.Fatalf("after the restart: %d %v", status, out)
	}
}

// TestRateLimit: past its burst an application gets 429 with Retry-After, while
// another application is unaffected.
func TestRateLimit(t *testing.T) {
	e := start(t, func(o *service.Config) { o.RateLimit, o.RateBurst = 0.5, 3 })
	other := e.newApp(t, "private", "token:use")
	var limited bool
	for range 10 {
		resp, out := e.do(t, "GET", "/permissions", e.useKey, nil)
		if resp.StatusCode == 429 {
			if resp.Header.Get("Retry-After") == "" || out["status"] != float64(429) {
				t.Errorf("429 without Retry-After or the error format: %v %v", resp.Header, out)
			}
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("10 requests at once were never limited at 0.5/s with a burst of 3")
	}
	if resp, _ := e.do(t, "GET", "/permissions", other, nil); resp.StatusCode != 200 {
		t.Errorf("another application was limited: %d", resp.StatusCode)
	}
}

func jsonString(v map[string]any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
