package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestReactDetokenizeAndTokenize: {{ }} expressions in args become token data inside
// the reactor, and the tokenize block of its result becomes tokens in the answer.
func TestReactDetokenizeAndTokenize(t *testing.T) {
	e := start(t)
	tk := e.newApp(t, "private", "token:create", "token:read", "token:reveal", "token:use")
	resp, card := e.do(t, "POST", "/tokens", tk, map[string]any{"type": "card",
		"data": map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030}})
	if resp.StatusCode != 201 {
		t.Fatalf("create token: %d %v", resp.StatusCode, card)
	}
	id := card["id"].(string)
	_, created := e.do(t, "POST", "/reactors", key, map[string]any{"name": "detok",
		"code": `module.exports = async (req) => ({
  raw: { whole: req.args.card, number: req.args.number, text: req.args.text },
  tokenize: { one: { type: 'token', data: 'secret ' + req.args.number }, ssn: { type: 'social_security_number', data: '123-45-6789' } },
})`})
	rid := created["id"].(string)

	resp, out := e.do(t, "POST", "/reactors/"+rid+"/react", tk, map[string]any{"args": map[string]any{
		"card":   "{{ " + id + " }}",
		"number": "{{ " + id + " | json: '$.number' }}",
		"text":   "card {{ " + id + " | json: '$.expiration_month' }}/{{ " + id + " | json: '$.expiration_year' }}",
	}})
	if resp.StatusCode != 200 {
		t.Fatalf("react: %d %v", resp.StatusCode, out)
	}
	raw := out["raw"].(map[string]any)
	if raw["number"] != "4242424242424242" || raw["text"] != "card 12/2030" || raw["whole"].(map[string]any)["expiration_year"] != float64(2030) {
		t.Errorf("raw = %v", raw)
	}
	toks, _ := out["tokens"].(map[string]any)
	one, _ := toks["one"].(map[string]any)
	ssn, _ := toks["ssn"].(map[string]any)
	if one == nil || one["id"] == nil || ssn == nil || ssn["data"] != "XXX-XX-6789" {
		t.Fatalf("tokens = %v", out["tokens"])
	}
	// The created token holds the data, for its creator.
	if resp, got := e.do(t, "GET", "/tokens/"+one["id"].(string), tk, nil); resp.StatusCode != 200 || got["data"] != "secret 4242424242424242" {
		t.Errorf("tokenized token: %d %v", resp.StatusCode, got)
	}

	many := map[string]any{}
	for i := range 101 {
		many[fmt.Sprint(i)] = fmt.Sprintf("{{ token-%d }}", i)
	}
	for _, tc := range []struct {
		name string
		args any
		want string
	}{
		{"unknown token", map[string]any{"x": "{{ 00000000-0000-0000-0000-000000000000 }}"}, "00000000-0000-0000-0000-000000000000"},
		{"malformed expression", map[string]any{"x": "{{ " + id + " | json: }}"}, "{{"},
		{"over 100 tokens", many, "100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := e.do(t, "POST", "/reactors/"+rid+"/react", tk, map[string]any{"args": tc.args})
			if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(out["detail"]), tc.want) {
				t.Errorf("%d %v, want 400 mentioning %q", resp.StatusCode, out, tc.want)
			}
		})
	}
}
