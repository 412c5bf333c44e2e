// Package store keeps the service's state in NATS JetStream: reactor records in a
// key-value bucket (configuration sealed at rest) and bundles in an object store,
// addressed by their sha256. Every process of a deployment shares them through NATS.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/images"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/runtime"
)

// Errors callers map to API statuses.
var (
	ErrNotFound = errors.New("store: not found")
	ErrConflict = errors.New("store: changed concurrently")
	ErrExists   = errors.New("store: already exists")
)

// ReactorsBucket is the key-value bucket of reactor records.
const ReactorsBucket = "reactord_reactors"

// Runtime is a reactor's runtime object.
type Runtime struct {
	Image           string            `json:"image"`
	Dependencies    map[string]string `json:"dependencies,omitempty"`
	Resolutions     map[string]string `json:"resolutions,omitempty"`
	Timeout         int               `json:"timeout,omitempty"`
	Resources       string            `json:"resources,omitempty"`
	WarmConcurrency int               `json:"warm_concurrency"`
	Permissions     []string          `json:"permissions,omitempty"`
	// Bundle is the sha256 of a bundle published by `reactord publish` to the shared
	// bundle store: a node22 reactor with one runs it without building (an extension).
	Bundle string `json:"bundle,omitempty"`
}

// Built reports whether code on this runtime goes through a build step (its image
// takes npm dependencies) before it can run.
func (r *Runtime) Built() bool { return r != nil && images.Of(r.Image).Build }

// Limits are the limits code on this runtime runs with: its tier's memory and its
// timeout (nil: the standard tier and the default timeout). Evaluating untrusted
// code at create and build time uses them too.
func (r *Runtime) Limits() runtime.Limits {
	tier, timeout := runtime.Standard, runtime.DefaultTimeout
	if r != nil && r.Resources != "" {
		tier = runtime.Tier(r.Resources)
	}
	if r != nil && r.Timeout > 0 {
		timeout = time.Duration(r.Timeout) * time.Second
	}
	l, err := runtime.TierLimits(tier)
	if err != nil { // validated before; fall back to the smallest tier
		l, _ = runtime.TierLimits(runtime.Standard)
	}
	l.Timeout = timeout
	return l
}

// ApplicationRef points at an application.
type ApplicationRef struct {
	ID string `json:"id"`
}

// Requested is a node22 reactor's pending deployment: the configuration being built
// and, when the build failed, why.
type Requested struct {
	Reactor      *Pending        `json:"reactor,omitempty"`
	ErrorCode    string          `json:"error_code,omitempty"`
	ErrorMessage string          `json:"error_message,omitempty"`
	ErrorDetails json.RawMessage `json:"error_details,omitempty"`
}

// Pending is the reactor configuration of a pending deployment.
type Pending struct {
	Name          string            `json:"name,omitempty"`
	Code          string            `json:"code"`
	Runtime       *Runtime          `json:"runtime,omitempty"`
	Configuration map[string]string `json:"configuration,omitempty"`
	Application   *ApplicationRef   `json:"application,omitempty"`
}

// Reactor states of node22 reactors (node-bt reactors have none).
const (
	StateCreating = "creating"
	StateActive   = "active"
	StateFailed   = "failed"
	StateUpdating = "updating"
	StateOutdated = "outdated"
)

// Reactor is a reactor record as the API shows it.
type Reactor struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenant_id"`
	Name          string            `json:"name"`
	State         string            `json:"state,omitempty"`
	Code          string            `json:"code"`
	Configuration map[string]string `json:"configuration,omitempty"`
	Runtime       *Runtime          `json:"runtime,omitempty"`
	Requested     *Requested        `json:"requested,omitempty"`
	Application   *ApplicationRef   `json:"application,omitempty"`
	CreatedBy     string            `json:"created_by,omitempty"`
	CreatedAt     time.Time         `json:"created_at"`
	ModifiedBy    string            `json:"modified_by,omitempty"`
	ModifiedAt    *time.Time        `json:"modified_at,omitempty"`
	// Resolved maps each npm dependency of the running version to the version its
	// build installed (ranges resolved).
	Resolved map[string]string `json:"resolved_dependencies,omitempty"`
	// Bundle is the sha256 of the bundle the reactor runs (not shown by the API).
	Bundle string `json:"-"`
	// Lockfile is npm's package-lock.json of the running version's build, so that
	// building the same dependencies again installs the same tree (not shown).
	Lockfile []byte `json:"-"`
	// Revision is the record's revision in the bucket, for optimistic updates.
	Revision uint64 `json:"-"`
}

// stored is the at-rest form: configuration sealed with the record id as aad.
type stored struct {
	Reactor
	Bundle        string `json:"bundle"`
	Lockfile      []byte `json:"lockfile,omitempty"`
	SealedConfig  []byte `json:"configuration_sealed,omitempty"`
	Configuration any    `json:"configuration,omitempty"` // always empty at rest
	// SealedPending is the pending deployment's configuration, sealed likewise.
	SealedPending []byte `json:"requested_configuration_sealed,omitempty"`
}

// Reactors is the reactor bucket.
type Reactors struct {
	records records[Reactor]
	key     *seal.Key
}

// OpenReactors opens (or creates) the reactor bucket.
func OpenReactors(ctx context.Context, js jetstream.JetStream, key *seal.Key) (*Reactors, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ReactorsBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", ReactorsBucket, err)
	}
	s := &Reactors{key: key}
	s.records = records[Reactor]{kv: kv, noun: "reactor", encode: s.encode, decode: s.decode,
		created: func(r *Reactor) time.Time { return r.CreatedAt }}
	s.records.view.revision = func(r *Reactor) uint64 { return r.Revision }
	return s, nil
}

func (s *Reactors) encode(r *Reactor) ([]byte, error) {
	st := stored{Reactor: *r, Bundle: r.Bundle, Lockfile: r.Lockfile}
	st.Reactor.Configuration = nil
	if len(r.Configuration) > 0 {
		plain, err := json.Marshal(r.Configuration)
		if err != nil {
			return nil, err
		}
		st.SealedConfig = s.key.Seal(plain, []byte(r.ID))
	}
	if q := r.Requested; q != nil && q.Reactor != nil && len(q.Reactor.Configuration) > 0 {
		plain, _ := json.Marshal(q.Reactor.Configuration)
		st.SealedPending = s.key.Seal(plain, []byte(r.ID+"/requested"))
		pending, requested := *q.Reactor, *q
		pending.Configuration, requested.Reactor = nil, &pending
		st.Reactor.Requested = &requested
	}
	return json.Marshal(st)
}

func (s *Reactors) decode(b []byte, rev uint64) (*Reactor, error) {
	var st stored
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("store: corrupt reactor record: %w", err)
	}
	r := st.Reactor
	r.Bundle, r.Lockfile, r.Revision = st.Bundle, st.Lockfile, rev
	if len(st.SealedConfig) > 0 {
		plain, err := s.key.Open(st.SealedConfig, []byte(r.ID))
		if err != nil {
			return nil, fmt.Errorf("store: reactor %s configuration: %w", r.ID, err)
		}
		if err := json.Unmarshal(plain, &r.Configuration); err != nil {
			return nil, err
		}
	}
	if len(st.SealedPending) > 0 && r.Requested != nil && r.Requested.Reactor != nil {
		plain, err := s.key.Open(st.SealedPending, []byte(r.ID+"/requested"))
		if err != nil {
			return nil, fmt.Errorf("store: reactor %s pending configuration: %w", r.ID, err)
		}
		if err := json.Unmarshal(plain, &r.Requested.Reactor.Configuration); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// Create stores a new reactor.
func (s *Reactors) Create(ctx context.Context, r *Reactor) error {
	rev, err := s.records.create(ctx, r.ID, r)
	if err == nil {
		r.Revision = rev
		s.records.view.remember(r.ID, r)
	}
	return err
}

// Get returns a reactor or ErrNotFound.
func (s *Reactors) Get(ctx context.Context, id string) (*Reactor, error) {
	return s.records.get(ctx, id)
}

// Update replaces a reactor if it is still at r.Revision, else ErrConflict.
func (s *Reactors) Update(ctx context.Context, r *Reactor) error {
	rev, err := s.records.update(ctx, r.ID, r, r.Revision)
	if err == nil {
		r.Revision = rev
		s.records.view.remember(r.ID, r)
	}
	return err
}

// Follow keeps an in-memory copy of the bucket current until ctx ends, for Cached.
func (s *Reactors) Follow(ctx context.Context) error { return s.records.follow(ctx) }

// Cached returns a reactor from the in-memory copy Follow keeps, falling back to
// the bucket; callers must not modify it.
func (s *Reactors) Cached(ctx context.Context, id string) (*Reactor, error) {
	return s.records.cached(ctx, id)
}

// Delete removes a reactor; deleting a missing one is ErrNotFound.
func (s *Reactors) Delete(ctx context.Context, id string) error { return s.records.delete(ctx, id) }

// List returns every reactor, oldest first.
func (s *Reactors) List(ctx context.Context) ([]*Reactor, error) { return s.records.list(ctx) }

// Change is one update of the bucket seen by Watch: a reactor, or its deletion.
type Change struct {
	ID      string
	Reactor *Reactor // nil when deleted
}

// Watch streams every current reactor, then each change, until ctx ends.
func (s *Reactors) Watch(ctx context.Context) (<-chan Change, error) {
	out := make(chan Change, 64)
	err := s.records.watch(ctx, func(id string, r *Reactor) bool {
		select {
		case out <- Change{ID: id, Reactor: r}:
			return true
		case <-ctx.Done():
			return false
		}
	}, func() { close(out) })
	if err != nil {
		return nil, err
	}
	return out, nil
}
