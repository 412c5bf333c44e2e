package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/natsd"
	rt "github.com/reactord/reactord/runtime"
)

// syncBuffer is a log sink the worker's goroutines and the test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestUngrantedRunReachesNothing attacks the worker's unclaimed start: a gateway
// that gave up on an invocation (and may have sent it to another worker) refuses its
// claims. The run that took it must then reach nothing outside its sandbox (the
// destination of its fetch sees no request), send no answer and leave no console
// output in the log, whether the claim came before its first host operation, after
// ClaimAfter of computing, or before it ran because it was taken late. Runs that need
// no claim answer unclaimed, and granted runs work, so the setup is shown to be able
// to see each effect.
func TestUngrantedRunReachesNothing(t *testing.T) {
	var hits atomic.Int32
	dest := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("reached"))
	}))
	defer dest.Close()
	fetching := `module.exports = async () => {
  console.log("secret-console-line");
  const r = await fetch("` + dest.URL + `");
  return { raw: await r.text() };
}`
	computing := `module.exports = async () => {
  const end = Date.now() + 600;
  while (Date.now() < end) {}
  console.log("secret-console-line");
  return { raw: "computed" };
}`
	pure := `module.exports = async () => { console.log("secret-console-line"); return { raw: "pure" }; }`
	tests := []struct {
		name      string
		code      string
		grant     bool
		claims    int32  // claims the gateway saw
		answer    string // in the answer's body; "" means no answer may come
		destHits  int32
		logsShown bool
		late      bool // taken a second after it was sent
	}{
		{name: "host operation, refused", code: fetching, claims: 1},
		{name: "long computation, refused", code: computing, claims: 1},
		{name: "host operation, granted", code: fetching, grant: true, claims: 1, answer: "reached", destHits: 1, logsShown: true},
		{name: "long computation, granted", code: computing, grant: true, claims: 1, answer: "computed", logsShown: true},
		{name: "short and pure: the answer is the claim", code: pure, claims: 0, answer: "pure", logsShown: true},
		{name: "taken late, refused: claimed before it runs", code: pure, late: true, claims: 1},
		{name: "taken late, granted", code: pure, late: true, grant: true, claims: 1, answer: "pure", logsShown: true},
	}

	ctx := context.Background()
	ns, err := natsd.Start(ctx, natsd.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	eng, err := rt.NewEngine(ctx, rt.Config{Async: map[string]rt.AsyncHandler{
		"fetch": egress.New(egress.Policy{AllowPrivate: true}, egress.Options{}).Handle}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	logs := &syncBuffer{}
	b := &memBundles{m: map[string][]byte{}}
	pools := NewPools(eng, b, PoolsConfig{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	defer pools.Close()
	w := NewWorker(nc, pools, []rt.Tier{rt.Standard}, "w1", slog.New(slog.NewJSONHandler(logs, nil)))
	w.ClaimAfter = 100 * time.Millisecond
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits.Store(0)
			before := len(logs.String())
			var claims atomic.Int32
			answers := make(chan Reply, 4)
			inbox := nats.NewInbox()
			sub, err := nc.Subscribe(inbox, func(m *nats.Msg) {
				if m.Reply != "" { // a claim
					claims.Add(1)
					if tc.grant {
						m.Respond(grantGo)
					} else {
						m.Respond(grantNo)
					}
					return
				}
				var r Reply
				json.Unmarshal(m.Data, &r)
				answers <- r
			})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			req := request(t, b, "r-claim-"+string(rune('a'+i)), tc.code)
			req.Deadline = time.Now().Add(5 * time.Second).UnixMilli()
			if tc.late {
				req.Sent = time.Now().Add(-time.Second).UnixMilli()
			}
			// A ready instance, so the run starts at once and only its own doing
			// makes the worker claim it.
			if err := pools.Prepare(req, time.Now()); err != nil {
				t.Fatal(err)
			}
			if pools.waitIdle(req.ReactorID, 1) < 1 {
				t.Fatal("no instance was prepared")
			}
			data, _ := encodeRequest(req)
			if err := nc.PublishRequest(subject(DefaultPrefix, req.Tier), inbox, data); err != nil {
				t.Fatal(err)
			}
			select {
			case r := <-answers:
				if tc.answer == "" {
					t.Fatalf("a refused run answered: %d %s", r.Status, r.Body)
				}
				if !strings.Contains(string(r.Body), tc.answer) {
					t.Fatalf("answer %d %s, want %q in it", r.Status, r.Body, tc.answer)
				}
			case <-time.After(2 * time.Second):
				if tc.answer != "" {
					t.Fatal("no answer")
				}
			}
			time.Sleep(100 * time.Millisecond) // anything late would have arrived
			if got := claims.Load(); got != tc.claims {
				t.Errorf("%d claims, want %d", got, tc.claims)
			}
			if got := hits.Load(); got != tc.destHits {
				t.Errorf("the destination saw %d requests, want %d", got, tc.destHits)
			}
			logged := logs.String()[before:]
			if shown := strings.Contains(logged, "secret-console-line"); shown != tc.logsShown {
				t.Errorf("console output in the log: %v, want %v", shown, tc.logsShown)
			}
			if strings.Contains(logged, `"level":"ERROR"`) {
				t.Errorf("a refused or granted run logged an error:\n%s", logged)
			}
		})
	}
}
