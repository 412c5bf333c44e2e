package tokens

import (
	"context"
	"strings"
	"time"
)

// SetNow replaces the store's clock (expiry tests).
func SetNow(s *Store, now func() time.Time) { s.now = now }

// Count returns how many token records the bucket holds.
func Count(ctx context.Context, s *Store) (int, error) {
	keys, err := s.kv.ListKeys(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for k := range keys.Keys() {
		if strings.HasPrefix(k, "t.") {
			n++
		}
	}
	return n, nil
}

// IndexClosed returns a channel closed once the store's index has shut down (nil
// when none runs).
func IndexClosed(s *Store) <-chan struct{} {
	if ix := s.ix.Load(); ix != nil {
		return ix.closed
	}
	return nil
}

// ReadMany is the batched read BatchResolver starts from.
func ReadMany(ctx context.Context, s *Store, tenantID string, ids []string) (map[string]*Token, error) {
	return s.readMany(ctx, tenantID, ids)
}
