package store

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/internal/seal"
)

// ProxiesBucket is the key-value bucket of pre-configured proxy records.
const ProxiesBucket = "reactord_proxies"

// ProxyTransform is one request or response transform of a proxy, as the seed's
// Proxy Request/Response Transform objects describe it.
type ProxyTransform struct {
	// Type is code (default), tokenize, mask, append_json, append_text or append_header.
	Type        string          `json:"type,omitempty"`
	Code        string          `json:"code,omitempty"`
	Runtime     *Runtime        `json:"runtime,omitempty"`
	Matcher     string          `json:"matcher,omitempty"`
	Expression  string          `json:"expression,omitempty"`
	Replacement string          `json:"replacement,omitempty"`
	Options     json.RawMessage `json:"options,omitempty"`
	// Bundle is the sha256 of a code transform's bundle (not shown by the API).
	Bundle string `json:"-"`
}

// IsCode reports whether the transform runs code (type code, the default).
func (t ProxyTransform) IsCode() bool { return t.Type == "" || t.Type == "code" }

// Built reports whether the transform is code that goes through a build step.
func (t ProxyTransform) Built() bool { return t.IsCode() && t.Runtime.Built() }

// NeedsBuild reports whether any of the transforms goes through a build step.
func NeedsBuild(transforms ...[]ProxyTransform) bool {
	for _, ts := range transforms {
		for _, t := range ts {
			if t.Built() {
				return true
			}
		}
	}
	return false
}

// Proxy is a pre-configured proxy record as the API shows it.
type Proxy struct {
	ID                    string            `json:"id"`
	TenantID              string            `json:"tenant_id"`
	Name                  string            `json:"name"`
	Key                   string            `json:"key"`
	DestinationURL        string            `json:"destination_url"`
	RequestTransforms     []ProxyTransform  `json:"request_transforms"`
	ResponseTransforms    []ProxyTransform  `json:"response_transforms"`
	Configuration         map[string]string `json:"configuration,omitempty"`
	ApplicationID         string            `json:"application_id,omitempty"`
	RequireAuth           bool              `json:"require_auth"`
	DisableDetokenization bool              `json:"disable_detokenization"`
	CreatedBy             string            `json:"created_by,omitempty"`
	CreatedAt             time.Time         `json:"created_at"`
	ModifiedBy            string            `json:"modified_by,omitempty"`
	ModifiedAt            *time.Time        `json:"modified_at,omitempty"`
	// State is set while node22 code transforms build (as reactors: creating ->
	// active or failed, updating -> active or outdated); Requested holds the pending
	// transforms and, after a failed build, why.
	State     string          `json:"state,omitempty"`
	Requested *ProxyRequested `json:"requested,omitempty"`
	// Revision is the record's revision in the bucket, for optimistic updates and
	// for keying warm instances of its code transforms per version.
	Revision uint64 `json:"-"`
	// LegacyTransforms records that the proxy was written with the older API's
	// single request_transform/response_transform fields, which the API then echoes.
	LegacyTransforms bool `json:"-"`
}

// ProxyRequested is a proxy's pending deployment: transforms being built.
type ProxyRequested struct {
	RequestTransforms  []ProxyTransform `json:"request_transforms,omitempty"`
	ResponseTransforms []ProxyTransform `json:"response_transforms,omitempty"`
	ErrorCode          string           `json:"error_code,omitempty"`
	ErrorMessage       string           `json:"error_message,omitempty"`
	ErrorDetails       json.RawMessage  `json:"error_details,omitempty"`
}

// storedTransform keeps the bundle hash the API hides.
type storedTransform struct {
	ProxyTransform
	Bundle string `json:"bundle,omitempty"`
}

// storedProxy is the at-rest form: configuration sealed with the record id as aad.
type storedProxy struct {
	Proxy
	RequestTransforms  []storedTransform `json:"request_transforms"`
	ResponseTransforms []storedTransform `json:"response_transforms"`
	SealedConfig       []byte            `json:"configuration_sealed,omitempty"`
	Configuration      any               `json:"configuration,omitempty"` // always empty at rest
	LegacyTransforms   bool              `json:"legacy_transforms,omitempty"`
}

// Proxies is the proxy bucket.
type Proxies struct {
	records records[Proxy]
	key     *seal.Key
	// byKey indexes the in-memory copy by proxy key; guarded by the view's lock.
	byKey map[string]*Proxy
	// lists counts List calls, so tests can tell a key lookup never scans.
	lists atomic.Int64
}

// keyHashPrefix starts the bucket's index entries: keyhash.<sha256 of a proxy key>
// holds the proxy's id, so that finding a proxy by key (or learning that no proxy
// has it) is one read, whatever the number of proxies. The key itself is never a
// bucket key: it is the only credential of a proxy that requires no auth.
const keyHashPrefix = "keyhash."

func keyHashEntry(key string) string {
	sum := sha256.Sum256([]byte(key))
	return keyHashPrefix + hex.EncodeToString(sum[:])
}

// OpenProxies opens (or creates) the proxy bucket.
func OpenProxies(ctx context.Context, js jetstream.JetStream, key *seal.Key) (*Proxies, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ProxiesBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", ProxiesBucket, err)
	}
	s := &Proxies{key: key}
	s.records = records[Proxy]{kv: kv, noun: "proxy", encode: s.encode, decode: s.decode,
		created: func(p *Proxy) time.Time { return p.CreatedAt },
		index:   func(key string) bool { return strings.HasPrefix(key, keyHashPrefix) }}
	s.byKey = map[string]*Proxy{}
	s.records.view.revision = func(p *Proxy) uint64 { return p.Revision }
	s.records.view.changed = func(old, p *Proxy) {
		if old != nil {
			delete(s.byKey, old.Key)
		}
		if p != nil {
			s.byKey[p.Key] = p
		}
	}
	if err := s.backfill(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// backfill indexes the proxies stored before the key index existed; once every
// proxy is indexed it costs one listing of the bucket's keys at start.
func (s *Proxies) backfill(ctx context.Context) error {
	lister, err := s.records.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("store: list %s keys: %w", ProxiesBucket, err)
	}
	indexed, ids := map[string]bool{}, []string{}
	for k := range lister.Keys() {
		if strings.HasPrefix(k, keyHashPrefix) {
			indexed[k] = true
		} else {
			ids = append(ids, k)
		}
	}
	if len(indexed) >= len(ids) {
		return nil
	}
	for _, id := range ids {
		p, err := s.records.get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if !indexed[keyHashEntry(p.Key)] {
			if err := s.index(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// index records p's key hash -> id entry.
func (s *Proxies) index(ctx context.Context, p *Proxy) error {
	if _, err := s.records.kv.Put(ctx, keyHashEntry(p.Key), []byte(p.ID)); err != nil {
		return fmt.Errorf("store: index proxy %s: %w", p.ID, err)
	}
	return nil
}

func toStored(ts []ProxyTransform) []storedTransform {
	out := make([]storedTransform, len(ts))
	for i, t := range ts {
		out[i] = storedTransform{ProxyTransform: t, Bundle: t.Bundle}
	}
	return out
}

func fromStored(ts []storedTransform) []ProxyTransform {
	out := make([]ProxyTransform, len(ts))
	for i, t := range ts {
		out[i] = t.ProxyTransform
		out[i].Bundle = t.Bundle
	}
	return out
}

func (s *Proxies) encode(p *Proxy) ([]byte, error) {
	st := storedProxy{Proxy: *p, RequestTransforms: toStored(p.RequestTransforms), ResponseTransforms: toStored(p.ResponseTransforms),
		LegacyTransforms: p.LegacyTransforms}
	st.Proxy.Configuration = nil
	if len(p.Configuration) > 0 {
		plain, err := json.Marshal(p.Configuration)
		if err != nil {
			return nil, err
		}
		st.SealedConfig = s.key.Seal(plain, []byte(p.ID))
	}
	return json.Marshal(st)
}

func (s *Proxies) decode(b []byte, rev uint64) (*Proxy, error) {
	var st storedProxy
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("store: corrupt proxy record: %w", err)
	}
	p := st.Proxy
	p.RequestTransforms, p.ResponseTransforms = fromStored(st.RequestTransforms), fromStored(st.ResponseTransforms)
	p.Revision, p.LegacyTransforms = rev, st.LegacyTransforms
	if len(st.SealedConfig) > 0 {
		plain, err := s.key.Open(st.SealedConfig, []byte(p.ID))
		if err != nil {
			return nil, fmt.Errorf("store: proxy %s configuration: %w", p.ID, err)
		}
		if err := json.Unmarshal(plain, &p.Configuration); err != nil {
			return nil, fmt.Errorf("store: proxy %s configuration: %w", p.ID, err)
		}
	}
	return &p, nil
}

// Create stores a new proxy and indexes its key. The index entry is written first:
// one left behind by a failed create points at no proxy and finds nothing.
func (s *Proxies) Create(ctx context.Context, r *Proxy) error {
	if err := s.index(ctx, r); err != nil {
		return err
	}
	rev, err := s.records.create(ctx, r.ID, r)
	if err == nil {
		r.Revision = rev
		s.records.view.remember(r.ID, r)
	}
	return err
}

// Get returns a proxy or ErrNotFound.
func (s *Proxies) Get(ctx context.Context, id string) (*Proxy, error) { return s.records.get(ctx, id) }

// Update replaces a proxy if it is still at r.Revision, else ErrConflict. A proxy
// keeps its key; the index entry is written again in case it was lost.
func (s *Proxies) Update(ctx context.Context, r *Proxy) error {
	rev, err := s.records.update(ctx, r.ID, r, r.Revision)
	if err == nil {
		err = s.index(ctx, r)
	}
	if err == nil {
		r.Revision = rev
		s.records.view.remember(r.ID, r)
	}
	return err
}

// Follow keeps an in-memory copy of the bucket current until ctx ends, for Cached
// and ByKey.
func (s *Proxies) Follow(ctx context.Context) error { return s.records.follow(ctx) }

// Cached returns a proxy from the in-memory copy Follow keeps, falling back to the
// bucket; callers must not modify it.
func (s *Proxies) Cached(ctx context.Context, id string) (*Proxy, error) {
	return s.records.cached(ctx, id)
}

// ByKey returns the proxy whose key is key: from the in-memory copy, else (a proxy
// created on another gateway a moment ago) through the key index, one read. A key
// of another shape than this service generates is not looked up. ErrNotFound
// otherwise.
func (s *Proxies) ByKey(ctx context.Context, key string) (*Proxy, error) {
	s.records.view.mu.RLock()
	p := s.byKey[key]
	s.records.view.mu.RUnlock()
	if p != nil {
		return p, nil
	}
	if _, err := hex.DecodeString(key); err != nil || len(key) != 32 {
		return nil, ErrNotFound
	}
	e, err := s.records.kv.Get(ctx, keyHashEntry(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: find proxy by key: %w", err)
	}
	p, err = s.records.cached(ctx, string(e.Value()))
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(p.Key), []byte(key)) != 1 {
		return nil, ErrNotFound
	}
	return p, nil
}

// Delete removes a proxy and its key's index entry; deleting a missing one is
// ErrNotFound.
func (s *Proxies) Delete(ctx context.Context, id string) error {
	p, err := s.records.get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.records.delete(ctx, id); err != nil {
		return err
	}
	if err := s.records.kv.Delete(ctx, keyHashEntry(p.Key)); err != nil {
		return fmt.Errorf("store: unindex proxy %s: %w", id, err)
	}
	return nil
}

// List returns every proxy, oldest first.
func (s *Proxies) List(ctx context.Context) ([]*Proxy, error) {
	s.lists.Add(1)
	return s.records.list(ctx)
}
