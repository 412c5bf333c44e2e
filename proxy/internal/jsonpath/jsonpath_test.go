package jsonpath

import (
	"encoding/json"
	"testing"
)

func TestSet(t *testing.T) {
	cases := []struct {
		doc, loc, want string
		fails          bool
	}{
		{`{"a":1}`, "$.b", `{"a":1,"b":"v"}`, false},
		{`{"a":1}`, "$.m.n.o", `{"a":1,"m":{"n":{"o":"v"}}}`, false},
		{`null`, "$['x y']", `{"x y":"v"}`, false},
		{`{"l":[{"k":1}]}`, "$.l[0].k", `{"l":[{"k":"v"}]}`, false},
		{`{"l":[]}`, "$.l[3]", ``, true},
		{`{"a":1}`, "$.a.b", ``, true},
		{`{}`, "a.b", ``, true},
		{`{}`, "$", ``, true},
		{`{"a":{"b":1}}`, `$["a"]["b"]`, `{"a":{"b":"v"}}`, false},
		// Locations that select many nodes, or none, say nowhere to add a value.
		{`{"a":{"b":1}}`, "$..b", ``, true},
		{`{"l":[1,2]}`, "$.l[*]", ``, true},
		{`{"l":[1,2]}`, "$.l[-1]", ``, true},
		{`{"l":[1,2]}`, "$.l[0:1]", ``, true},
		{`{"l":[1,2]}`, "$.l[?@>1]", ``, true},
		{`{"a":1}`, "$['a','b']", ``, true},
	}
	for _, tc := range cases {
		var doc any
		json.Unmarshal([]byte(tc.doc), &doc)
		p, err := Parse(tc.loc)
		if err == nil {
			doc, err = p.Set(doc, "v")
		}
		if tc.fails {
			if err == nil {
				t.Errorf("%s on %s: want an error", tc.loc, tc.doc)
			}
			continue
		}
		got, _ := json.Marshal(doc)
		if err != nil || string(got) != tc.want {
			t.Errorf("%s on %s: got %s %v, want %s", tc.loc, tc.doc, got, err, tc.want)
		}
	}
}
