// Package store keeps the service's state in NATS JetStream: reactor records in a
// key-value bucket (configuration sealed at rest) and bundles in an object store,
// addressed by their sha256. Every process of a deployment shares them through NATS.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/internal/seal"
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
	// Bundle is the sha256 of the bundle the reactor runs (not shown by the API).
	Bundle string `json:"-"`
	// Revision is the record's revision in the bucket, for optimistic updates.
	Revision uint64 `json:"-"`
}

// stored is the at-rest form: configuration sealed with the record id as aad.
type stored struct {
	Reactor
	Bundle        string `json:"bundle"`
	SealedConfig  []byte `json:"configuration_sealed,omitempty"`
	Configuration any    `json:"configuration,omitempty"` // always empty at rest
	// SealedPending is the pending deployment's configuration, sealed likewise.
	SealedPending []byte `json:"requested_configuration_sealed,omitempty"`
}

// Reactors is the reactor bucket.
type Reactors struct {
	kv  jetstream.KeyValue
	key *seal.Key
}

// OpenReactors opens (or creates) the reactor bucket.
func OpenReactors(ctx context.Context, js jetstream.JetStream, key *seal.Key) (*Reactors, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ReactorsBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", ReactorsBucket, err)
	}
	return &Reactors{kv: kv, key: key}, nil
}

func (s *Reactors) encode(r *Reactor) ([]byte, error) {
	st := stored{Reactor: *r, Bundle: r.Bundle}
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
	r.Bundle, r.Revision = st.Bundle, rev
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
	b, err := s.encode(r)
	if err != nil {
		return err
	}
	rev, err := s.kv.Create(ctx, r.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("store: create reactor: %w", err)
	}
	r.Revision = rev
	return nil
}

// Get returns a reactor or ErrNotFound.
func (s *Reactors) Get(ctx context.Context, id string) (*Reactor, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get reactor: %w", err)
	}
	return s.decode(e.Value(), e.Revision())
}

// Update replaces a reactor if it is still at r.Revision, else ErrConflict.
func (s *Reactors) Update(ctx context.Context, r *Reactor) error {
	b, err := s.encode(r)
	if err != nil {
		return err
	}
	rev, err := s.kv.Update(ctx, r.ID, b, r.Revision)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return ErrConflict
		}
		return fmt.Errorf("store: update reactor: %w", err)
	}
	r.Revision = rev
	return nil
}

// Delete removes a reactor; deleting a missing one is ErrNotFound.
func (s *Reactors) Delete(ctx context.Context, id string) error {
	if _, err := s.Get(ctx, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("store: delete reactor: %w", err)
	}
	return nil
}

// List returns every reactor, oldest first.
func (s *Reactors) List(ctx context.Context) ([]*Reactor, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list reactors: %w", err)
	}
	var out []*Reactor
	for id := range lister.Keys() {
		r, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Change is one update of the bucket seen by Watch: a reactor, or its deletion.
type Change struct {
	ID      string
	Reactor *Reactor // nil when deleted
}

// Watch streams every current reactor, then each change, until ctx ends.
func (s *Reactors) Watch(ctx context.Context) (<-chan Change, error) {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: watch reactors: %w", err)
	}
	out := make(chan Change, 64)
	go func() {
		defer close(out)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil { // initial values done
					continue
				}
				c := Change{ID: e.Key()}
				if e.Operation() == jetstream.KeyValuePut {
					r, err := s.decode(e.Value(), e.Revision())
					if err != nil {
						continue
					}
					c.Reactor = r
				}
				select {
				case out <- c:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
