package scheduler

import (
	"context"
	"encoding/json"
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
type Dispatcher struct {
	nc     *nats.Conn
	prefix string

	inbox    string // reply subject prefix, ends with "."
	setup    sync.Once
	setupErr error
	next     atomic.Uint64
	mu       sync.Mutex
	waiting  map[string]chan *nats.Msg

	// AckWait bounds the wait for a worker's first word (its result or a heartbeat).
	AckWait time.Duration
	// LostAfter is how long a running invocation may go without a heartbeat before
	// its worker is presumed gone.
	LostAfter time.Duration
}

// NewDispatcher returns a dispatcher on nc.
func NewDispatcher(nc *nats.Conn) *Dispatcher {
	return &Dispatcher{nc: nc, prefix: DefaultPrefix, AckWait: 2 * time.Second, LostAfter: 4 * heartbeat,
		waiting: map[string]chan *nats.Msg{}}
}

func (d *Dispatcher) subscribe() error {
	d.setup.Do(func() {
		d.inbox = nats.NewInbox() + "."
		_, d.setupErr = d.nc.Subscribe(d.inbox+"*", func(m *nats.Msg) {
			d.mu.Lock()
			ch := d.waiting[m.Subject[len(d.inbox):]]
			d.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default: // the caller stopped waiting
				}
			}
		})
	})
	return d.setupErr
}

// Dispatch errors the gateway maps to API responses.
var (
	ErrNoWorkers  = errors.New("scheduler: no worker serves the tier")
	ErrWorkerLost = errors.New("scheduler: the worker running the invocation stopped")
)

// Invoke sends req to its tier and returns the reply. If the worker that took it
// stops before answering, the invocation is sent once more to another worker while
// the deadline allows (it may then have run twice; a lost worker cannot tell).
func (d *Dispatcher) Invoke(ctx context.Context, req Request) (Reply, error) {
	data, err := json.Marshal(req)
	if err != nil {
		return Reply{}, err
	}
	r, err := d.once(ctx, req, data)
	if (errors.Is(err, ErrWorkerLost) || errors.Is(err, errNoAck)) && time.Until(req.DeadlineTime()) > d.AckWait {
		r, err = d.once(ctx, req, data)
	}
	if errors.Is(err, errNoAck) {
		err = ErrWorkerLost
	}
	return r, err
}

// errNoAck: a worker was subscribed but did not take the invocation in time (it may
// have died with the message in flight).
var errNoAck = errors.New("scheduler: no worker acknowledged the invocation")

func (d *Dispatcher) once(ctx context.Context, req Request, data []byte) (Reply, error) {
	if err := d.subscribe(); err != nil {
		return Reply{}, fmt.Errorf("scheduler: %w", err)
	}
	token := strconv.FormatUint(d.next.Add(1), 36)
	ch := make(chan *nats.Msg, 8)
	d.mu.Lock()
	d.waiting[token] = ch
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
	acked := false
	for {
		wait := d.AckWait
		if acked {
			wait = d.LostAfter
		}
		timer := time.NewTimer(wait)
		var m *nats.Msg
		select {
		case m = <-ch:
			timer.Stop()
		case <-timer.C:
			if acked {
				return Reply{}, ErrWorkerLost
			}
			return Reply{}, errNoAck
		case <-ctx.Done():
			timer.Stop()
			return Reply{}, fmt.Errorf("scheduler: no reply before the deadline: %w", context.DeadlineExceeded)
		}
		if m.Header.Get("Status") == "503" { // NATS: nobody subscribes to the tier
			return Reply{}, ErrNoWorkers
		}
		switch m.Header.Get(kindHeader) {
		case kindAlive:
			acked = true
		case kindResult:
			var r Reply
			if err := json.Unmarshal(m.Data, &r); err != nil {
				return Reply{}, fmt.Errorf("scheduler: malformed reply: %w", err)
			}
			return r, nil
		}
	}
}
