package tokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrSelfAssociation is refused: a token cannot be its own child.
var ErrSelfAssociation = errors.New("a token cannot be its own child")

// associationKey names one parent/child association; a parent's associations share
// a prefix, so listing them reads only its own keys.
func associationKey(tenantID, parentID, childID string) string {
	return "c." + tenantID + "." + parentID + "." + childID
}

// Associate makes childID a child of parentID (Basis Theory's token associations);
// both must be live tokens of the tenant. Associating twice is not an error.
func (s *Store) Associate(ctx context.Context, tenantID, parentID, childID string) error {
	if parentID == childID {
		return ErrSelfAssociation
	}
	for _, id := range []string{parentID, childID} {
		if _, err := s.Get(ctx, tenantID, id); err != nil {
			return err
		}
	}
	if _, err := s.kv.Put(ctx, associationKey(tenantID, parentID, childID), []byte{}); err != nil {
		return fmt.Errorf("tokens: associate: %w", err)
	}
	return nil
}

// Dissociate removes an association; a missing one is ErrNotFound.
func (s *Store) Dissociate(ctx context.Context, tenantID, parentID, childID string) error {
	if !validID(parentID) || !validID(childID) {
		return ErrNotFound
	}
	k := associationKey(tenantID, parentID, childID)
	if _, err := s.kv.Get(ctx, k); errors.Is(err, jetstream.ErrKeyNotFound) {
		return ErrNotFound
	} else if err != nil {
		return fmt.Errorf("tokens: dissociate: %w", err)
	}
	if err := s.kv.Delete(ctx, k); err != nil {
		return fmt.Errorf("tokens: dissociate: %w", err)
	}
	return nil
}

// Children returns the live child tokens of a live parent matching f's IDs and
// Types, with plaintext data. Children deleted or expired since are left out.
func (s *Store) Children(ctx context.Context, tenantID, parentID string, f ListFilter) ([]*Token, error) {
	if _, err := s.Get(ctx, tenantID, parentID); err != nil {
		return nil, err
	}
	prefix := associationKey(tenantID, parentID, "")
	keys, err := s.kv.ListKeysFiltered(ctx, prefix+"*")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return []*Token{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: children: %w", err)
	}
	var recs []string
	for k := range keys.Keys() {
		child := strings.TrimPrefix(k, prefix)
		if len(f.IDs) > 0 && !slices.Contains(f.IDs, child) {
			continue
		}
		recs = append(recs, recordKey(tenantID, child))
	}
	toks, err := s.fetch(ctx, recs)
	if err != nil {
		return nil, err
	}
	out := toks[:0]
	for _, t := range toks {
		if len(f.Types) == 0 || slices.Contains(f.Types, t.Type) {
			out = append(out, t)
		}
	}
	return out, nil
}

// dropAssociations removes a deleted token's associations to its children.
func (s *Store) dropAssociations(ctx context.Context, tenantID, parentID string) {
	keys, err := s.kv.ListKeysFiltered(ctx, associationKey(tenantID, parentID, "*"))
	if err != nil {
		return
	}
	for k := range keys.Keys() {
		s.kv.Delete(ctx, k)
	}
}
