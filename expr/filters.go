package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// arity is the number of arguments each filter takes: [min, max].
var arity = map[string][2]int{
	"json":        {1, 1},
	"reveal_last": {1, 2},
	"last4":       {0, 0},
	"remove":      {1, 1},
	"replace":     {1, 2},
	"stringify":   {0, 0},
}

// check validates filter f (the i-th of e) at parse time, so a malformed expression
// fails before anything is resolved.
func (e *Expr) check(i int, f Filter) error {
	a, ok := arity[f.Name]
	if !ok {
		return fmt.Errorf("unknown filter %q", f.Name)
	}
	if len(f.Args) < a[0] || len(f.Args) > a[1] {
		if a[0] == a[1] {
			return fmt.Errorf("filter %s takes %d argument(s), got %d", f.Name, a[0], len(f.Args))
		}
		return fmt.Errorf("filter %s takes %d to %d arguments, got %d", f.Name, a[0], a[1], len(f.Args))
	}
	switch f.Name {
	case "json":
		p, err := parsePath(f.Args[0])
		if err != nil {
			return fmt.Errorf("json path %q: %w", f.Args[0], err)
		}
		if e.paths == nil {
			e.paths = map[int]jsonPath{}
		}
		e.paths[i] = p
	case "reveal_last":
		if n, err := strconv.Atoi(f.Args[0]); err != nil || n < 0 {
			return fmt.Errorf("reveal_last needs a count >= 0, got %q", f.Args[0])
		}
		if len(f.Args) == 2 && len([]rune(f.Args[1])) != 1 {
			return fmt.Errorf("reveal_last's mask character must be one character, got %q", f.Args[1])
		}
	}
	return nil
}

func (e *Expr) apply(v any) (any, error) {
	if len(e.Filters) > 0 {
		var err error
		if v, err = plain(v); err != nil {
			return nil, &Error{Expr: e.Text, Err: err}
		}
	}
	for i, f := range e.Filters {
		var err error
		switch f.Name {
		case "json":
			v = e.paths[i].selectFrom(v)
		case "stringify":
			if _, ok := v.(string); !ok {
				b, merr := marshal(v)
				v, err = string(b), merr
			}
		default:
			v, err = stringFilter(f, v)
		}
		if err != nil {
			return nil, &Error{Expr: e.Text, Err: err}
		}
	}
	return v, nil
}

func stringFilter(f Filter, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	s, err := text(v)
	if err != nil {
		return nil, err
	}
	switch f.Name {
	case "reveal_last":
		n, _ := strconv.Atoi(f.Args[0])
		mask := 'X'
		if len(f.Args) == 2 {
			mask = []rune(f.Args[1])[0]
		}
		return revealLast(s, n, mask), nil
	case "last4":
		r := []rune(s)
		return string(r[max(0, len(r)-4):]), nil
	case "remove":
		return strings.ReplaceAll(s, f.Args[0], ""), nil
	case "replace":
		with := ""
		if len(f.Args) == 2 {
			with = f.Args[1]
		}
		return strings.ReplaceAll(s, f.Args[0], with), nil
	}
	return nil, fmt.Errorf("unknown filter %q", f.Name)
}

// revealLast masks all but the last n characters, keeping '-' delimiters in place
// (the seed's "123-45-6789" → "XXX-XX-6789").
func revealLast(s string, n int, mask rune) string {
	r := []rune(s)
	for i := 0; i < len(r)-n; i++ {
		if r[i] != '-' {
			r[i] = mask
		}
	}
	return string(r)
}

// jsonPath is a compiled path: each step is a string (member) or an int (index).
type jsonPath []any

var errPath = errors.New("supported: $, .name, ['name'], [index]")

func parsePath(s string) (jsonPath, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, "$")
	if !ok {
		return nil, fmt.Errorf("must start with $ (%w)", errPath)
	}
	var p jsonPath
	for rest != "" {
		switch rest[0] {
		case '.':
			j := 1
			for j < len(rest) && rest[j] != '.' && rest[j] != '[' {
				j++
			}
			if j == 1 {
				return nil, fmt.Errorf("empty member name (%w)", errPath)
			}
			p = append(p, rest[1:j])
			rest = rest[j:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("missing ] (%w)", errPath)
			}
			in := strings.TrimSpace(rest[1:end])
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				name := in[1 : len(in)-1]
				if strings.ContainsAny(name, `'"\`) {
					return nil, fmt.Errorf("quotes inside a bracketed name (%w)", errPath)
				}
				p = append(p, name)
			} else {
				n, err := strconv.Atoi(in)
				if err != nil {
					return nil, fmt.Errorf("bad index %q (%w)", in, errPath)
				}
				p = append(p, n)
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("unexpected %q (%w)", rest[0], errPath)
		}
	}
	return p, nil
}

func (p jsonPath) selectFrom(v any) any {
	for _, step := range p {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[s]
		case int:
			a, ok := v.([]any)
			if !ok {
				return nil
			}
			if s < 0 {
				s += len(a)
			}
			if s < 0 || s >= len(a) {
				return nil
			}
			v = a[s]
		}
	}
	return v
}
