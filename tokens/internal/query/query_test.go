package query_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/reactord/reactord/tokens/internal/query"
)

// show renders a tree compactly for comparison.
func show(n query.Node) string {
	switch n := n.(type) {
	case query.Term:
		return n.Field + ":" + n.Value
	case query.Range:
		lo, hi := "{", "}"
		if n.IncLo {
			lo = "["
		}
		if n.IncHi {
			hi = "]"
		}
		return fmt.Sprintf("%s:%s%s TO %s%s", n.Field, lo, n.Lo, n.Hi, hi)
	case query.And:
		return "AND(" + join(n.Nodes) + ")"
	case query.Or:
		return "OR(" + join(n.Nodes) + ")"
	case query.Not:
		return "NOT(" + show(n.Node) + ")"
	case query.All:
		return "ALL"
	}
	return "?"
}

func join(ns []query.Node) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = show(n)
	}
	return strings.Join(parts, " ")
}

func TestParse(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "ALL"},
		{"   ", "ALL"},
		{"type:card_number", "type:card_number"},
		{"data:6789 AND type:social_security_number", "AND(data:6789 type:social_security_number)"},
		{"data:123-45-6789", "data:123-45-6789"},
		{`data:"data containing multiple words"`, "data:data containing multiple words"},
		{`data:"say \"hi\""`, `data:say "hi"`},
		{`metadata.customer_id:123456`, "metadata.customer_id:123456"},
		{`container:"/customer-123/*"`, "container:/customer-123/*"},
		{`container:/pci/high/`, "container:/pci/high/"},
		{"created_at:[2021-01-01 TO 2021-12-31T23:59:59Z]", "created_at:[2021-01-01 TO 2021-12-31T23:59:59Z]"},
		{"created_at:{* TO 2022-01-01}", "created_at:{ TO 2022-01-01}"},
		{"created_at:[2022-01-01 TO *}", "created_at:[2022-01-01 TO }"},
		{"created_at:2021-01-01T10:00:00Z", "created_at:2021-01-01T10:00:00Z"},
		{"(type:social_security_number AND !metadata.user_id:1234) OR data:111-11-1111",
			"OR(AND(type:social_security_number NOT(metadata.user_id:1234)) data:111-11-1111)"},
		{"type:a OR type:b AND type:c", "OR(type:a AND(type:b type:c))"},
		{"type:a || type:b && type:c", "OR(type:a AND(type:b type:c))"},
		{"NOT type:a", "NOT(type:a)"},
		{"type:a AND NOT type:b", "AND(type:a NOT(type:b))"},
		{"type:a -type:b", "AND(type:a NOT(type:b))"},
		{"type:a type:b", "OR(type:a type:b)"},
		{"+type:a type:b", "type:a"},
		{"+type:a +type:b -type:c", "AND(type:a type:b NOT(type:c))"},
		{"-type:a", "NOT(type:a)"},
		{"((type:a))", "type:a"},
		{"id:fe24d4cc-de50-4d8c-8da7-8c7483ba21bf", "id:fe24d4cc-de50-4d8c-8da7-8c7483ba21bf"},
		{`data:a\ b`, "data:a b"},
		{"data:AND", "data:AND"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n, err := query.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := show(n); got != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []string{
		"6789",                   // no field
		`"6789"`,                 // no field
		"type:",                  // no value
		"type:a AND",             // dangling operator
		"AND type:a",             // leading operator
		"(type:a",                // unclosed
		"type:a)",                // stray
		`data:"open`,             // unterminated quote
		"created_at:[2021 TO",    // unclosed range
		"created_at:[2021 2022]", // no TO
		"created_at:[a TO b TO c]",
		strings.Repeat("(", 20) + "type:a" + strings.Repeat(")", 20),
		strings.Repeat("type:a OR ", 120) + "type:a",
		strings.Repeat("x", query.MaxLength+1),
	}
	for _, in := range tests {
		name := in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			if n, err := query.Parse(in); !errors.Is(err, query.ErrSyntax) {
				t.Errorf("Parse(%q) = %v, %v; want a syntax error", in, n, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"data:6789 AND type:social_security_number", "(a:b OR !c:d) -e:\"f g\"", "created_at:[2021-01-01 TO *}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		query.Parse(s) // must not panic
	})
}
