// Package webhooks sends events to the URLs a tenant registered, as Basis Theory's
// webhooks do: each event is {"event": {id, type, timestamp, tenant_id, trace_id,
// data}, "delivered_at"}, POSTed with its signature in BT-SIGNATURE. Deliveries go
// through a JetStream work queue, so an event is delivered at least once, retried with
// backoff while the receiver fails, and carries its event id for deduplication.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/internal/seal"
)

// Event types a webhook can subscribe to.
const (
	ReactorCreated                 = "reactor.created"
	ReactorUpdated                 = "reactor.updated"
	ReactorDeleted                 = "reactor.deleted"
	ReactorBuildFailed             = "reactor.build_failed"
	ReactorVulnerabilitiesFound    = "reactor.vulnerabilities_discovered"
	ProxyCreated                   = "proxy.created"
	ProxyUpdated                   = "proxy.updated"
	ProxyDeleted                   = "proxy.deleted"
	ProxyBuildFailed               = "proxy.build_failed"
	ProxyVulnerabilitiesDiscovered = "proxy.vulnerabilities_discovered"
)

// Events lists every event type, sorted.
var Events = []string{ProxyBuildFailed, ProxyCreated, ProxyDeleted, ProxyUpdated, ProxyVulnerabilitiesDiscovered,
	ReactorBuildFailed, ReactorCreated, ReactorDeleted, ReactorUpdated, ReactorVulnerabilitiesFound}

// Statuses of a webhook: a disabled one receives nothing.
const (
	Enabled  = "enabled"
	Disabled = "disabled"
)

// SignatureVersion is sent in BT-SIGNATURE-VERSION: BT-SIGNATURE is the base64
// HMAC-SHA256 of the body under the webhook's signing secret. The body's keys are
// sorted, so it equals its own stable stringification.
const SignatureVersion = "hmac-sha256"

// Bucket is the key-value bucket of webhooks.
const Bucket = "reactord_webhooks"

// Webhook is a registered receiver as the API shows it.
type Webhook struct {
	ID          string     `json:"id"`
	TenantID    string     `json:"tenant_id"`
	Status      string     `json:"status"`
	Name        string     `json:"name"`
	URL         string     `json:"url"`
	NotifyEmail string     `json:"notify_email,omitempty"`
	Events      []string   `json:"events"`
	CreatedBy   string     `json:"created_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ModifiedBy  string     `json:"modified_by,omitempty"`
	ModifiedAt  *time.Time `json:"modified_at,omitempty"`
	// Secret signs deliveries; the API shows it once, when the webhook is created.
	Secret string `json:"-"`
}

type stored struct {
	Webhook
	SealedSecret []byte `json:"secret_sealed"`
}

// Errors callers map to API statuses.
var ErrNotFound = errors.New("webhooks: not found")

// Store keeps webhooks, their signing secrets sealed at rest.
type Store struct {
	kv  jetstream.KeyValue
	key *seal.Key
}

// Open opens (or creates) the webhook bucket.
func Open(ctx context.Context, js jetstream.JetStream, key *seal.Key) (*Store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: Bucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("webhooks: open %s: %w", Bucket, err)
	}
	return &Store{kv: kv, key: key}, nil
}

// NewSecret returns a fresh signing secret.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

// Put creates or replaces a webhook.
func (s *Store) Put(ctx context.Context, w *Webhook) error {
	st := stored{Webhook: *w, SealedSecret: s.key.Seal([]byte(w.Secret), []byte(w.ID))}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, w.ID, b); err != nil {
		return fmt.Errorf("webhooks: store %s: %w", w.ID, err)
	}
	return nil
}

// Get returns a webhook with its secret.
func (s *Store) Get(ctx context.Context, id string) (*Webhook, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: get %s: %w", id, err)
	}
	var st stored
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return nil, fmt.Errorf("webhooks: decode %s: %w", id, err)
	}
	secret, err := s.key.Open(st.SealedSecret, []byte(st.ID))
	if err != nil {
		return nil, fmt.Errorf("webhooks: open the secret of %s: %w", id, err)
	}
	w := st.Webhook
	w.Secret = string(secret)
	return &w, nil
}

// List returns every webhook, oldest first.
func (s *Store) List(ctx context.Context) ([]*Webhook, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhooks: list: %w", err)
	}
	var out []*Webhook
	for id := range lister.Keys() {
		w, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Delete removes a webhook; its pending deliveries are dropped.
func (s *Store) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("webhooks: delete %s: %w", id, err)
	}
	return nil
}

// Validate checks a webhook's name, events and URL and returns the problems by field.
// The URL must be https (http too with allowHTTP) and, when it names an IP address,
// one the egress policy allows; a name is checked again on every delivery, when it
// resolves.
func Validate(w *Webhook, policy egress.Policy, allowHTTP bool) map[string][]string {
	errs := map[string][]string{}
	if w.Name == "" {
		errs["name"] = append(errs["name"], "The name field is required.")
	}
	if len(w.Events) == 0 {
		errs["events"] = append(errs["events"], "The events field requires at least one event.")
	}
	for _, e := range w.Events {
		if !slices.Contains(Events, e) {
			errs["events"] = append(errs["events"], fmt.Sprintf("Unknown event %q.", e))
		}
	}
	if w.Status != Enabled && w.Status != Disabled {
		errs["status"] = append(errs["status"], "The status must be enabled or disabled.")
	}
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		errs["url"] = append(errs["url"], "The url field is required.")
	case err != nil || u.Host == "":
		errs["url"] = append(errs["url"], "The url must be an absolute URL.")
	case u.Scheme != "https" && !(allowHTTP && u.Scheme == "http"):
		errs["url"] = append(errs["url"], "The url must use https.")
	case u.User != nil:
		errs["url"] = append(errs["url"], "The url must not carry credentials.")
	default:
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if err := policy.Check(ip); err != nil {
				errs["url"] = append(errs["url"], "The url is not allowed: "+err.Error())
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Event is one occurrence, as the body's "event" object.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	TenantID  string    `json:"tenant_id"`
	TraceID   string    `json:"trace_id,omitempty"`
	// Data holds the event's object under its kind ("reactor", "proxy") and the actor.
	Data map[string]any `json:"data"`
}

// NewEvent returns an event of type typ about data, with a fresh id.
func NewEvent(typ, tenantID string, data map[string]any) Event {
	return Event{ID: uuid.NewString(), Type: typ, Timestamp: time.Now().UTC(), TenantID: tenantID, Data: data}
}

// Body renders the delivered body: {"event": ..., "delivered_at": ...} with sorted
// keys, so that receivers verifying a stable stringification get the same bytes.
func Body(e Event, deliveredAt time.Time) ([]byte, error) {
	raw, err := json.Marshal(map[string]any{"event": e, "delivered_at": deliveredAt.UTC()})
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic) // maps marshal with sorted keys
}

// Sign is the BT-SIGNATURE of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature is body's under secret, in constant time.
func Verify(secret string, body []byte, signature string) bool {
	want, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(m.Sum(nil), want)
}
