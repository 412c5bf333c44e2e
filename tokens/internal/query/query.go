// Package query parses the Lucene-style query strings of Basis Theory's token search
// into a small tree: field:value terms, quoted phrases, bracketed ranges
// ([a TO b] inclusive, {a TO b} exclusive, * for an open end), the operators AND (&&),
// OR (||) and NOT (!, -), + for a required clause, and parentheses.
//
// Juxtaposed clauses follow Lucene's default: plain clauses are alternatives (OR),
// +clauses are required and -clauses excluded ("a -b" is a AND NOT b). AND binds
// tighter than OR. No Go module served here parses Lucene syntax, and bleve's own
// query-string language has no AND/OR/NOT or [a TO b] ranges, hence this parser.
package query

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Limits on a query, so that a hostile one costs little to reject.
const (
	MaxLength  = 4096
	MaxClauses = 100
	MaxDepth   = 16
)

// ErrSyntax wraps every parse error.
var ErrSyntax = errors.New("invalid query")

// Node is one of Term, Range, And, Or, Not, All.
type Node interface{ node() }

// Term is field:value; Value is unescaped and unquoted.
type Term struct {
	Field, Value string
}

// Range is field:[lo TO hi] or {lo TO hi}; an empty bound is open (*).
type Range struct {
	Field        string
	Lo, Hi       string
	IncLo, IncHi bool
}

// And matches what all of its nodes match.
type And struct{ Nodes []Node }

// Or matches what any of its nodes matches.
type Or struct{ Nodes []Node }

// Not matches what its node does not.
type Not struct{ Node Node }

// All matches everything (the empty query).
type All struct{}

func (Term) node()  {}
func (Range) node() {}
func (And) node()   {}
func (Or) node()    {}
func (Not) node()   {}
func (All) node()   {}

// Parse parses a query string; the empty string is All.
func Parse(s string) (Node, error) {
	if len(s) > MaxLength {
		return nil, fmt.Errorf("%w: longer than %d characters", ErrSyntax, MaxLength)
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return All{}, nil
	}
	p := &parser{toks: toks}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.errorf("unexpected %s", p.toks[p.pos])
	}
	return n, nil
}

type kind int

const (
	word kind = iota // a bare or quoted word; field:value comes as word, colon, word
	colon
	lparen
	rparen
	lbracket // [ or {
	rbracket // ] or }
	and
	or
	not
	plus
)

type tok struct {
	kind   kind
	text   string
	quoted bool
	incl   bool // brackets: [ ] rather than { }
	at     int
}

func (t tok) String() string {
	return fmt.Sprintf("%q at %d", t.text, t.at)
}

func isSpecial(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune(`():[]{}"`, r)
}

func lex(s string) ([]tok, error) {
	var out []tok
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')' || r == ':':
			out = append(out, tok{kind: map[rune]kind{'(': lparen, ')': rparen, ':': colon}[r], text: string(r), at: i})
			i++
		case r == '[' || r == '{':
			out = append(out, tok{kind: lbracket, text: string(r), incl: r == '[', at: i})
			i++
		case r == ']' || r == '}':
			out = append(out, tok{kind: rbracket, text: string(r), incl: r == ']', at: i})
			i++
		case r == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("%w: unterminated quote at %d", ErrSyntax, i)
			}
			out = append(out, tok{kind: word, text: b.String(), quoted: true, at: i})
			i = j + 1
		case (r == '!' || r == '-' || r == '+') && !afterColon(out):
			k := not
			if r == '+' {
				k = plus
			}
			out = append(out, tok{kind: k, text: string(r), at: i})
			i++
		case r == '&' && i+1 < len(rs) && rs[i+1] == '&':
			out = append(out, tok{kind: and, text: "&&", at: i})
			i += 2
		case r == '|' && i+1 < len(rs) && rs[i+1] == '|':
			out = append(out, tok{kind: or, text: "||", at: i})
			i += 2
		default:
			var b strings.Builder
			j := i
			// After field: a value may contain ':' (times); only whitespace and
			// brackets end it.
			value := afterColon(out) || inRange(out)
			for ; j < len(rs) && !(isSpecial(rs[j]) && !(value && rs[j] == ':')); j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			t := tok{kind: word, text: b.String(), at: i}
			if !value && !inRange(out) {
				switch t.text {
				case "AND":
					t.kind = and
				case "OR":
					t.kind = or
				case "NOT":
					t.kind = not
				}
			}
			out = append(out, t)
			i = j
		}
	}
	return out, nil
}

// afterColon reports whether the next token is a field's value.
func afterColon(out []tok) bool { return len(out) > 0 && out[len(out)-1].kind == colon }

// inRange reports whether the lexer is between a range's brackets, where TO and the
// bounds are words.
func inRange(out []tok) bool {
	for i := len(out) - 1; i >= 0; i-- {
		switch out[i].kind {
		case lbracket:
			return true
		case rbracket:
			return false
		}
	}
	return false
}

type parser struct {
	toks    []tok
	pos     int
	clauses int
}

func (p *parser) errorf(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrSyntax, fmt.Sprintf(format, a...))
}

func (p *parser) peek() (tok, bool) {
	if p.pos >= len(p.toks) {
		return tok{}, false
	}
	return p.toks[p.pos], true
}

func (p *parser) or(depth int) (Node, error) {
	n, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	nodes := []Node{n}
	for t, ok := p.peek(); ok && t.kind == or; t, ok = p.peek() {
		p.pos++
		n, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return Or{nodes}, nil
}

func (p *parser) and(depth int) (Node, error) {
	n, err := p.group(depth)
	if err != nil {
		return nil, err
	}
	nodes := []Node{n}
	for t, ok := p.peek(); ok && t.kind == and; t, ok = p.peek() {
		p.pos++
		n, err := p.group(depth)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return And{nodes}, nil
}

// group is one or more juxtaposed clauses, combined as Lucene does.
func (p *parser) group(depth int) (Node, error) {
	var required, optional, prohibited []Node
	for {
		t, ok := p.peek()
		if !ok || t.kind == rparen || t.kind == and || t.kind == or {
			break
		}
		mod := kind(-1)
		if t.kind == not || t.kind == plus {
			mod = t.kind
			p.pos++
		}
		n, err := p.clause(depth)
		if err != nil {
			return nil, err
		}
		switch mod {
		case not:
			prohibited = append(prohibited, n)
		case plus:
			required = append(required, n)
		default:
			optional = append(optional, n)
		}
	}
	if len(required)+len(optional)+len(prohibited) == 0 {
		if t, ok := p.peek(); ok {
			return nil, p.errorf("expected a term before %s", t)
		}
		return nil, p.errorf("expected a term at the end")
	}
	nodes := required
	switch {
	case len(required) == 0 && len(optional) == 1:
		nodes = append(nodes, optional[0])
	case len(required) == 0 && len(optional) > 1:
		nodes = append(nodes, Or{optional})
	}
	for _, n := range prohibited {
		nodes = append(nodes, Not{n})
	}
	if len(nodes) == 1 {
		return nodes[0], nil
	}
	return And{nodes}, nil
}

func (p *parser) clause(depth int) (Node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.errorf("expected a term at the end")
	}
	switch t.kind {
	case lparen:
		if depth >= MaxDepth {
			return nil, p.errorf("parentheses nested deeper than %d", MaxDepth)
		}
		p.pos++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != rparen {
			return nil, p.errorf("missing ) for ( at %d", t.at)
		}
		p.pos++
		return n, nil
	case not, plus:
		p.pos++
		n, err := p.clause(depth)
		if err != nil {
			return nil, err
		}
		if t.kind == plus {
			return n, nil
		}
		return Not{n}, nil
	case word:
	default:
		return nil, p.errorf("unexpected %s", t)
	}
	if p.clauses++; p.clauses > MaxClauses {
		return nil, p.errorf("more than %d terms", MaxClauses)
	}
	p.pos++
	if c, ok := p.peek(); !ok || c.kind != colon || t.quoted {
		return nil, p.errorf("term %s needs a field, as in type:card_number", t)
	}
	p.pos++
	field := t.text
	v, ok := p.peek()
	if !ok {
		return nil, p.errorf("field %q has no value", field)
	}
	if v.kind == lbracket {
		return p.rangeOf(field, v)
	}
	if v.kind != word {
		return nil, p.errorf("field %q has no value before %s", field, v)
	}
	p.pos++
	return Term{Field: field, Value: v.text}, nil
}

func (p *parser) rangeOf(field string, open tok) (Node, error) {
	p.pos++
	var words []tok
	for {
		t, ok := p.peek()
		if !ok {
			return nil, p.errorf("range at %d is not closed", open.at)
		}
		p.pos++
		if t.kind == rbracket {
			if len(words) != 3 || words[1].text != "TO" || words[1].quoted {
				return nil, p.errorf("range at %d must be [start TO end]", open.at)
			}
			r := Range{Field: field, Lo: words[0].text, Hi: words[2].text, IncLo: open.incl, IncHi: t.incl}
			if !words[0].quoted && r.Lo == "*" {
				r.Lo = ""
			}
			if !words[2].quoted && r.Hi == "*" {
				r.Hi = ""
			}
			return r, nil
		}
		if t.kind != word {
			return nil, p.errorf("unexpected %s in range", t)
		}
		words = append(words, t)
	}
}
