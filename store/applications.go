package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
)

// ApplicationsBucket is the key-value bucket of applications. It holds two kinds of
// keys: app.<id> (the record) and key.<sha256 of an API key> (the owning application's
// id), so a presented key is found with one read and never stored in plaintext.
const ApplicationsBucket = "reactord_applications"

// Application is an application record. Keys are held only as hashes.
type Application struct {
	ID          string          `json:"id"`
	TenantID    string          `json:"tenant_id"`
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Permissions []string        `json:"permissions"`
	Rules       json.RawMessage `json:"rules,omitempty"`
	Keys        []AppKey        `json:"keys"`
	CreatedBy   string          `json:"created_by,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	ModifiedBy  string          `json:"modified_by,omitempty"`
	ModifiedAt  *time.Time      `json:"modified_at,omitempty"`
	ExpiresAt   *time.Time      `json:"expires_at,omitempty"`
	// CanCreateExpiring is can_create_expiring_applications.
	CanCreateExpiring *bool `json:"can_create_expiring_applications,omitempty"`
	// Revision is the record's revision, for optimistic updates.
	Revision uint64 `json:"-"`
}

// AppKey is one API key of an application: its hash and metadata.
type AppKey struct {
	ID        string    `json:"id"`
	Hash      string    `json:"hash"`
	Version   string    `json:"version,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Expired reports whether an expiring application is past its expiry.
func (a *Application) Expired(now time.Time) bool {
	return a.ExpiresAt != nil && !now.Before(*a.ExpiresAt)
}

// Applications is the application bucket with an in-memory index, by id and by key
// hash, that Watch keeps current across processes.
type Applications struct {
	kv jetstream.KeyValue

	mu    sync.RWMutex
	byID  map[string]*Application
	byKey map[string]*Application // key hash -> application
}

// OpenApplications opens (or creates) the application bucket.
func OpenApplications(ctx context.Context, js jetstream.JetStream) (*Applications, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: ApplicationsBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", ApplicationsBucket, err)
	}
	return &Applications{kv: kv, byID: map[string]*Application{}, byKey: map[string]*Application{}}, nil
}

func appKey(id string) string { return "app." + id }
func hashKey(h string) string { return "key." + h }

func (s *Applications) decode(b []byte, rev uint64) (*Application, error) {
	var a Application
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("store: corrupt application record: %w", err)
	}
	a.Revision = rev
	return &a, nil
}

// Create stores a new application and the index entries of its keys.
func (s *Applications) Create(ctx context.Context, a *Application) error {
	for _, k := range a.Keys {
		if _, err := s.kv.Put(ctx, hashKey(k.Hash), []byte(a.ID)); err != nil {
			return fmt.Errorf("store: index application key: %w", err)
		}
	}
	b, _ := json.Marshal(a)
	rev, err := s.kv.Create(ctx, appKey(a.ID), b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("store: create application: %w", err)
	}
	a.Revision = rev
	s.index(a)
	return nil
}

// Get returns an application or ErrNotFound.
func (s *Applications) Get(ctx context.Context, id string) (*Application, error) {
	if id == "" || strings.ContainsAny(id, ".*> ") {
		return nil, ErrNotFound
	}
	e, err := s.kv.Get(ctx, appKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get application: %w", err)
	}
	return s.decode(e.Value(), e.Revision())
}

// ByKey returns the application owning an API key, or ErrNotFound.
func (s *Applications) ByKey(ctx context.Context, key string) (*Application, error) {
	h := HashKey(key)
	s.mu.RLock()
	a := s.byKey[h]
	s.mu.RUnlock()
	if a != nil {
		return a, nil
	}
	e, err := s.kv.Get(ctx, hashKey(h))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: look up application key: %w", err)
	}
	a, err = s.Get(ctx, string(e.Value()))
	if err != nil {
		return nil, err
	}
	if !a.hasKey(h) { // a stale index entry of a removed key
		return nil, ErrNotFound
	}
	s.index(a)
	return a, nil
}

func (a *Application) hasKey(hash string) bool {
	for _, k := range a.Keys {
		if k.Hash == hash {
			return true
		}
	}
	return false
}

// Update replaces an application if it is still at a.Revision (else ErrConflict),
// indexing added keys and dropping removed ones.
func (s *Applications) Update(ctx context.Context, a *Application) error {
	old, err := s.Get(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, k := range a.Keys {
		if !old.hasKey(k.Hash) {
			if _, err := s.kv.Put(ctx, hashKey(k.Hash), []byte(a.ID)); err != nil {
				return fmt.Errorf("store: index application key: %w", err)
			}
		}
	}
	b, _ := json.Marshal(a)
	rev, err := s.kv.Update(ctx, appKey(a.ID), b, a.Revision)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return ErrConflict
		}
		return fmt.Errorf("store: update application: %w", err)
	}
	a.Revision = rev
	for _, k := range old.Keys {
		if !a.hasKey(k.Hash) {
			s.kv.Delete(ctx, hashKey(k.Hash))
		}
	}
	s.index(a) // replaces the indexed revision and its key hashes
	return nil
}

// Delete removes an application and its keys; a missing one is ErrNotFound.
func (s *Applications) Delete(ctx context.Context, id string) error {
	a, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, appKey(id)); err != nil {
		return fmt.Errorf("store: delete application: %w", err)
	}
	for _, k := range a.Keys {
		s.kv.Delete(ctx, hashKey(k.Hash))
	}
	s.unindex(a)
	return nil
}

// List returns every application, oldest first.
func (s *Applications) List(ctx context.Context) ([]*Application, error) {
	lister, err := s.kv.ListKeys(ctx, jetstream.MetaOnly())
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: list applications: %w", err)
	}
	var out []*Application
	for k := range lister.Keys() {
		id, ok := strings.CutPrefix(k, "app.")
		if !ok {
			continue
		}
		a, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Cached returns an application from the index, reading the bucket only when this
// process has not seen it; for hot paths that only read it (records are shared).
func (s *Applications) Cached(ctx context.Context, id string) (*Application, error) {
	s.mu.RLock()
	a := s.byID[id]
	s.mu.RUnlock()
	if a != nil {
		return a, nil
	}
	a, err := s.Get(ctx, id)
	if err == nil {
		s.index(a)
	}
	return a, err
}

// index records a in the index unless a newer revision is there already.
func (s *Applications) index(a *Application) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.byID[a.ID]
	if cur != nil && cur.Revision > a.Revision {
		return
	}
	s.unindexLocked(cur)
	s.byID[a.ID] = a
	for _, k := range a.Keys {
		s.byKey[k.Hash] = a
	}
}

func (s *Applications) unindex(a *Application) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unindexLocked(s.byID[a.ID])
}

// unindexLocked drops a (the indexed record of its id) and its key hashes.
func (s *Applications) unindexLocked(a *Application) {
	if a == nil {
		return
	}
	for _, k := range a.Keys {
		if cur := s.byKey[k.Hash]; cur != nil && cur.ID == a.ID {
			delete(s.byKey, k.Hash)
		}
	}
	delete(s.byID, a.ID)
}

// Watch keeps the key index current with changes made by any process until ctx ends,
// so that a deleted application or key stops authenticating everywhere.
func (s *Applications) Watch(ctx context.Context) error {
	w, err := s.kv.Watch(ctx, "app.*")
	if err != nil {
		return fmt.Errorf("store: watch applications: %w", err)
	}
	go func() {
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					continue
				}
				id := strings.TrimPrefix(e.Key(), "app.")
				if e.Operation() != jetstream.KeyValuePut {
					s.mu.Lock()
					s.unindexLocked(s.byID[id])
					s.mu.Unlock()
				} else if a, err := s.decode(e.Value(), e.Revision()); err == nil {
					s.index(a)
				}
			}
		}
	}()
	return nil
}

// ManagementPermissions are the permissions the deployment's own management
// application holds: every permission the seeds assign to management applications.
var ManagementPermissions = []string{
	"application:create", "application:delete", "application:read", "application:update",
	"log:read", "proxy:create", "proxy:delete", "proxy:read", "proxy:update",
	"reactor:create", "reactor:delete", "reactor:read", "reactor:update", "report:read",
	"tenant:read", "tenant:update", "webhook:create", "webhook:delete", "webhook:read", "webhook:update",
}

// EnsureManagement makes the deployment's management application exist with the
// system's key hash (a configured key replaces the old one on restart).
func (s *Applications) EnsureManagement(ctx context.Context, sys System) error {
	a, err := s.Get(ctx, sys.ManagementAppID)
	now := time.Now().UTC().Truncate(time.Second)
	switch {
	case errors.Is(err, ErrNotFound):
		a = &Application{ID: sys.ManagementAppID, TenantID: sys.TenantID, Name: "Management", Type: "management",
			Permissions: ManagementPermissions, CreatedAt: now,
			Keys: []AppKey{{ID: uuid.NewString(), Hash: sys.ManagementHash, Version: "1", CreatedAt: now}}}
		if err := s.Create(ctx, a); err != nil && !errors.Is(err, ErrExists) {
			return err
		}
		return nil
	case err != nil:
		return err
	}
	// Permissions added to the management set since the application was created
	// (webhook:*) are granted on the next start.
	missing := false
	for _, p := range ManagementPermissions {
		if !slices.Contains(a.Permissions, p) {
			a.Permissions, missing = append(a.Permissions, p), true
		}
	}
	if a.hasKey(sys.ManagementHash) {
		if missing {
			return s.Update(ctx, a)
		}
		s.index(a)
		return nil
	}
	a.Keys = []AppKey{{ID: uuid.NewString(), Hash: sys.ManagementHash, Version: "1", CreatedAt: now}}
	return s.Update(ctx, a)
}
