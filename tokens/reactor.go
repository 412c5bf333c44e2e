package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/reactord/reactord/expr"
)

// Detokenize replaces the {{ token-id }} expressions in args with the tokens' data
// (see package expr: `{{ id | json: '$.path' }}`, `{{ id.field }}`, interpolation in
// longer strings). At most MaxPerRequest distinct tokens. Errors name the expression:
// an *expr.Error wrapping ErrNotFound, expr.ErrSyntax or expr.ErrLimit, all of them
// the caller's fault (400). The caller's token:use permission is checked by the API.
func (s *Store) Detokenize(ctx context.Context, tenantID string, args json.RawMessage, allow ...Allow) (json.RawMessage, error) {
	if len(args) == 0 {
		return args, nil
	}
	return expr.EvalJSON(ctx, args, s.Resolver(tenantID, allow...), MaxPerRequest)
}

// Allow decides whether the caller may use a token, or create it where its
// containers put it; an error (ErrForbidden) refuses.
type Allow func(t *Token) error

// allowed runs every allow on t.
func allowed(t *Token, allow []Allow) error {
	for _, a := range allow {
		if err := a(t); err != nil {
			return err
		}
	}
	return nil
}

// Resolver resolves a bare ref (a token id, optionally with a dotted path into its
// data) to the token's plaintext data in the tenant, when every allow lets it; other
// forms are refused.
func (s *Store) Resolver(tenantID string, allow ...Allow) expr.Resolver {
	return func(ctx context.Context, r expr.Ref) (any, error) {
		if r.Keyed {
			return nil, fmt.Errorf("%s is not a token reference", r)
		}
		t, err := s.lookup(ctx, tenantID, r.Name)
		if err != nil {
			return nil, err
		}
		return resolved(t, r, allow)
	}
}

// resolved is what ref r resolves to in token t, once every allow lets the caller use it.
func resolved(t *Token, r expr.Ref, allow []Allow) (any, error) {
	if err := allowed(t, allow); err != nil {
		return nil, fmt.Errorf("token %s: %w", r.Name, err)
	}
	if len(r.Path) == 0 {
		return t.Data, nil // verbatim, key order kept
	}
	v, err := decode(t.Data)
	if err != nil {
		return nil, fmt.Errorf("token %s: %w", r.Name, err)
	}
	return expr.Lookup(v, r.Path...), nil
}

// IsCallerError reports whether err from Detokenize or Tokenize is the request's
// fault (answer 400) rather than the service's.
func IsCallerError(err error) bool {
	var ee *expr.Error
	var ve *ValidationError
	return errors.As(err, &ee) || errors.As(err, &ve) || errors.Is(err, ErrExists)
}

// Tokenize creates the tokens a reactor result's tokenize block asks for and returns
// the block with each request replaced by the created token (masked data), in the
// seed's tokenize shapes: an object with type and data is one create request; other
// objects and arrays are walked; any other non-null value becomes a "token" token
// and is replaced by its id. Everything is validated before anything is stored;
// errors are a *ValidationError with fields named by their place in the block
// (e.g. "card.data.number"). Tokens created before a storage failure are deleted.
// A request with deduplicate_token gets the existing token holding the same data,
// as Create does.
func (s *Store) Tokenize(ctx context.Context, tenantID, createdBy string, tokenize json.RawMessage, allow ...Allow) (json.RawMessage, error) {
	if len(bytes.TrimSpace(tokenize)) == 0 || string(bytes.TrimSpace(tokenize)) == "null" {
		return nil, nil
	}
	v, err := decode(tokenize)
	if err != nil {
		return nil, &ValidationError{Fields: map[string][]string{"tokenize": {"is not valid JSON"}}}
	}
	tk := &tokenizer{s: s, tenant: tenantID, by: createdBy, allow: allow, errs: fieldErrors{}}
	out := tk.walk(ctx, v, "")
	if tk.refused != nil {
		return nil, tk.refused
	}
	if len(tk.errs) > 0 {
		return nil, &ValidationError{Fields: tk.errs}
	}
	var stored []*Token // to remove again if a later one fails
	for i, t := range tk.created {
		if tk.dedup[i] {
			if old := s.duplicate(ctx, t); old != nil {
				tk.created[i] = old
				continue
			}
		}
		if err := s.put(ctx, t); err != nil {
			for _, done := range stored {
				s.Delete(ctx, tenantID, done.ID)
			}
			if errors.Is(err, ErrExists) {
				return nil, &ValidationError{Fields: map[string][]string{tk.where[i] + "id": {fmt.Sprintf("a token with id %q already exists", t.ID)}}}
			}
			return nil, err
		}
		stored = append(stored, t)
	}
	for i, t := range tk.created {
		m, err := t.Masked(ctx)
		if err != nil {
			return nil, err
		}
		*tk.slots[i] = m
	}
	b, err := json.Marshal(out)
	return b, err
}

type tokenizer struct {
	s      *Store
	tenant string
	by     string
	allow  []Allow
	errs   fieldErrors
	// refused is the first token the caller may not create where it would go.
	refused error
	// created[i] goes into *slots[i] once stored; where[i] prefixes its field errors.
	created []*Token
	slots   []*any
	where   []string
	dedup   []bool
}

func (tk *tokenizer) walk(ctx context.Context, v any, at string) any {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]any:
		_, hasType := v["type"].(string)
		if _, hasData := v["data"]; hasType && hasData {
			raw, _ := json.Marshal(v)
			r, err := ParseCreateRequest(raw)
			if err == nil {
				slot := new(any)
				tk.create(ctx, r, at, slot)
				return slot
			}
			tk.merge(err, at)
			return nil
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = tk.walk(ctx, e, join(at, k))
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = tk.walk(ctx, e, at+"["+strconv.Itoa(i)+"]")
		}
		return out
	default:
		raw, _ := json.Marshal(v)
		t := tk.create(ctx, CreateRequest{Type: "token", Data: raw}, at, nil)
		if t == nil {
			return nil
		}
		return t.ID
	}
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func (tk *tokenizer) create(ctx context.Context, r CreateRequest, at string, slot *any) *Token {
	if len(tk.created) >= MaxPerRequest {
		tk.errs.add("tokenize", "at most %d tokens per request", MaxPerRequest)
		return nil
	}
	r.TenantID, r.CreatedBy = tk.tenant, tk.by
	t, err := tk.s.prepare(ctx, r)
	if err != nil {
		tk.merge(err, at)
		return nil
	}
	if err := allowed(t, tk.allow); err != nil {
		if tk.refused == nil {
			tk.refused = fmt.Errorf("%s: %w", orRoot(at), err)
		}
		return nil
	}
	prefix := ""
	if at != "" {
		prefix = at + "."
	}
	if slot == nil {
		slot = new(any) // a plain value shows the id only
	}
	tk.created, tk.slots, tk.where = append(tk.created, t), append(tk.slots, slot), append(tk.where, prefix)
	tk.dedup = append(tk.dedup, r.DeduplicateToken)
	return t
}

func (tk *tokenizer) merge(err error, at string) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		tk.errs.add(orRoot(at), "%v", err)
		return
	}
	for f, msgs := range ve.Fields {
		k := join(at, f)
		tk.errs[k] = append(tk.errs[k], msgs...)
	}
}

func orRoot(at string) string {
	if at == "" {
		return "tokenize"
	}
	return at
}
