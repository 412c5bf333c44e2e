package scheduler_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/internal/natsd"
	rt "github.com/reactord/reactord/runtime"
	"github.com/reactord/reactord/scheduler"
)

// BenchmarkDispatch is one invocation from a gateway's Dispatcher to a Worker and
// back over an in-process NATS server, on a warm instance of a trivial reactor: the
// messages (invocation, claim, grant, result), their encoding and the worker's
// handling, with as little engine time as possible. Run it with -cpu 2.
func BenchmarkDispatch(b *testing.B) {
	ctx := context.Background()
	ns, err := natsd.Start(ctx, natsd.Options{DataDir: b.TempDir(), InProcessOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	gw, err := ns.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer gw.Close()
	wk, err := ns.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer wk.Close()

	eng, err := rt.NewEngine(ctx, rt.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close(ctx)
	store, err := bundles.NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	sha, err := store.Put(ctx, []byte(`module.exports = async (req) => ({ raw: req.args.n })`))
	if err != nil {
		b.Fatal(err)
	}
	pools := scheduler.NewPools(eng, store, scheduler.PoolsConfig{QueueWait: 5 * time.Second})
	defer pools.Close()
	w := scheduler.NewWorker(wk, pools, []rt.Tier{rt.Standard}, "bench", nil)
	if err := w.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer w.Stop(ctx)
	d := scheduler.NewDispatcher(gw)

	invoke := func() {
		req := scheduler.NewRequest("r1", sha, nil, nil)
		req.Args = json.RawMessage(`{"n":1}`)
		r, err := d.Invoke(ctx, req)
		if err != nil || r.Status != 200 {
			b.Fatalf("invoke: %v %d %s", err, r.Status, r.Body)
		}
	}
	invoke() // the cold start
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			invoke()
		}
	})
}
