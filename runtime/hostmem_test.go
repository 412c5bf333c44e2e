package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	goruntime "runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/runtime"
)

// heapPeak samples the Go heap (bytes in heap objects, live or not yet swept) until
// stop is called, and cancels abort once it passes ceiling, so an attack that works
// ends early instead of exhausting the machine.
func heapPeak(ceiling uint64, abort context.CancelFunc) (stop func() (peak, rss uint64)) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var mu sync.Mutex
	var peak, rss uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			metrics.Read(sample)
			h := sample[0].Value.Uint64()
			mu.Lock()
			peak = max(peak, h)
			if i%25 == 0 {
				rss = max(rss, processRSS())
			}
			mu.Unlock()
			if h > ceiling {
				abort()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return peak, rss
	}
}

// TestHostMemoryIsBounded performs the fetch flood: a standard-tier reactor starts 150
// fetches of 5 MiB at once, and awaits them or abandons them. The host memory they cause is
// charged to the invocation: fetches past the concurrency cap or the tier's memory
// reject inside the sandbox, the reactor catches that and answers, and the process's
// Go heap stays under 512 MiB above where it started (without the bound the same
// attack reached gigabytes).
func TestHostMemoryIsBounded(t *testing.T) {
	const size = 5 << 20
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(payload)
	}))
	defer srv.Close()
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.Config{Async: map[string]runtime.AsyncHandler{
		"fetch": egress.New(egress.Policy{AllowPrivate: true}, egress.Options{}).Handle}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	code := `module.exports = async (req) => {
  const start = (i) => {
    if (!req.args.abandon) return fetch(req.args.url + '/' + i).then(r => r.status);
    // Abandoned: the sandbox forgets the request at once, the host still runs it.
    const c = new AbortController();
    const p = fetch(req.args.url + '/' + i, { signal: c.signal }).then(r => r.status);
    c.abort();
    return p.catch(e => { if (e.name === 'AbortError') return 'abandoned'; throw e; });
  };
  const all = await Promise.allSettled(Array.from({ length: req.args.n }, (_, i) => start(i)));
  if (req.args.abandon) await new Promise(r => setTimeout(r, 3000)); // let the host finish them
  const reasons = {};
  let ok = 0;
  for (const r of all) {
    if (r.status === 'fulfilled') ok++;
    else { const m = String(r.reason && r.reason.message).replace(/[0-9]+/g, 'N'); reasons[m] = (reasons[m] || 0) + 1; }
  }
  return { raw: { ok, reasons } };
};`
	snap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(code)})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	const bound = 512 << 20
	tests := []struct {
		name    string
		n       int
		abandon bool
		tier    runtime.Tier
	}{
		// Awaiting 5 MiB responses is not a case here: each one that gets through
		// takes the sandbox seconds to decode (the Node layer's base64 is JavaScript),
		// so the invocation would time out on its own code, whatever the host does.
		{"150 downloads of 5 MiB, abandoned", 150, true, runtime.Standard},
		{"150 downloads of 5 MiB, abandoned, on xlarge", 150, true, runtime.XLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := runtime.TierLimits(tc.tier)
			l.Timeout = 60 * time.Second
			in, err := snap.NewInstance(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(ctx)
			goruntime.GC()
			base := heapObjects()
			ictx, abort := context.WithCancel(ctx)
			defer abort()
			stop := heapPeak(base+3*bound, abort)
			args, _ := json.Marshal(map[string]any{"url": srv.URL, "n": tc.n, "abandon": tc.abandon})
			r, err := in.Invoke(ictx, runtime.Event{Args: args})
			peak, rss := stop()
			t.Logf("Go heap %d MiB before, peak %d MiB; peak RSS %d MiB; %s: %s", base>>20, peak>>20, rss>>20, r.Outcome, r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if peak > base+bound {
				t.Errorf("the Go heap grew by %d MiB, over the bound of %d MiB", (peak-base)>>20, bound>>20)
			}
			if r.Outcome != runtime.OK {
				t.Fatalf("the reactor could not answer: %s %s", r.Outcome, r.Body)
			}
			var out struct {
				OK      int            `json:"ok"`
				Reasons map[string]int `json:"reasons"`
			}
			var body struct{ Raw json.RawMessage }
			json.Unmarshal(r.Body, &body)
			if err := json.Unmarshal(body.Raw, &out); err != nil {
				t.Fatalf("result %s: %v", r.Body, err)
			}
			if out.OK == 0 || out.OK == tc.n {
				t.Errorf("%d of %d fetches succeeded: want some to succeed and the rest to be refused", out.OK, tc.n)
			}
		})
	}
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// processRSS is the process's resident set (wasm memories included), from /proc.
func processRSS() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestHostOpAccounting: what host operations hold is charged to the invocation
// (ChargeHostMemory), capped per invocation, rejected inside the sandbox past either
// bound, and released when the results are delivered.
func TestHostOpAccounting(t *testing.T) {
	ctx := context.Background()
	// The handler charges what the URL (http://host/ROUND/N/MiB) asks for and
	// answers once every handler of the round has charged or failed to, so the
	// charges of a round overlap.
	var mu sync.Mutex
	arrived := map[string]int{}
	cond := sync.NewCond(&mu)
	eng, err := runtime.NewEngine(ctx, runtime.Config{Async: map[string]runtime.AsyncHandler{
		"fetch": func(ctx context.Context, arg []byte) (any, error) {
			var q egress.Request
			json.Unmarshal(arg, &q)
			parts := strings.Split(strings.TrimPrefix(q.URL, "http://host/"), "/")
			n, _ := strconv.Atoi(parts[1])
			mib, _ := strconv.Atoi(parts[2])
			err := runtime.ChargeHostMemory(ctx, mib<<20)
			mu.Lock()
			arrived[parts[0]]++
			cond.Broadcast()
			for arrived[parts[0]] < n {
				cond.Wait()
			}
			mu.Unlock()
			if err != nil {
				return nil, err
			}
			return egress.Response{Status: 200}, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	code := `module.exports = async (req) => {
  // A round starts n fetches of which the host sees (and waits for) started.
  const round = async (id, n, started, mib) => {
    const all = await Promise.allSettled(Array.from({ length: n }, () => fetch('http://host/' + id + '/' + started + '/' + mib).then(r => r.status)));
    const out = { ok: 0, memory: 0, cap: 0 };
    for (const r of all) {
      if (r.status === 'fulfilled') out.ok++;
      else if (/memory limit/.test(r.reason.message)) out.memory++;
      else if (/too many requests in flight/.test(r.reason.message)) out.cap++;
      else throw r.reason;
    }
    return out;
  };
  const rounds = [];
  for (const [n, started, mib] of req.args.rounds) rounds.push(await round(req.args.id + '-' + rounds.length, n, started, mib));
  return { raw: rounds };
};`
	snap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(code)})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	type round struct{ OK, Memory, Cap int }
	tests := []struct {
		name   string
		rounds string
		check  func(t *testing.T, got []round)
	}{
		{"20 at once: 16 in flight, 4 refused", `[[20, 16, 0]]`, func(t *testing.T, got []round) {
			if got[0] != (round{OK: 16, Cap: 4}) {
				t.Errorf("got %+v, want 16 ok and 4 refused by the cap", got[0])
			}
		}},
		{"4 holding 50 MiB each on a 128 MiB tier, then 1 again", `[[4, 4, 50], [1, 1, 50]]`, func(t *testing.T, got []round) {
			if got[0].OK < 1 || got[0].OK > 2 || got[0].OK+got[0].Memory != 4 {
				t.Errorf("first round %+v: want at most 2 to fit and the rest refused for memory", got[0])
			}
			if got[1] != (round{OK: 1}) {
				t.Errorf("second round %+v: the first round's memory was not released", got[1])
			}
		}},
		{"more than the tier", `[[1, 1, 130]]`, func(t *testing.T, got []round) {
			if got[0] != (round{Memory: 1}) {
				t.Errorf("got %+v, want the request refused for memory", got[0])
			}
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, err := snap.NewInstance(ctx, standard(t))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(ctx)
			r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"id":"` + strconv.Itoa(i) + `","rounds":` + tc.rounds + `}`)})
			if err != nil || r.Outcome != runtime.OK {
				t.Fatalf("outcome %s, err %v: %s", r.Outcome, err, r.Body)
			}
			var body struct{ Raw []round }
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			tc.check(t, body.Raw)
		})
	}
}
