package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	rt "github.com/reactord/reactord/runtime"
)

// Messages a worker sends to the invocation's reply subject (the gateway's inbox) carry
// no headers: a claim is a request whose data is the worker's presence subject, and the
// gateway answers it grantGo or grantNo; the result is a plain message whose data is
// the Reply.

// Answers to a claim.
var (
	grantGo = []byte("go")
	grantNo = []byte("no")
)

// Worker runs invocations that arrive over NATS for its tiers.
type Worker struct {
	nc     *nats.Conn
	pools  *Pools
	tiers  []rt.Tier
	prefix string
	id     string
	log    *slog.Logger

	subs     []*nats.Subscription
	presence *nats.Subscription
	inflight sync.WaitGroup
	// handoff passes a message to a serving goroutine that finished its last one;
	// reusing goroutines spares each invocation a fresh stack grown again by JSON
	// decoding and the engine's calls.
	handoff chan *nats.Msg
	ctx     context.Context
	cancel  context.CancelFunc
}

// NewWorker returns a worker for tiers; id names it in replies and logs.
func NewWorker(nc *nats.Conn, pools *Pools, tiers []rt.Tier, id string, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.Default()
	}
	return &Worker{nc: nc, pools: pools, tiers: tiers, prefix: DefaultPrefix, id: id, log: log, handoff: make(chan *nats.Msg)}
}

// presenceSubject is where a worker answers the gateways that wait on it.
func (w *Worker) presenceSubject() string { return w.prefix + ".worker." + w.id }

// Start answers presence checks and subscribes to the tiers' queue groups.
func (w *Worker) Start(ctx context.Context) error {
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	presence, err := w.nc.Subscribe(w.presenceSubject(), func(m *nats.Msg) { m.Respond(nil) })
	if err != nil {
		return fmt.Errorf("scheduler: subscribe %s: %w", w.presenceSubject(), err)
	}
	w.presence = presence
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
	defer func() {
		if w.presence != nil {
			w.presence.Unsubscribe()
		}
	}()
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
	select {
	case w.handoff <- m:
	default:
		go w.serveLoop(m)
	}
}

// idleServer is how long a serving goroutine waits for another message before it ends.
const idleServer = 10 * time.Second

// serveLoop serves m, then any message handed off to it, until none comes for
// idleServer. Messages never wait for a goroutine: handle starts one when none is idle.
func (w *Worker) serveLoop(m *nats.Msg) {
	idle := time.NewTimer(idleServer)
	defer idle.Stop()
	for {
		w.serve(m)
		w.inflight.Done()
		idle.Reset(idleServer)
		select {
		case m = <-w.handoff:
		case <-idle.C:
			return
		}
	}
}

func (w *Worker) serve(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	var req Request
	if err := decodeRequest(m.Data, &req); err != nil {
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
	if !w.claim(ctx, m.Reply) {
		return // another worker runs it, or the gateway gave up: never run it here
	}

	// One answer per invocation: the result, or the watchdog's timeout when a native
	// builtin holds the engine past the reactor's timeout (+5%); a timer, free unless
	// it fires.
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

// claim asks the gateway for the invocation and reports whether it was granted.
func (w *Worker) claim(ctx context.Context, inbox string) bool {
	resp, err := w.nc.RequestWithContext(ctx, inbox, []byte(w.presenceSubject()))
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("claiming an invocation failed", "error", err)
		}
		return false
	}
	return string(resp.Data) == string(grantGo)
}

// result sends the reply; one that cannot be sent (larger than the server's
// max_payload) is answered with an error instead, so the caller is not left waiting.
func (w *Worker) result(inbox string, r Reply) {
	b, err := encodeReply(r)
	if err == nil {
		if err = w.nc.Publish(inbox, b); err == nil {
			return
		}
	}
	w.log.Error("sending a reply failed", "error", err, "bytes", len(b))
	fail, _ := encodeReply(errorReply(500, "reactor_runtime_error", "Reactor Runtime Error",
		fmt.Sprintf("the reactor ran, but its result (%d bytes) could not be delivered: %v", len(b), err)))
	if err := w.nc.Publish(inbox, fail); err != nil {
		w.log.Error("sending a reply failed", "error", err)
	}
}
