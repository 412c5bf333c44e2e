package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Stream and subject of pending deliveries: one message per event and webhook.
const (
	Stream  = "REACTORD_WEBHOOKS"
	subject = "reactord.webhooks.deliver"
)

// DefaultBackoff spaces the attempts of a delivery the receiver fails; after the last
// the delivery is dropped (and logged).
var DefaultBackoff = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour}

// delivery is a queued message.
type delivery struct {
	WebhookID string `json:"webhook_id"`
	Event     Event  `json:"event"`
}

// Config wires a Dispatcher.
type Config struct {
	JS    jetstream.JetStream
	Store *Store
	// Client sends deliveries; it should enforce the egress policy (egress.Fetcher's).
	Client *http.Client
	// Backoff spaces retries (default DefaultBackoff); its length bounds them.
	Backoff []time.Duration
	// Timeout bounds one attempt (default 10 s).
	Timeout    time.Duration
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Dispatcher queues events for the webhooks subscribed to them and delivers them.
type Dispatcher struct {
	cfg    Config
	log    *slog.Logger
	stream jetstream.Stream
	sent   *prometheus.CounterVec
}

// NewDispatcher opens the delivery stream.
func NewDispatcher(ctx context.Context, cfg Config) (*Dispatcher, error) {
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	st, err := cfg.JS.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: Stream, Subjects: []string{subject},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, Duplicates: 10 * time.Minute})
	if err != nil {
		return nil, fmt.Errorf("webhooks: open stream %s: %w", Stream, err)
	}
	d := &Dispatcher{cfg: cfg, log: cfg.Logger, stream: st,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reactord_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by outcome (delivered, retried, dropped)."}, []string{"outcome"})}
	if cfg.Registerer != nil {
		cfg.Registerer.MustRegister(d.sent)
	}
	return d, nil
}

// Publish queues e for every enabled webhook subscribed to its type. The message id
// (event id and webhook id) lets JetStream drop a duplicate publish.
func (d *Dispatcher) Publish(ctx context.Context, e Event) error {
	hooks, err := d.cfg.Store.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, w := range hooks {
		if w.Status != Enabled || !slices.Contains(w.Events, e.Type) {
			continue
		}
		b, err := json.Marshal(delivery{WebhookID: w.ID, Event: e})
		if err != nil {
			return err
		}
		if _, err := d.cfg.JS.Publish(ctx, subject, b, jetstream.WithMsgID(e.ID+"/"+w.ID)); err != nil {
			errs = append(errs, fmt.Errorf("webhooks: queue %s for %s: %w", e.Type, w.ID, err))
		}
	}
	return errors.Join(errs...)
}

// Run delivers queued events until ctx ends. Gateways share the queue: each delivery
// is taken by one of them.
func (d *Dispatcher) Run(ctx context.Context) error {
	cons, err := d.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "deliver", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: d.cfg.Timeout + 5*time.Second, MaxDeliver: len(d.cfg.Backoff) + 1, MaxAckPending: 64})
	if err != nil {
		return fmt.Errorf("webhooks: consumer: %w", err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { d.handle(ctx, m) })
	if err != nil {
		return fmt.Errorf("webhooks: consume: %w", err)
	}
	go func() {
		<-ctx.Done()
		cc.Stop()
	}()
	return nil
}

func (d *Dispatcher) handle(ctx context.Context, m jetstream.Msg) {
	var dl delivery
	if err := json.Unmarshal(m.Data(), &dl); err != nil {
		m.Term()
		return
	}
	attempt := 1
	if md, err := m.Metadata(); err == nil {
		attempt = int(md.NumDelivered)
	}
	w, err := d.cfg.Store.Get(ctx, dl.WebhookID)
	if errors.Is(err, ErrNotFound) || (err == nil && w.Status != Enabled) {
		m.Ack() // deleted or disabled since: nothing to deliver
		return
	}
	if err == nil {
		err = d.send(ctx, w, dl.Event)
	}
	log := d.log.With("webhook_id", dl.WebhookID, "event_id", dl.Event.ID, "event_type", dl.Event.Type, "attempt", attempt)
	switch {
	case err == nil:
		d.sent.WithLabelValues("delivered").Inc()
		m.Ack()
	case attempt > len(d.cfg.Backoff):
		d.sent.WithLabelValues("dropped").Inc()
		log.Error("webhook delivery failed for the last time: dropped", "error", err)
		m.Term()
	default:
		d.sent.WithLabelValues("retried").Inc()
		delay := d.cfg.Backoff[attempt-1]
		log.Warn("webhook delivery failed: retrying", "error", err, "retry_in", delay.String())
		m.NakWithDelay(delay)
	}
}

// send makes one attempt: a 2xx answer delivers.
func (d *Dispatcher) send(ctx context.Context, w *Webhook, e Event) error {
	body, err := Body(e, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "reactord-webhooks")
	req.Header.Set("BT-SIGNATURE", Sign(w.Secret, body))
	req.Header.Set("BT-SIGNATURE-VERSION", SignatureVersion)
	req.Header.Set("BT-EVENT-ID", e.ID)
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}
