package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	rt "github.com/reactord/reactord/runtime"
)

// Reply kinds, in the Reactord-Kind header of messages to the gateway's inbox.
const (
	kindHeader = "Reactord-Kind"
	kindAlive  = "alive"  // the worker took the invocation and it is still running
	kindResult = "result" // the Reply
)

// heartbeat is how often a worker tells the gateway a running invocation is alive.
// Short invocations answer before the first one, so the hot path is one message each
// way.
const heartbeat = 250 * time.Millisecond

// Worker runs invocations that arrive over NATS for its tiers.
type Worker struct {
	nc     *nats.Conn
	pools  *Pools
	tiers  []rt.Tier
	prefix string
	id     string
	log    *slog.Logger

	subs     []*nats.Subscription
	inflight sync.WaitGroup
	ctx      context.Context
	cancel   context.CancelFunc
}

// NewWorker returns a worker for tiers; id names it in replies and logs.
func NewWorker(nc *nats.Conn, pools *Pools, tiers []rt.Tier, id string, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.Default()
	}
	return &Worker{nc: nc, pools: pools, tiers: tiers, prefix: DefaultPrefix, id: id, log: log}
}

// Start subscribes to the tiers' queue groups.
func (w *Worker) Start(ctx context.Context) error {
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	for _, t := range w.tiers {
		sub, err := w.nc.QueueSubscribe(subject(w.prefix, string(t)), QueueGroup, w.handle)
		if err != nil {
			w.Stop(ctx)
			return fmt.Errorf("scheduler: subscribe %s: %w", t, err)
		}
		// Invocations wait in the worker's pools, not in NATS buffers.
		sub.SetPendingLimits(-1, -1)
		w.subs = append(w.subs, sub)
	}
	return w.nc.Flush()
}

// Stop stops taking invocations and waits for those in flight, until ctx ends.
func (w *Worker) Stop(ctx context.Context) error {
	for _, s := range w.subs {
		s.Unsubscribe()
	}
	done := make(chan struct{})
	go func() { w.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if w.cancel != nil {
			w.cancel()
		}
		return ctx.Err()
	}
}

func (w *Worker) handle(m *nats.Msg) {
	w.inflight.Add(1)
	go func() {
		defer w.inflight.Done()
		w.serve(m)
	}()
}

func (w *Worker) send(inbox, kind string, data []byte) {
	msg := nats.NewMsg(inbox)
	msg.Header.Set(kindHeader, kind)
	msg.Data = data
	if err := w.nc.PublishMsg(msg); err != nil {
		w.log.Error("reply", "error", err)
	}
}

func (w *Worker) serve(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	var req Request
	if err := json.Unmarshal(m.Data, &req); err != nil {
		w.result(m.Reply, errorReply(400, "bad_request", "Bad Request", "malformed invocation"))
		return
	}
	deadline := req.DeadlineTime()
	if time.Now().After(deadline) {
		w.result(m.Reply, errorReply(500, "reactor_timeout", "Reactor Timeout", "the invocation waited past its deadline before a worker could run it"))
		return
	}
	ctx, cancel := context.WithDeadline(w.ctx, deadline)
	defer cancel()

	// One answer per invocation: the result, or the watchdog's timeout when a native
	// builtin holds the engine past the reactor's timeout (+5%). Heartbeats tell the
	// gateway a long invocation is alive; both are timers, free unless they fire.
	var mu sync.Mutex
	answered := false
	answer := func(r Reply) {
		mu.Lock()
		defer mu.Unlock()
		if !answered {
			answered = true
			r.Worker = w.id
			w.result(m.Reply, r)
		}
	}
	var beat *time.Timer
	mu.Lock() // the callback reads beat
	beat = time.AfterFunc(heartbeat, func() {
		mu.Lock()
		defer mu.Unlock()
		if !answered {
			w.send(m.Reply, kindAlive, nil)
			beat.Reset(heartbeat)
		}
	})
	mu.Unlock()
	defer beat.Stop()
	var watchdog *time.Timer
	started := func() {
		limit := time.Duration(req.TimeoutMS) * time.Millisecond
		watchdog = time.AfterFunc(limit+limit/20, func() {
			answer(errorReply(500, "reactor_timeout", "Reactor Timeout", fmt.Sprintf("reactor did not finish within its timeout of %s", limit)))
		})
	}
	reply, err := w.pools.Run(ctx, req, started)
	if watchdog != nil {
		watchdog.Stop()
	}
	switch {
	case errors.Is(err, ErrSaturated):
		reply = errorReply(429, "rate_limit_error", "Too Many Requests", fmt.Sprintf("every %s instance on this worker is busy; retry shortly", req.Tier))
	case errors.Is(err, context.DeadlineExceeded):
		reply = errorReply(500, "reactor_timeout", "Reactor Timeout", "the invocation did not start before its deadline")
	case err != nil:
		w.log.Error("invocation failed", "trace_id", req.TraceID, "reactor_id", req.ReactorID, "error", err)
		reply = errorReply(500, "reactor_runtime_error", "Reactor Runtime Error", "the reactor could not be started")
	}
	answer(reply)
}

func (w *Worker) result(inbox string, r Reply) {
	b, err := json.Marshal(r)
	if err != nil {
		w.log.Error("encode reply", "error", err)
		return
	}
	w.send(inbox, kindResult, b)
}
