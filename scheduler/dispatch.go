package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Dispatcher sends invocations to workers and waits for their replies. All replies
// arrive on one wildcard subscription and are routed by token to the waiting call.
//
// An invocation runs at most once: the dispatcher grants one claim per invocation,
// and sends an invocation again only when no claim was granted in time, so a re-sent
// invocation never also runs on the worker that took it first. A worker claims an
// invocation before anything it runs reaches outside its sandbox; an answer that
// arrives unclaimed is the claim (a run that needed nothing outside finished first).
// Once the dispatcher gives up on a send, it takes neither claims nor answers for it.
type Dispatcher struct {
	nc     *nats.Conn
	prefix string

	inbox    string // reply subject prefix, ends with "."
	setup    sync.Once
	setupErr error
	next     atomic.Uint64
	mu       sync.Mutex
	waiting  map[string]*call

	// AckWait bounds the wait for a worker's claim.
	AckWait time.Duration
	// LostAfter is how long a claimed invocation may go without an answer before the
	// dispatcher asks its worker whether it is still there. Only a worker that is
	// gone (NATS has no subscriber for it) is lost; a busy or stalled one is waited
	// for until the deadline.
	LostAfter time.Duration
}

// call is one dispatch waiting for its worker.
type call struct {
	ch      chan *nats.Msg
	claimed bool
	worker  string // the claiming worker's presence subject
}

// NewDispatcher returns a dispatcher on nc.
func NewDispatcher(nc *nats.Conn) *Dispatcher {
	return &Dispatcher{nc: nc, prefix: DefaultPrefix, AckWait: 2 * time.Second, LostAfter: time.Second,
		waiting: map[string]*call{}}
}

func (d *Dispatcher) subscribe() error {
	d.setup.Do(func() {
		d.inbox = nats.NewInbox() + "."
		_, d.setupErr = d.nc.Subscribe(d.inbox+"*", d.receive)
	})
	return d.setupErr
}

// receive routes a worker's message to its call. A claim is answered here, under the
// lock, so that granting it and giving up on the invocation cannot both happen; an
// unclaimed answer claims the invocation the same way.
func (d *Dispatcher) receive(m *nats.Msg) {
	token := m.Subject[len(d.inbox):]
	d.mu.Lock()
	c := d.waiting[token]
	if m.Reply != "" { // a claim: only claims ask for an answer
		granted := c != nil && !c.claimed
		if granted {
			c.claimed, c.worker = true, string(m.Data)
		}
		d.mu.Unlock()
		if granted {
			m.Respond(grantGo)
		} else {
			m.Respond(grantNo)
		}
		return
	}
	if c != nil {
		c.claimed = true
	}
	d.mu.Unlock()
	if c != nil {
		select {
		case c.ch <- m:
		default: // the caller stopped waiting
		}
	}
}

// Dispatch errors the gateway maps to API responses.
var (
	ErrNoWorkers = errors.New("scheduler: no worker serves the tier")
	// ErrNotStarted: no worker took the invocation in time; it did not run.
	ErrNotStarted = errors.New("scheduler: no worker took the invocation")
	// ErrWorkerLost: the worker running the invocation is gone; it may have run.
	ErrWorkerLost = errors.New("scheduler: the worker running the invocation stopped")
)

// Invoke sends req to its tier and returns the reply. An invocation no worker
// claimed in time is sent once more while the deadline allows.
func (d *Dispatcher) Invoke(ctx context.Context, req Request) (Reply, error) {
	r, err := d.once(ctx, req)
	if errors.Is(err, ErrNotStarted) && time.Until(req.DeadlineTime()) > d.AckWait {
		r, err = d.once(ctx, req)
	}
	return r, err
}

func (d *Dispatcher) once(ctx context.Context, req Request) (Reply, error) {
	if err := d.subscribe(); err != nil {
		return Reply{}, fmt.Errorf("scheduler: %w", err)
	}
	req.Sent = time.Now().UnixMilli()
	data, err := encodeRequest(req)
	if err != nil {
		return Reply{}, err
	}
	token := strconv.FormatUint(d.next.Add(1), 36)
	c := &call{ch: make(chan *nats.Msg, 8)}
	d.mu.Lock()
	d.waiting[token] = c
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.waiting, token)
		d.mu.Unlock()
	}()
	msg := &nats.Msg{Subject: subject(d.prefix, req.Tier), Reply: d.inbox + token, Data: data}
	if err := d.nc.PublishMsg(msg); err != nil {
		return Reply{}, fmt.Errorf("scheduler: publish: %w", err)
	}
	ctx, cancel := context.WithDeadline(ctx, req.DeadlineTime().Add(time.Second))
	defer cancel()
	timer := time.NewTimer(d.AckWait)
	defer timer.Stop()
	for {
		select {
		case m := <-c.ch:
			if m.Header != nil {
				if m.Header.Get("Status") == "503" { // NATS: nobody subscribes to the tier
					return Reply{}, ErrNoWorkers
				}
				continue // another status from NATS; results carry no headers
			}
			var r Reply
			if err := decodeReply(m.Data, &r); err != nil {
				return Reply{}, fmt.Errorf("scheduler: malformed reply: %w", err)
			}
			return r, nil
		case <-timer.C:
			d.mu.Lock()
			claimed, worker := c.claimed, c.worker
			if !claimed {
				delete(d.waiting, token) // a late claim is refused from now on
			}
			d.mu.Unlock()
			if !claimed {
				return Reply{}, ErrNotStarted
			}
			if !d.present(ctx, worker) {
				return Reply{}, ErrWorkerLost
			}
			timer.Reset(d.LostAfter)
		case <-ctx.Done():
			return Reply{}, fmt.Errorf("scheduler: no reply before the deadline: %w", context.DeadlineExceeded)
		}
	}
}

// present asks a worker whether it is still there. Only NATS answering that nobody
// listens on its presence subject means gone: a worker too busy or stalled to answer
// in time is still presumed to be running the invocation.
func (d *Dispatcher) present(ctx context.Context, worker string) bool {
	if worker == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, d.LostAfter)
	defer cancel()
	_, err := d.nc.RequestWithContext(ctx, worker, nil)
	return !errors.Is(err, nats.ErrNoResponders)
}
