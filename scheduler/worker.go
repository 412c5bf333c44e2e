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

	// ClaimAfter is how long an invocation runs unclaimed, with no host operation,
	// before the worker claims it; one taken more than ClaimAfter after it was sent is
	// claimed before it runs. Twice ClaimAfter must stay well below the dispatcher's
	// AckWait, so that an unclaimed answer arrives before the dispatcher gives up on
	// its send (gateway and worker clocks are assumed to agree to well within that
	// margin).
	ClaimAfter time.Duration
}

// NewWorker returns a worker for tiers; id names it in replies and logs.
func NewWorker(nc *nats.Conn, pools *Pools, tiers []rt.Tier, id string, log *slog.Logger) *Worker {
	if log == nil {
		log = slog.Default()
	}
	return &Worker{nc: nc, pools: pools, tiers: tiers, prefix: DefaultPrefix, id: id, log: log, handoff: make(chan *nats.Msg),
		ClaimAfter: DefaultClaimAfter}
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

// DefaultClaimAfter is a Worker's ClaimAfter: a quarter of the dispatcher's default
// AckWait.
const DefaultClaimAfter = 500 * time.Millisecond

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
	// The invocation runs at once, unclaimed: most finish before a claim's round trip
	// would have, and their result is the claim. It is claimed first only when it must
	// be: taken late, before its first host operation, or once it has run for
	// ClaimAfter.
	cl := &claim{w: w, inbox: m.Reply, ctx: ctx, stop: cancel}
	if req.Sent != 0 && time.Since(time.UnixMilli(req.Sent)) > w.ClaimAfter && !cl.ask() {
		// Taken late (a backlog, a slow link): the gateway may be giving up on it, so
		// it is claimed before it runs rather than run for an answer it would drop.
		return
	}
	claimAfter := time.AfterFunc(w.ClaimAfter, func() { cl.ask() })
	defer claimAfter.Stop()

	// One answer per invocation: the result, or the watchdog's timeout when a native
	// builtin holds the engine past the reactor's timeout (+5%); a timer, free unless
	// it fires. An answer is sent only if the invocation was not claimed or its claim
	// was granted.
	var mu sync.Mutex
	answered := false
	answer := func(r Reply) {
		mu.Lock()
		defer mu.Unlock()
		if !answered {
			answered = true
			if !cl.settle() {
				return // another worker runs it, or the gateway gave up: nothing of this run may show
			}
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
	ctx = rt.WithPermit(context.WithValue(ctx, claimKey{}, cl), cl.permit)
	reply, err := w.pools.Run(ctx, req, started)
	if watchdog != nil {
		watchdog.Stop()
	}
	switch {
	case err != nil && notGranted(ctx):
		// Stopped because its claim was refused: there is nothing to answer or log.
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

// errNotGranted refuses the host operations of a run whose claim was not granted.
var errNotGranted = errors.New("this run of the invocation was not granted: another worker runs it, or the caller stopped waiting")

// claim is a worker's claim on one invocation, asked only when needed: before the
// run's first host operation, or once it has run for ClaimAfter. A run that needs
// neither sends its answer unclaimed, and the gateway takes that answer as the
// claim. So nothing a run does outside its sandbox happens before its claim is
// granted, and an answer is sent only unclaimed or granted: a run the gateway
// already gave up on (and may have sent again) has no effect.
type claim struct {
	w     *Worker
	inbox string
	ctx   context.Context
	stop  context.CancelFunc // ends the run once its claim is refused

	mu    sync.Mutex // held while asking, so that settle waits for the answer
	state claimState
}

type claimState int

const (
	unclaimed claimState = iota
	granted
	refused
	answeredUnclaimed // the answer went unclaimed: it was the claim
)

// ask claims the invocation, once, and reports whether the claim was granted.
func (c *claim) ask() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == unclaimed {
		if c.w.claim(c.ctx, c.inbox) {
			c.state = granted
		} else {
			c.state = refused
			c.stop()
		}
	}
	return c.state == granted
}

type claimKey struct{}

// notGranted reports whether the run under ctx was claimed and the claim refused:
// the run then did not happen, as far as anyone outside the worker can tell.
func notGranted(ctx context.Context) bool {
	c, _ := ctx.Value(claimKey{}).(*claim)
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == refused
}

// permit lets a host operation start only once the invocation's claim is granted.
func (c *claim) permit(context.Context) error {
	if c.ask() {
		return nil
	}
	return errNotGranted
}

// settle reports whether the run's answer may be sent: unclaimed (the answer is
// then the claim, and no claim is asked after it) or granted.
func (c *claim) settle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == unclaimed {
		c.state = answeredUnclaimed
		return true
	}
	return c.state == granted
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
