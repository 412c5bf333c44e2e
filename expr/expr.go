// Package expr parses and evaluates the `{{ }}` expressions of the Basis Theory API:
// detokenization in reactor args and proxy bodies, token masks, fingerprint and id
// expressions.
//
// Grammar (whitespace is free between tokens):
//
//	expression := "{{" ref { "|" filter } "}}"
//	ref        := name { "." name }          a token id, "data", "req.body.x"
//	            | name ":" string            transform_identifier: 'id'
//	filter     := name [ ":" arg { "," arg } ]
//	arg        := string | name              strings in '...' or "..." (backslash escapes the quote)
//	name       := [A-Za-z0-9_-]+             so UUIDs are names
//
// Filters: json: '<path>' selects a part of the value with a JSONPath subset ($, .name,
// ['name'], ["name"], [index], [-index] from the end; a missing part is null);
// reveal_last: n [, 'c'] replaces every character but the last n with X (or c), keeping
// '-' delimiters; last4 keeps the last four characters; remove: 's' deletes every s;
// replace: 'old' [, 'new'] replaces every old (by nothing without new); stringify
// JSON-encodes a non-string value. String filters leave null as null and work on the
// JSON text of other non-strings.
//
// A string that is exactly one expression evaluates to the value (any JSON type);
// expressions inside a longer string are interpolated as text, non-strings
// JSON-encoded. What a ref means is up to the caller's Resolver.
package expr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Errors wrapped in *Error.
var (
	// ErrSyntax marks a malformed expression.
	ErrSyntax = errors.New("malformed expression")
	// ErrLimit marks a document referring to more distinct refs than allowed.
	ErrLimit = errors.New("too many expressions")
)

// Error is a failure tied to one expression (its source text, braces included).
type Error struct {
	Expr string
	Err  error
}

func (e *Error) Error() string {
	if e.Expr == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v in %s", e.Err, e.Expr)
}

func (e *Error) Unwrap() error { return e.Err }

// Ref is what an expression refers to, before filters.
type Ref struct {
	// Name is the first name: a token id, "data", "req", "transform_identifier".
	Name string
	// Path holds the dotted names after Name ("req.body.x" → ["body", "x"]).
	Path []string
	// Value is the quoted string of the `name: 'value'` form; Keyed marks that form.
	Value string
	Keyed bool
}

// String returns the ref in canonical form.
func (r Ref) String() string {
	if r.Keyed {
		return r.Name + ": " + quote(r.Value)
	}
	if len(r.Path) == 0 {
		return r.Name
	}
	return r.Name + "." + strings.Join(r.Path, ".")
}

// Filter is one `| name: args` step.
type Filter struct {
	Name string
	Args []string
}

// Resolver returns the value a ref stands for: any JSON-encodable value, numbers best
// as json.Number; a json.RawMessage is used verbatim (key order kept) when no filter
// applies. Its error is reported wrapped in *Error naming the expression. EvalJSON
// calls it from several goroutines at once.
type Resolver func(ctx context.Context, ref Ref) (any, error)

// Expr is one parsed `{{ }}` expression.
type Expr struct {
	// Text is the source as written, braces included.
	Text    string
	Ref     Ref
	Filters []Filter
	paths   map[int]jsonPath // compiled json filter arguments, by filter index
}

// Template is a string split into literal text and expressions.
type Template struct {
	parts []part
}

type part struct {
	lit  string
	expr *Expr
}

// maxExprLen bounds the text of one expression quoted in errors.
const maxExprLen = 80

func clip(s string) string {
	if len(s) <= maxExprLen {
		return s
	}
	i := maxExprLen
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}

// ParseTemplate splits s into text and expressions; an unterminated or malformed
// expression is an *Error wrapping ErrSyntax.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{}
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				t.parts = append(t.parts, part{lit: s})
			}
			return t, nil
		}
		if i > 0 {
			t.parts = append(t.parts, part{lit: s[:i]})
		}
		end := closing(s, i+2)
		if end < 0 {
			return nil, &Error{Expr: clip(s[i:]), Err: fmt.Errorf("%w: no closing }}", ErrSyntax)}
		}
		e, err := Parse(s[i:end])
		if err != nil {
			return nil, err
		}
		t.parts = append(t.parts, part{expr: e})
		s = s[end:]
	}
}

// closing returns the index just past the "}}" closing an expression whose body
// starts at i, skipping quoted strings; -1 when there is none.
func closing(s string, i int) int {
	var q byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i + 2
		}
	}
	return -1
}

// Exprs returns the template's expressions in order.
func (t *Template) Exprs() []*Expr {
	var out []*Expr
	for _, p := range t.parts {
		if p.expr != nil {
			out = append(out, p.expr)
		}
	}
	return out
}

// Exact reports whether the template is one expression and nothing else, so that it
// evaluates to the expression's value rather than to text.
func (t *Template) Exact() bool { return len(t.parts) == 1 && t.parts[0].expr != nil }

// Eval evaluates the template: the value itself when Exact, else the interpolated text.
func (t *Template) Eval(ctx context.Context, resolve Resolver) (any, error) {
	return t.eval(ctx, func(ctx context.Context, e *Expr) (any, error) { return e.Eval(ctx, resolve) })
}

func (t *Template) eval(ctx context.Context, eval func(context.Context, *Expr) (any, error)) (any, error) {
	if t.Exact() {
		return eval(ctx, t.parts[0].expr)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := eval(ctx, p.expr)
		if err != nil {
			return nil, err
		}
		s, err := text(v)
		if err != nil {
			return nil, &Error{Expr: p.expr.Text, Err: err}
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// text renders a value for interpolation: strings as they are, the rest as JSON.
func text(v any) (string, error) {
	if raw, ok := v.(json.RawMessage); ok {
		pv, err := plain(raw)
		if err != nil {
			return "", err
		}
		if s, ok := pv.(string); ok {
			return s, nil
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	b, err := marshal(v)
	return string(b), err
}

// plain decodes a json.RawMessage value (numbers as json.Number); other values pass.
func plain(v any) (any, error) {
	raw, ok := v.(json.RawMessage)
	if !ok {
		return v, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("the value is not valid JSON: %w", err)
	}
	return out, nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// EvalString parses and evaluates s (see Template.Eval).
func EvalString(ctx context.Context, s string, resolve Resolver) (any, error) {
	t, err := ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	return t.Eval(ctx, resolve)
}

// Eval resolves the expression's ref and applies its filters.
func (e *Expr) Eval(ctx context.Context, resolve Resolver) (any, error) {
	v, err := resolve(ctx, e.Ref)
	if err != nil {
		return nil, &Error{Expr: e.Text, Err: err}
	}
	return e.apply(v)
}

// Lookup follows names through nested JSON objects (map[string]any); a missing
// part gives nil.
func Lookup(v any, path ...string) any {
	for _, name := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[name]
	}
	return v
}

// Parse parses one expression, braces included ("{{ ref | filter }}").
func Parse(src string) (*Expr, error) {
	fail := func(format string, a ...any) error {
		return &Error{Expr: clip(src), Err: fmt.Errorf("%w: "+format, append([]any{ErrSyntax}, a...)...)}
	}
	body, ok := strings.CutPrefix(src, "{{")
	if ok {
		body, ok = strings.CutSuffix(body, "}}")
	}
	if !ok {
		return nil, fail("an expression is written {{ ... }}")
	}
	toks, err := lex(body)
	if err != nil {
		return nil, fail("%v", err)
	}
	e := &Expr{Text: src}
	p := &parser{toks: toks}
	if p.peek().kind == tEOF {
		return nil, fail("empty expression")
	}
	first := p.next()
	if first.kind != tName {
		return nil, fail("expected a name, found %s", first)
	}
	e.Ref.Name = first.text
	switch p.peek().kind {
	case tColon:
		p.next()
		v := p.next()
		if v.kind != tString {
			return nil, fail("expected a quoted string after %s:", first.text)
		}
		e.Ref.Keyed, e.Ref.Value = true, v.text
	case tDot:
		for p.peek().kind == tDot {
			p.next()
			n := p.next()
			if n.kind != tName {
				return nil, fail("expected a name after '.', found %s", n)
			}
			e.Ref.Path = append(e.Ref.Path, n.text)
		}
	}
	for p.peek().kind == tPipe {
		p.next()
		n := p.next()
		if n.kind != tName {
			return nil, fail("expected a filter name after '|', found %s", n)
		}
		f := Filter{Name: n.text}
		if p.peek().kind == tColon {
			p.next()
			for {
				a := p.next()
				if a.kind != tName && a.kind != tString {
					return nil, fail("expected an argument of %s, found %s", f.Name, a)
				}
				f.Args = append(f.Args, a.text)
				if p.peek().kind != tComma {
					break
				}
				p.next()
			}
		}
		if err := e.check(len(e.Filters), f); err != nil {
			return nil, fail("%v", err)
		}
		e.Filters = append(e.Filters, f)
	}
	if t := p.next(); t.kind != tEOF {
		return nil, fail("unexpected %s", t)
	}
	return e, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tName
	tString
	tDot
	tColon
	tPipe
	tComma
)

type tok struct {
	kind tokKind
	text string
}

func (t tok) String() string {
	switch t.kind {
	case tEOF:
		return "the end"
	case tString:
		return quote(t.text)
	}
	return "'" + t.text + "'"
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func lex(s string) ([]tok, error) {
	var out []tok
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isNameByte(c):
			j := i
			for j < len(s) && isNameByte(s[j]) {
				j++
			}
			out = append(out, tok{tName, s[i:j]})
			i = j
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("unterminated string")
			}
			out = append(out, tok{tString, b.String()})
			i = j + 1
		default:
			k := map[byte]tokKind{'.': tDot, ':': tColon, '|': tPipe, ',': tComma}[c]
			if k == 0 {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return nil, fmt.Errorf("unexpected character %q", r)
			}
			out = append(out, tok{k, string(c)})
			i++
		}
	}
	return out, nil
}

type parser struct {
	toks []tok
	i    int
}

func (p *parser) peek() tok {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return tok{kind: tEOF}
}

func (p *parser) next() tok {
	t := p.peek()
	if p.i < len(p.toks) {
		p.i++
	}
	return t
}

func quote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
