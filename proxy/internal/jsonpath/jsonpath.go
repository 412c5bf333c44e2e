// Package jsonpath parses the simple JSONPath locations of append_json ($.a.b,
// $['a'], $.a[0]) and sets values at them, creating missing parent objects.
package jsonpath

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// step is one member name or one array index.
type step struct {
	name  string
	index int // -1 for a member
}

// Path is a parsed location.
type Path []step

// Parse parses a location; it must start with $ and name at least one member.
func Parse(s string) (Path, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, errors.New("a location starts with $")
	}
	s = s[1:]
	var p Path
	for s != "" {
		switch {
		case s[0] == '.':
			s = s[1:]
			n := strings.IndexAny(s, ".[")
			if n < 0 {
				n = len(s)
			}
			if n == 0 {
				return nil, errors.New("empty member name")
			}
			p = append(p, step{name: s[:n], index: -1})
			s = s[n:]
		case strings.HasPrefix(s, "['") || strings.HasPrefix(s, `["`):
			q := s[1]
			end := strings.IndexByte(s[2:], q)
			if end < 0 || len(s) < end+4 || s[end+3] != ']' {
				return nil, errors.New("unterminated bracket member")
			}
			p = append(p, step{name: s[2 : 2+end], index: -1})
			s = s[end+4:]
		case s[0] == '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, errors.New("unterminated index")
			}
			i, err := strconv.Atoi(s[1:end])
			if err != nil || i < 0 {
				return nil, fmt.Errorf("invalid index %q", s[1:end])
			}
			p = append(p, step{index: i})
			s = s[end+1:]
		default:
			return nil, fmt.Errorf("unexpected %q", s)
		}
	}
	if len(p) == 0 {
		return nil, errors.New("the location names no member")
	}
	return p, nil
}

// Set returns doc with v at the path. Missing objects on the way are created; an
// index must name an existing element.
func (p Path) Set(doc, v any) (any, error) {
	if len(p) == 0 {
		return v, nil
	}
	st := p[0]
	if st.index < 0 {
		obj, ok := doc.(map[string]any)
		if doc == nil {
			obj, ok = map[string]any{}, true
		}
		if !ok {
			return nil, fmt.Errorf("%q: the parent is not an object", st.name)
		}
		child, err := p[1:].Set(obj[st.name], v)
		if err != nil {
			return nil, err
		}
		obj[st.name] = child
		return obj, nil
	}
	arr, ok := doc.([]any)
	if !ok {
		return nil, fmt.Errorf("[%d]: the parent is not an array", st.index)
	}
	if st.index >= len(arr) {
		return nil, fmt.Errorf("[%d]: the array has %d elements", st.index, len(arr))
	}
	child, err := p[1:].Set(arr[st.index], v)
	if err != nil {
		return nil, err
	}
	arr[st.index] = child
	return arr, nil
}
