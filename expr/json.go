package expr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// span is one string value of a JSON document that holds expressions.
type span struct {
	start, end int // the quoted string, quotes included
	tmpl       *Template
}

// maxConcurrentResolves bounds the refs EvalJSON resolves at once.
const maxConcurrentResolves = 8

// EvalJSON evaluates the expressions in every string value of a JSON document (object
// keys are left alone) and returns the document with those strings replaced; the rest
// keeps its bytes, order and formatting. Each distinct ref is resolved once. More than
// limit distinct refs (limit > 0) is an *Error wrapping ErrLimit, reported before
// anything is resolved, as are malformed expressions.
func EvalJSON(ctx context.Context, raw json.RawMessage, resolve Resolver, limit int) (json.RawMessage, error) {
	if !json.Valid(raw) {
		return nil, errors.New("expr: the document is not valid JSON")
	}
	if !bytes.Contains(raw, []byte("{{")) && !bytes.Contains(raw, []byte(`\u`)) {
		return raw, nil // nothing to do, the common case
	}
	var spans []span
	refs := map[string]Ref{}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '"' {
			continue
		}
		start, end := i, stringEnd(raw, i)
		k := end
		for k < len(raw) && (raw[k] == ' ' || raw[k] == '\t' || raw[k] == '\n' || raw[k] == '\r') {
			k++
		}
		lit := raw[i:end]
		i = end - 1
		if k < len(raw) && raw[k] == ':' { // an object key
			continue
		}
		if !bytes.Contains(lit, []byte("{{")) && !bytes.Contains(lit, []byte(`\u`)) {
			continue
		}
		var s string
		if err := json.Unmarshal(lit, &s); err != nil {
			return nil, fmt.Errorf("expr: %w", err)
		}
		t, err := ParseTemplate(s)
		if err != nil {
			return nil, err
		}
		exprs := t.Exprs()
		if len(exprs) == 0 {
			continue
		}
		for _, e := range exprs {
			refs[e.Ref.String()] = e.Ref
			if limit > 0 && len(refs) > limit {
				return nil, &Error{Expr: e.Text, Err: fmt.Errorf("%w: at most %d distinct references per request", ErrLimit, limit)}
			}
		}
		spans = append(spans, span{start: start, end: end, tmpl: t})
	}
	if len(spans) == 0 {
		return raw, nil
	}

	type result struct {
		v   any
		err error
	}
	cache := make(map[string]result, len(refs))
	if len(refs) > 1 {
		// Each ref is usually a store read: resolve them concurrently, bounded.
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, maxConcurrentResolves)
		for key, ref := range refs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				v, err := resolve(ctx, ref)
				mu.Lock()
				cache[key] = result{v, err}
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	eval := func(ctx context.Context, e *Expr) (any, error) {
		key := e.Ref.String()
		r, ok := cache[key]
		if !ok {
			r.v, r.err = resolve(ctx, e.Ref)
			cache[key] = r
		}
		if r.err != nil {
			return nil, &Error{Expr: e.Text, Err: r.err}
		}
		return e.apply(r.v)
	}
	var out bytes.Buffer
	out.Grow(len(raw))
	prev := 0
	for _, sp := range spans {
		v, err := sp.tmpl.eval(ctx, eval)
		if err != nil {
			return nil, err
		}
		b, err := marshal(v)
		if err != nil {
			return nil, &Error{Expr: sp.tmpl.Exprs()[0].Text, Err: fmt.Errorf("the value cannot be encoded as JSON: %w", err)}
		}
		out.Write(raw[prev:sp.start])
		out.Write(b)
		prev = sp.end
	}
	out.Write(raw[prev:])
	return out.Bytes(), nil
}

// stringEnd returns the index just past the closing quote of the JSON string that
// starts at raw[i] (the document is known to be valid).
func stringEnd(raw []byte, i int) int {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(raw)
}
