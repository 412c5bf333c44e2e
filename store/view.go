package store

import (
	"context"
	"sync"
)

// view is the in-memory copy of a records bucket that a gateway keeps current with
// Follow, so that reading a record on the hot path costs no store round trip.
type view[T any] struct {
	mu        sync.RWMutex
	following bool
	byID      map[string]*T
	revision  func(*T) uint64
	// changed, when set, is called under the lock after each change (old or new may
	// be nil), to keep secondary indexes in step.
	changed func(old, new *T)
}

// remember keeps r unless the view holds a newer revision of it.
func (v *view[T]) remember(id string, r *T) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.following {
		return
	}
	old := v.byID[id]
	if old != nil && v.revision(old) > v.revision(r) {
		return
	}
	v.byID[id] = r
	if v.changed != nil {
		v.changed(old, r)
	}
}

func (v *view[T]) forget(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := v.byID[id]
	delete(v.byID, id)
	if old != nil && v.changed != nil {
		v.changed(old, nil)
	}
}

func (v *view[T]) lookup(id string) *T {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.byID[id]
}

// cached returns a record from the view, falling back to the bucket.
func (s *records[T]) cached(ctx context.Context, id string) (*T, error) {
	if r := s.view.lookup(id); r != nil {
		return r, nil
	}
	r, err := s.get(ctx, id)
	if err == nil {
		s.view.remember(id, r)
	}
	return r, err
}

// follow starts keeping the view current until ctx ends.
func (s *records[T]) follow(ctx context.Context) error {
	s.view.mu.Lock()
	s.view.following = true
	if s.view.byID == nil {
		s.view.byID = map[string]*T{}
	}
	s.view.mu.Unlock()
	return s.watch(ctx, func(id string, r *T) bool {
		if r == nil {
			s.view.forget(id)
		} else {
			s.view.remember(id, r)
		}
		return true
	}, func() {})
}
