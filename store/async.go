package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/internal/seal"
)

// Names of the asynchronous invocation queue and its results.
const (
	// AsyncStream is a work-queue stream: each accepted request is stored until one
	// gateway has run it and kept its result.
	AsyncStream  = "reactord_async"
	asyncSubject = "reactord.async.requests"
	// ResultsBucket keeps results (and pending markers) for the configured period.
	ResultsBucket = "reactord_results"
	asyncConsumer = "reactord-async-runner"
)

// AsyncRequest is one accepted react-async call. Args are sealed at rest.
type AsyncRequest struct {
	ID            string          `json:"id"`
	ReactorID     string          `json:"reactor_id"`
	TenantID      string          `json:"tenant_id"`
	ApplicationID string          `json:"application_id"`
	Permissions   []string        `json:"permissions,omitempty"`
	TraceID       string          `json:"trace_id,omitempty"`
	Args          json.RawMessage `json:"-"`
	AcceptedAt    time.Time       `json:"accepted_at"`
}

// AsyncResult is a request's state: pending until the invocation's answer is kept.
type AsyncResult struct {
	ID          string            `json:"id"`
	ReactorID   string            `json:"reactor_id"`
	Pending     bool              `json:"pending,omitempty"`
	Status      int               `json:"status,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	ContentType string            `json:"content_type,omitempty"`
	Body        []byte            `json:"-"`
	CompletedAt *time.Time        `json:"completed_at,omitempty"`
	// RetryAfter, from a handler, says the request did not run (no worker took it,
	// or every instance was busy) and should be delivered again after this long,
	// until asyncRetryFor after it was accepted; then the answer is kept.
	RetryAfter time.Duration `json:"-"`
}

type sealedRequest struct {
	AsyncRequest
	Sealed []byte `json:"args_sealed,omitempty"`
}

type sealedResult struct {
	AsyncResult
	Sealed []byte `json:"body_sealed,omitempty"`
}

// Async is the queue of asynchronous invocations and the bucket of their results.
type Async struct {
	js      jetstream.JetStream
	results jetstream.KeyValue
	key     *seal.Key
}

// OpenAsync opens (or creates) the queue and the results bucket; results expire
// after ttl.
func OpenAsync(ctx context.Context, js jetstream.JetStream, key *seal.Key, ttl time.Duration) (*Async, error) {
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: AsyncStream, Subjects: []string{asyncSubject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage}); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", AsyncStream, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ResultsBucket, History: 1, TTL: ttl, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", ResultsBucket, err)
	}
	return &Async{js: js, results: kv, key: key}, nil
}

// Enqueue records req as pending and queues it; once it returns, the request is
// durable.
func (a *Async) Enqueue(ctx context.Context, req AsyncRequest) error {
	if err := a.putResult(ctx, AsyncResult{ID: req.ID, ReactorID: req.ReactorID, Pending: true}); err != nil {
		return err
	}
	b, _ := json.Marshal(sealedRequest{AsyncRequest: req, Sealed: a.key.Seal(req.Args, []byte(req.ID))})
	if _, err := a.js.Publish(ctx, asyncSubject, b, jetstream.WithMsgID(req.ID)); err != nil {
		a.results.Delete(ctx, req.ID)
		return fmt.Errorf("store: queue async request: %w", err)
	}
	return nil
}

func (a *Async) putResult(ctx context.Context, r AsyncResult) error {
	st := sealedResult{AsyncResult: r}
	if len(r.Body) > 0 {
		st.Sealed = a.key.Seal(r.Body, []byte(r.ID))
	}
	b, _ := json.Marshal(st)
	if _, err := a.results.Put(ctx, r.ID, b); err != nil {
		return fmt.Errorf("store: keep async result: %w", err)
	}
	return nil
}

// Result returns a request's state, or ErrNotFound when it is unknown or expired.
func (a *Async) Result(ctx context.Context, id string) (*AsyncResult, error) {
	e, err := a.results.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get async result: %w", err)
	}
	var st sealedResult
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return nil, fmt.Errorf("store: corrupt async result: %w", err)
	}
	r := st.AsyncResult
	if len(st.Sealed) > 0 {
		if r.Body, err = a.key.Open(st.Sealed, []byte(r.ID)); err != nil {
			return nil, fmt.Errorf("store: async result %s: %w", r.ID, err)
		}
	}
	return &r, nil
}

// Run takes queued requests, runs up to concurrency of them at once through handle
// and keeps each result before acknowledging its request, until ctx ends. A process
// that stops mid-invocation leaves the request to be redelivered (at least once).
// asyncRetryFor is how long after it was accepted a request that did not run is
// still delivered again; past it, its last answer (429 or 503) is kept as its result.
const asyncRetryFor = 2 * time.Minute

func (a *Async) Run(ctx context.Context, concurrency int, log *slog.Logger, handle func(context.Context, AsyncRequest) AsyncResult) error {
	cons, err := a.js.CreateOrUpdateConsumer(ctx, AsyncStream, jetstream.ConsumerConfig{Durable: asyncConsumer,
		// Deliveries are not capped: a request whose gateway stops while it runs is
		// delivered again however often that happens, so every accepted request
		// ends with a result.
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, MaxDeliver: -1})
	if err != nil {
		return fmt.Errorf("store: async consumer: %w", err)
	}
	sem := make(chan struct{}, concurrency)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		var st sealedRequest
		if err := json.Unmarshal(m.Data(), &st); err != nil {
			log.Error("dropping a corrupt async request", "error", err)
			m.Term()
			return
		}
		req := st.AsyncRequest
		if req.Args, err = a.key.Open(st.Sealed, []byte(req.ID)); err != nil {
			log.Error("dropping an async request that does not open", "id", req.ID, "error", err)
			m.Term()
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		go func() {
			defer func() { <-sem }()
			res := handle(ctx, req)
			if ctx.Err() != nil { // stopping: the answer may be the stop itself; run it again later
				m.Nak()
				return
			}
			if res.RetryAfter > 0 && time.Since(req.AcceptedAt) < asyncRetryFor {
				log.Debug("async request did not run; it will be delivered again", "id", req.ID, "after", res.RetryAfter.String())
				m.NakWithDelay(res.RetryAfter)
				return
			}
			now := time.Now().UTC()
			res.ID, res.ReactorID, res.Pending, res.CompletedAt = req.ID, req.ReactorID, false, &now
			if err := a.putResult(context.WithoutCancel(ctx), res); err != nil {
				log.Error("keeping an async result failed; the request will be redelivered", "id", req.ID, "error", err)
				m.Nak()
				return
			}
			m.Ack()
		}()
	}, jetstream.PullMaxMessages(concurrency))
	if err != nil {
		return fmt.Errorf("store: consume async requests: %w", err)
	}
	go func() {
		<-ctx.Done()
		cc.Stop()
	}()
	return nil
}
