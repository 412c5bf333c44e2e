package collateop_test

import (
	"encoding/json"
	"testing"

	"github.com/reactord/reactord/runtime/internal/collateop"
)

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name       string
		opts       []any // [locale, sensitivity, numeric, caseFirst, ignorePunctuation, usage]
		a, b, want string
	}{
		{"letters", []any{"en", "variant", false, "false", false, "sort"}, "a", "b", "-1"},
		{"lower first", []any{"en", "variant", false, "false", false, "sort"}, "a", "A", "-1"},
		{"upper first", []any{"en", "variant", false, "upper", false, "sort"}, "a", "A", "1"},
		{"accent after base", []any{"en", "variant", false, "false", false, "sort"}, "resume", "résumé", "-1"},
		{"base ignores case and accents", []any{"en", "base", false, "false", false, "sort"}, "Résumé", "resume", "0"},
		{"accent ignores case", []any{"en", "accent", false, "false", false, "sort"}, "a", "A", "0"},
		{"accent sees accents", []any{"en", "accent", false, "false", false, "sort"}, "a", "á", "-1"},
		{"case sees case", []any{"en", "case", false, "false", false, "sort"}, "a", "A", "-1"},
		{"case ignores accents", []any{"en", "case", false, "false", false, "sort"}, "Öl", "Ol", "0"},
		{"text digits", []any{"en", "variant", false, "false", false, "sort"}, "item10", "item2", "-1"},
		{"numeric", []any{"en", "variant", true, "false", false, "sort"}, "item10", "item2", "1"},
		{"ignore punctuation", []any{"en", "variant", false, "false", true, "sort"}, "co-op", "coop", "0"},
		{"german ä with a", []any{"de", "variant", false, "false", false, "sort"}, "ä", "b", "-1"},
		{"swedish ä after z", []any{"sv", "variant", false, "false", false, "sort"}, "ä", "z", "1"},
		{"bad locale falls back", []any{"not a locale!", "variant", false, "false", false, "sort"}, "a", "b", "-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, _ := json.Marshal(tc.opts)
			arg, _ := json.Marshal([]string{string(key), tc.a, tc.b})
			got, err := collateop.Compare(arg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("compare(%q, %q) = %s, want %s", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestCompareBadInput(t *testing.T) {
	for _, arg := range []string{``, `{}`, `[1, "a", "b"]`, `["[\"en\"", "a", "b"]`, `["[]", 1, 2]`} {
		if _, err := collateop.Compare([]byte(arg)); err == nil {
			t.Errorf("Compare(%s): no error", arg)
		}
	}
}
