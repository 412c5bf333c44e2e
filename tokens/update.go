package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// Update applies an RFC 7386 merge patch to a token, as Basis Theory's PATCH
// /tokens/{id}: data, mask and metadata merge; containers, search_indexes,
// fingerprint_expression and expires_at are replaced (null restores the type's
// default, or removes expires_at); deduplicate_token is accepted and has no effect
// on an update. The result is validated as the token's type requires, its
// fingerprint and blind indexes recomputed, and it is returned with plaintext data.
func (s *Store) Update(ctx context.Context, tenantID, id string, patch json.RawMessage, modifiedBy string) (*Token, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(patch, &fields); err != nil || fields == nil {
		return nil, &ValidationError{Fields: map[string][]string{"body": {"must be a JSON object"}}}
	}
	for range 5 {
		t, revision, err := s.read(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		next, err := s.patched(ctx, t, fields, modifiedBy)
		if err != nil {
			return nil, err
		}
		b, err := s.marshal(next)
		if err != nil {
			return nil, err
		}
		rev, err := s.kv.Update(ctx, recordKey(tenantID, t.ID), b, revision)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence {
			continue // changed meanwhile: patch the newer version
		}
		if err != nil {
			return nil, fmt.Errorf("tokens: update: %w", err)
		}
		s.wrote(rev)
		if next.Fingerprint != t.Fingerprint {
			s.dropFingerprint(ctx, &record{Token: *t})
			if _, err := s.kv.Put(ctx, fingerprintIndex(tenantID, next.Type, next.Fingerprint), []byte(next.ID)); err != nil {
				return nil, fmt.Errorf("tokens: index fingerprint: %w", err)
			}
		}
		return next, nil
	}
	return nil, fmt.Errorf("tokens: update: token %s kept changing; retry", id)
}

// patched returns t with the patch applied and validated.
func (s *Store) patched(ctx context.Context, t *Token, fields map[string]json.RawMessage, by string) (*Token, error) {
	errs := fieldErrors{}
	tt := types[t.Type]
	next := *t
	dataPatched := false
	isNull := func(raw json.RawMessage) bool { return string(raw) == "null" }
	data, err := decode(t.Data)
	if err != nil {
		return nil, fmt.Errorf("tokens: token %s: %w", t.ID, err)
	}
	for k, raw := range fields {
		switch k {
		case "data":
			p, err := decode(raw)
			switch {
			case err != nil:
				errs.add("data", "is not valid JSON")
			case p == nil:
				errs.add("data", "cannot be removed")
			default:
				data, dataPatched = mergePatch(data, p), true
			}
		case "mask":
			if isNull(raw) {
				next.Mask = nil
				continue
			}
			p, err := decode(raw)
			if err != nil {
				errs.add("mask", "is not valid JSON")
				continue
			}
			var old any
			if len(t.Mask) > 0 {
				old, _ = decode(t.Mask)
			}
			b, _ := json.Marshal(mergePatch(old, p))
			next.Mask = b
		case "metadata":
			if isNull(raw) {
				next.Metadata = nil
				continue
			}
			var p map[string]*string
			if json.Unmarshal(raw, &p) != nil {
				errs.add("metadata", "must be an object of strings")
				continue
			}
			md := make(map[string]string, len(t.Metadata)+len(p))
			for k, v := range t.Metadata {
				md[k] = v
			}
			for k, v := range p {
				if v == nil {
					delete(md, k)
				} else {
					md[k] = *v
				}
			}
			next.Metadata = md
		case "containers":
			var cs []string
			if !isNull(raw) && json.Unmarshal(raw, &cs) != nil {
				errs.add("containers", "must be an array of strings")
			}
			if cs == nil {
				cs = slices.Clone(tt.containers)
			}
			next.Containers = cs
		case "search_indexes":
			var ixs []string
			if !isNull(raw) && json.Unmarshal(raw, &ixs) != nil {
				errs.add("search_indexes", "must be an array of strings")
			}
			next.SearchIndexes = ixs
		case "fingerprint_expression":
			next.FingerprintExpression = tt.fingerprint
			var fe string
			if !isNull(raw) && json.Unmarshal(raw, &fe) != nil {
				errs.add("fingerprint_expression", "must be a string")
			} else if fe != "" {
				next.FingerprintExpression = fe
			}
		case "expires_at":
			next.ExpiresAt = nil
			var v string
			if isNull(raw) {
				continue
			}
			if json.Unmarshal(raw, &v) != nil {
				errs.add("expires_at", "must be a string")
				continue
			}
			at, err := parseTime(v)
			switch {
			case err != nil:
				errs.add("expires_at", "%v", err)
			case !at.After(s.now()):
				errs.add("expires_at", "must be in the future")
			default:
				next.ExpiresAt = &at
			}
		case "deduplicate_token":
			var b *bool
			if json.Unmarshal(raw, &b) != nil {
				errs.add("deduplicate_token", "must be a boolean")
			}
		case "type":
			var v string
			if json.Unmarshal(raw, &v) != nil || v != t.Type {
				errs.add("type", "a token's type cannot be changed")
			}
		case "id":
			var v string
			if json.Unmarshal(raw, &v) != nil || v != t.ID {
				errs.add("id", "a token's id cannot be changed")
			}
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	if dataPatched {
		next.Data, _ = json.Marshal(data)
	}
	if tt.validate != nil {
		tt.validate(data, errs)
	}
	validContainers(next.Containers, errs)
	if len(next.Mask) > 0 {
		if _, err := overData(ctx, next.Mask, data); err != nil {
			errs.add("mask", "%v", err)
		}
	}
	s.derive(ctx, &next, data, errs)
	if len(errs) > 0 {
		return nil, &ValidationError{Fields: errs}
	}
	now := s.now()
	next.ModifiedBy, next.ModifiedAt = by, &now
	return &next, nil
}

// mergePatch applies an RFC 7386 merge patch: objects merge recursively, null
// removes a member, anything else replaces.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, _ := target.(map[string]any)
	out := make(map[string]any, len(t)+len(p))
	for k, v := range t {
		out[k] = v
	}
	for k, v := range p {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = mergePatch(out[k], v)
		}
	}
	return out
}
