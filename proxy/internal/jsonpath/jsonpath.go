// Package jsonpath reads the JSONPath locations of append_json ($.a.b, $['a'],
// $.a[0]) and sets values at them, creating missing parent objects. Parsing is
// github.com/theory/jsonpath's (RFC 9535); RFC 9535 only selects, so setting is here.
package jsonpath

import (
	"errors"
	"fmt"

	"github.com/theory/jsonpath"
	"github.com/theory/jsonpath/spec"
)

// step is one member name or one array index.
type step struct {
	name  string
	index int // -1 for a member
}

// Path is a parsed location.
type Path []step

// Parse parses a location with an RFC 9535 JSONPath parser and accepts only
// singular paths: child segments of one member name or one non-negative array index
// each, naming at least one member. Wildcards, slices, filters and descendants select
// many nodes, or none, and cannot say where to add a value.
func Parse(s string) (Path, error) {
	q, err := jsonpath.Parse(s)
	if err != nil {
		return nil, err
	}
	var p Path
	for _, seg := range q.Query().Segments() {
		sels := seg.Selectors()
		if seg.IsDescendant() || len(sels) != 1 {
			return nil, fmt.Errorf("%s: a location names one member or index per step", seg)
		}
		switch sel := sels[0].(type) {
		case spec.Name:
			p = append(p, step{name: string(sel), index: -1})
		case spec.Index:
			if sel < 0 {
				return nil, fmt.Errorf("%s: a location's index counts from the start", seg)
			}
			p = append(p, step{index: int(sel)})
		default:
			return nil, fmt.Errorf("%s: a location names one member or index per step", seg)
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
