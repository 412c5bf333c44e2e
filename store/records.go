package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// records is a key-value bucket of sealed JSON records addressed by id, with
// optimistic revisions; Reactors and Proxies are two of them.
type records[T any] struct {
	kv   jetstream.KeyValue
	noun string // in error messages: "reactor", "proxy"
	// encode and decode convert between a record and its at-rest form.
	encode  func(*T) ([]byte, error)
	decode  func(b []byte, rev uint64) (*T, error)
	created func(*T) time.Time
	// view is the gateway's in-memory copy, current once Follow ran.
	view view[T]
	// index, when set, reports the bucket's keys that are secondary index entries
	// rather than records; list and watch pass over them.
	index func(key string) bool
}

func (s *records[T]) isIndex(key string) bool { return s.index != nil && s.index(key) }

func (s *records[T]) create(ctx context.Context, id string, r *T) (uint64, error) {
	b, err := s.encode(r)
	if err != nil {
		return 0, err
	}
	rev, err := s.kv.Create(ctx, id, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, ErrExists
	}
	if err != nil {
		return 0, fmt.Errorf("store: create %s: %w", s.noun, err)
	}
	return rev, nil
}

func (s *records[T]) get(ctx context.Context, id string) (*T, error) {
	e, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", s.noun, err)
	}
	return s.decode(e.Value(), e.Revision())
}

// update replaces a record if the bucket still holds revision rev, else ErrConflict.
func (s *records[T]) update(ctx context.Context, id string, r *T, rev uint64) (uint64, error) {
	b, err := s.encode(r)
	if err != nil {
		return 0, err
	}
	next, err := s.kv.Update(ctx, id, b, rev)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			return 0, ErrConflict
		}
		return 0, fmt.Errorf("store: update %s: %w", s.noun, err)
	}
	return next, nil
}

// delete removes a record; deleting a missing one is ErrNotFound.
func (s *records[T]) delete(ctx context.Context, id string) error {
	if _, err := s.get(ctx, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, id); err != nil {
		return fmt.Errorf("store: delete %s: %w", s.noun, err)
	}
	s.view.forget(id)
	return nil
}

// list returns every record, oldest first.
func (s *records[T]) list(ctx context.Context) ([]*T, error) {
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: list %s records: %w", s.noun, err)
	}
	var out []*T
	for id := range lister.Keys() {
		if s.isIndex(id) {
			continue
		}
		r, err := s.get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return s.created(out[i]).Before(s.created(out[j])) })
	return out, nil
}

// watch calls emit with every current record, then with each change (nil for a
// deletion), until ctx ends or emit returns false; then it calls done.
func (s *records[T]) watch(ctx context.Context, emit func(id string, r *T) bool, done func()) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("store: watch %s records: %w", s.noun, err)
	}
	go func() {
		defer done()
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil || s.isIndex(e.Key()) { // initial values done, or an index entry
					continue
				}
				var r *T
				if e.Operation() == jetstream.KeyValuePut {
					if r, err = s.decode(e.Value(), e.Revision()); err != nil {
						continue
					}
				}
				if !emit(e.Key(), r) {
					return
				}
			}
		}
	}()
	return nil
}
