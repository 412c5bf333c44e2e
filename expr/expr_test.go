package expr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/reactord/reactord/expr"
)

const card = "7c2a1d4e-7a3e-4c49-a0d5-7f5e0e0b5a11"

// values is a resolver over a fixed set of refs, counting calls.
func values(calls map[string]int) expr.Resolver {
	var mu sync.Mutex // EvalJSON resolves concurrently
	data := map[string]any{
		card:   map[string]any{"number": "4242424242424242", "expiration_month": json.Number("12"), "tags": []any{"a", "b"}},
		"name": "Ada",
		"n":    json.Number("42"),
		"nil":  nil,
		"data": "123-45-6789",
		"req":  map[string]any{"body": map[string]any{"x": "deep"}},
		"raw":  json.RawMessage(`{"z": 1, "a": "x"}`),
		"raws": json.RawMessage(`"str"`),
	}
	return func(_ context.Context, r expr.Ref) (any, error) {
		if calls != nil {
			mu.Lock()
			calls[r.String()]++
			mu.Unlock()
		}
		if r.Keyed {
			return "keyed:" + r.Name + "=" + r.Value, nil
		}
		v, ok := data[r.Name]
		if !ok {
			return nil, errors.New("not found")
		}
		return expr.Lookup(v, r.Path...), nil
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		src     string
		ref     expr.Ref
		filters []expr.Filter
		err     string
	}{
		{src: "{{" + card + "}}", ref: expr.Ref{Name: card}},
		{src: "{{  name  }}", ref: expr.Ref{Name: "name"}},
		{src: "{{ req.body.x }}", ref: expr.Ref{Name: "req", Path: []string{"body", "x"}}},
		{src: "{{ transform_identifier: 'id-1' }}", ref: expr.Ref{Name: "transform_identifier", Value: "id-1", Keyed: true}},
		{src: `{{ transform_identifier: "it's" | json: '$.a' }}`, ref: expr.Ref{Name: "transform_identifier", Value: "it's", Keyed: true},
			filters: []expr.Filter{{Name: "json", Args: []string{"$.a"}}}},
		{src: "{{ data | reveal_last: 4, '*' | remove: '-' }}", ref: expr.Ref{Name: "data"},
			filters: []expr.Filter{{Name: "reveal_last", Args: []string{"4", "*"}}, {Name: "remove", Args: []string{"-"}}}},
		{src: `{{ x | json: '$["}}"]' }}`, ref: expr.Ref{Name: "x"}, filters: []expr.Filter{{Name: "json", Args: []string{`$["}}"]`}}}},
		{src: "{{ }}", err: "empty expression"},
		{src: "{{ a b }}", err: "unexpected 'b'"},
		{src: "{{ a | }}", err: "expected a filter name"},
		{src: "{{ a | nope }}", err: `unknown filter "nope"`},
		{src: "{{ a | json }}", err: "takes 1 argument"},
		{src: "{{ a | json: 'x' }}", err: "must start with $"},
		{src: "{{ a | json: '$[x]' }}", err: "bad index"},
		{src: "{{ a | reveal_last: many }}", err: "needs a count"},
		{src: "{{ a: b }}", err: "expected a quoted string"},
		{src: "{{ a. }}", err: "expected a name after '.'"},
		{src: "{{ a | json: '$.x }}", err: "unterminated string"},
		{src: "{{ a + b }}", err: "unexpected character '+'"},
		{src: "a }}", err: "written {{ ... }}"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := expr.Parse(tt.src)
			if tt.err != "" {
				var ee *expr.Error
				if !errors.As(err, &ee) || !errors.Is(err, expr.ErrSyntax) || !strings.Contains(err.Error(), tt.err) || ee.Expr != tt.src {
					t.Fatalf("err = %v, want *Error (ErrSyntax) containing %q naming %q", err, tt.err, tt.src)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(e.Ref, tt.ref) || !reflect.DeepEqual(e.Filters, tt.filters) || e.Text != tt.src {
				t.Errorf("got %+v %+v %q", e.Ref, e.Filters, e.Text)
			}
		})
	}
}

func TestEvalString(t *testing.T) {
	tests := []struct {
		in   string
		want any
		err  string
	}{
		{in: "plain", want: "plain"},
		{in: "{{ name }}", want: "Ada"},
		{in: "{{ n }}", want: json.Number("42")},
		{in: "{{nil}}", want: nil},
		{in: "{{ " + card + " }}", want: map[string]any{"number": "4242424242424242", "expiration_month": json.Number("12"), "tags": []any{"a", "b"}}},
		{in: "{{ " + card + " | json: '$.number' }}", want: "4242424242424242"},
		{in: "{{ " + card + " | json: \"$['tags'][1]\" }}", want: "b"},
		{in: "{{ " + card + " | json: '$.tags[-1]' }}", want: "b"},
		{in: "{{ " + card + " | json: '$.tags[5]' }}", want: nil},
		{in: "{{ " + card + " | json: '$.missing.deeper' }}", want: nil},
		{in: "{{ " + card + " | json: '$' }}", want: map[string]any{"number": "4242424242424242", "expiration_month": json.Number("12"), "tags": []any{"a", "b"}}},
		{in: "{{ " + card + ".number | reveal_last: 4 }}", want: "XXXXXXXXXXXX4242"},
		{in: "{{ data | reveal_last: 4 }}", want: "XXX-XX-6789"},
		{in: "{{ data | reveal_last: 2, '*' }}", want: "***-**-**89"},
		{in: "{{ data | remove: '-' }}", want: "123456789"},
		{in: "{{ data | replace: '-', '.' }}", want: "123.45.6789"},
		{in: "{{ data | last4 }}", want: "6789"},
		{in: "{{ n | stringify }}", want: "42"},
		{in: "{{ " + card + " | json: '$.tags' | stringify }}", want: `["a","b"]`},
		{in: "{{ nil | reveal_last: 4 }}", want: nil},
		{in: "{{ req.body.x }}", want: "deep"},
		{in: "{{ transform_identifier: 'abc' }}", want: "keyed:transform_identifier=abc"},
		{in: "Hi {{ name }}, {{n}} {{ " + card + " | json: '$.tags' }} {{nil}}!", want: `Hi Ada, 42 ["a","b"] null!`},
		{in: "{{ name }}{{ name }}", want: "AdaAda"},
		{in: " {{ name }}", want: " Ada"},
		{in: "}} alone", want: "}} alone"},
		{in: "{{ missing }}", err: "not found in {{ missing }}"},
		{in: "x {{ name", err: "no closing }}"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := expr.EvalString(context.Background(), tt.in, values(nil))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestEvalJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
		limit          int
		err            error
		errText        string
	}{
		{name: "untouched", in: `{"b": 1, "a": [true, null, "x"]}`, want: `{"b": 1, "a": [true, null, "x"]}`},
		{name: "exact and nested", in: `{"card": "{{` + card + `}}", "list": ["{{ n }}", {"deep": "{{ name }}"}]}`,
			want: `{"card": {"expiration_month":12,"number":"4242424242424242","tags":["a","b"]}, "list": [42, {"deep": "Ada"}]}`},
		{name: "keys untouched", in: `{"{{ name }}": "{{ name }}"}`, want: `{"{{ name }}": "Ada"}`},
		{name: "interpolated", in: `["Dear {{ name }} <{{ n }}>"]`, want: `["Dear Ada <42>"]`},
		{name: "escaped braces", in: `"\u007b\u007b name }}"`, want: `"Ada"`},
		{name: "top-level", in: `"{{ ` + card + ` | json: '$.number' }}"`, want: `"4242424242424242"`},
		{name: "html not escaped", in: `"{{ name }} & <b>"`, want: `"Ada & <b>"`},
		{name: "raw verbatim", in: `["{{ raw }}", "{{ raw | json: '$.a' }}", "{{raw}} {{raws}}", "{{ raws }}"]`,
			want: `[{"z":1,"a":"x"}, "x", "{\"z\":1,\"a\":\"x\"} str", "str"]`},
		{name: "limit counts distinct refs", in: `["{{ name }}", "{{ name | last4 }}", "{{ n }}"]`, limit: 2, want: `["Ada", "Ada", 42]`},
		{name: "over the limit", in: `["{{ name }}", "{{ n }}", "{{ data }}"]`, limit: 2, err: expr.ErrLimit, errText: "{{ data }}"},
		{name: "malformed", in: `{"a": "{{ name | bad }}"}`, err: expr.ErrSyntax, errText: "{{ name | bad }}"},
		{name: "unknown", in: `{"a": "{{ missing }}"}`, errText: "not found in {{ missing }}"},
		{name: "invalid json", in: `{"a": `, errText: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expr.EvalJSON(context.Background(), json.RawMessage(tt.in), values(nil), tt.limit)
			if tt.err != nil || tt.errText != "" {
				if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEvalJSONResolvesEachRefOnce(t *testing.T) {
	calls := map[string]int{}
	in := `["{{ name }}", "{{name}}", "x {{ name | last4 }}", "{{ n }}"]`
	if _, err := expr.EvalJSON(context.Background(), json.RawMessage(in), values(calls), 0); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(calls, map[string]int{"name": 1, "n": 1}) {
		t.Errorf("calls = %v", calls)
	}
}

func TestLimitCheckedBeforeResolving(t *testing.T) {
	calls := map[string]int{}
	var b strings.Builder
	b.WriteString("[")
	for i := range 101 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"{{ t%d }}"`, i)
	}
	b.WriteString("]")
	_, err := expr.EvalJSON(context.Background(), json.RawMessage(b.String()), values(calls), 100)
	if !errors.Is(err, expr.ErrLimit) || len(calls) != 0 {
		t.Fatalf("err = %v, calls = %d", err, len(calls))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"{{ a }}", "{{ a.b | json: '$.x[0]' }}", "{{ k: 'v' | reveal_last: 4, '*' }}", "{{", "}}", "{{ 'x }}", "a{{b}}c{{d|last4}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		expr.Parse(s)
		tmpl, err := expr.ParseTemplate(s)
		if err != nil {
			var ee *expr.Error
			if !errors.As(err, &ee) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, e := range tmpl.Exprs() {
			// A parsed expression's text parses again to the same expression.
			again, err := expr.Parse(e.Text)
			if err != nil || !reflect.DeepEqual(again.Ref, e.Ref) || !reflect.DeepEqual(again.Filters, e.Filters) {
				t.Fatalf("reparse of %q: %v", e.Text, err)
			}
		}
		tmpl.Eval(context.Background(), values(nil))
	})
}

func FuzzEvalJSON(f *testing.F) {
	for _, s := range []string{`{"a": "{{ name }}"}`, `["{{ ` + card + ` | json: '$.tags[0]' }}", 1, {"k": null}]`, `"\u007b{ n }}"`, `{"{{": "}}"}`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expr.EvalJSON(context.Background(), json.RawMessage(s), values(nil), 10)
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid output %q for %q", out, s)
		}
	})
}
