package tokens

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidID: validID accepts exactly what the token id pattern does.
func TestValidID(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)
	for _, id := range []string{"", "a", "A-z_0-9", "d8f5c1b2-1c5e-4bd6-9e7e-2f3a4b5c6d7e", strings.Repeat("x", 200),
		strings.Repeat("x", 201), "a.b", "a b", "a\n", "\na", "é", "a/b", "{{ x }}", "a*", "a>", "ü-1", "a\x00"} {
		if got, want := validID(id), re.MatchString(id); got != want {
			t.Errorf("validID(%q) = %v, want %v", id, got, want)
		}
	}
}
