package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// raw sends a request with a raw body and content type and decodes any JSON answer.
func (e env) send(t *testing.T, method, path, apiKey, ct, body string) (*http.Response, any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("BT-API-KEY", apiKey)
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out any
	json.Unmarshal(b, &out)
	return resp, out
}

func TestTokenizeEndpoint(t *testing.T) {
	e := start(t)
	creator := e.newApp(t, "private", "token:create", "token:read", "token:reveal")
	reader := e.newApp(t, "private", "token:read")
	card := map[string]any{"type": "card", "data": map[string]any{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2025, "cvc": "123"}}

	// One token request: the token, data masked.
	resp, one := e.send(t, "POST", "/tokenize", creator, "application/json", `{"type": "token", "data": "Sensitive Value", "search_indexes": ["{{ data }}"], "metadata": {"k": "v"}}`)
	if m, _ := one.(map[string]any); resp.StatusCode != 201 || m["id"] == nil || m["type"] != "token" || m["data"] != nil ||
		!reflect.DeepEqual(m["search_indexes"], []any{"{{ data }}"}) || !reflect.DeepEqual(m["metadata"], map[string]any{"k": "v"}) {
		t.Fatalf("single: %d %v", resp.StatusCode, one)
	}
	// Plain values: ids.
	b, _ := json.Marshal(map[string]any{"first_name": "John", "last_name": "Doe"})
	resp, basic := e.send(t, "POST", "/tokenize", creator, "application/json", string(b))
	m, _ := basic.(map[string]any)
	first, _ := m["first_name"].(string)
	if resp.StatusCode != 201 || first == "" || m["last_name"] == nil {
		t.Fatalf("basic: %d %v", resp.StatusCode, basic)
	}
	if resp, got := e.do(t, "GET", "/tokens/"+first, creator, nil); resp.StatusCode != 200 || got["data"] != "John" || got["type"] != "token" {
		t.Errorf("first_name token: %d %v", resp.StatusCode, got)
	}
	// An array and a composite, mirrored.
	b, _ = json.Marshal([]any{"John", "Doe", card, map[string]any{"type": "token", "data": "Sensitive Value"}})
	resp, arr := e.send(t, "POST", "/tokenize", creator, "application/json", string(b))
	a, _ := arr.([]any)
	if resp.StatusCode != 201 || len(a) != 4 {
		t.Fatalf("array: %d %v", resp.StatusCode, arr)
	}
	if _, ok := a[0].(string); !ok {
		t.Errorf("array[0] = %v, want an id", a[0])
	}
	if c, _ := a[2].(map[string]any); c["type"] != "card" || !reflect.DeepEqual(c["data"], map[string]any{"number": "XXXXXXXXXXXX4242", "expiration_month": 12.0, "expiration_year": 2025.0}) {
		t.Errorf("array[2] = %v", a[2])
	}
	b, _ = json.Marshal(map[string]any{"first_name": "John", "primary_card": card, "sensitive_tags": []any{"preferred", map[string]any{"type": "token", "data": "vip"}}})
	resp, comp := e.send(t, "POST", "/tokenize", creator, "application/json", string(b))
	cm, _ := comp.(map[string]any)
	tags, _ := cm["sensitive_tags"].([]any)
	if pc, _ := cm["primary_card"].(map[string]any); resp.StatusCode != 201 || pc["type"] != "card" || len(tags) != 2 {
		t.Fatalf("composite: %d %v", resp.StatusCode, comp)
	}
	if tag, _ := tags[1].(map[string]any); tag["type"] != "token" || tag["id"] == nil {
		t.Errorf("composite tag: %v", tags[1])
	}

	// Errors name the place; nothing is stored when one entry is invalid.
	resp, bad := e.send(t, "POST", "/tokenize", creator, "application/json", `{"a": "fine", "card": {"type": "card", "data": {"number": "1"}}}`)
	if bm, _ := bad.(map[string]any); resp.StatusCode != 400 || bm["errors"].(map[string]any)["card.data.number"] == nil {
		t.Errorf("invalid entry: %d %v", resp.StatusCode, bad)
	}
	for _, c := range []struct {
		name, key, ct, body string
		status              int
	}{
		{"no token:create", reader, "application/json", `"x"`, 403},
		{"null", creator, "application/json", `null`, 400},
		{"not json", creator, "application/json", `{`, 400},
		{"media type", creator, "text/plain", `"x"`, 415},
	} {
		if resp, out := e.send(t, "POST", "/tokenize", c.key, c.ct, c.body); resp.StatusCode != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, resp.StatusCode, out, c.status)
		}
	}

	// deduplicate_token returns the existing token holding the same data.
	dedup := `{"type": "card_number", "data": "4242424242424242", "deduplicate_token": true}`
	_, d1 := e.send(t, "POST", "/tokenize", creator, "application/json", dedup)
	_, d2 := e.send(t, "POST", "/tokenize", creator, "application/json", dedup)
	resp, d3 := e.do(t, "POST", "/tokens", creator, map[string]any{"type": "card_number", "data": "4242424242424242", "deduplicate_token": true})
	id1 := d1.(map[string]any)["id"]
	if id1 == nil || d2.(map[string]any)["id"] != id1 || resp.StatusCode != 201 || d3["id"] != id1 {
		t.Errorf("deduplication: %v %v %v", d1, d2, d3)
	}
}

func TestListTokensEndpoint(t *testing.T) {
	e := start(t)
	creator := e.newApp(t, "private", "token:create")
	reader := e.newApp(t, "private", "token:read")
	revealer := e.newApp(t, "private", "token:read", "token:reveal")
	var cardID string
	for i, c := range []map[string]any{
		{"type": "card_number", "data": "4242424242424242", "metadata": map[string]string{"customer": "C1"}},
		{"type": "token", "data": "secret", "metadata": map[string]string{"customer": "c1", "tier": "gold"}, "containers": []string{"/customer-1/"}},
		{"type": "token", "data": "other", "metadata": map[string]string{"customer": "c2"}},
	} {
		resp, out := e.do(t, "POST", "/tokens", creator, c)
		if resp.StatusCode != 201 {
			t.Fatalf("create %d: %d %v", i, resp.StatusCode, out)
		}
		if i == 0 {
			cardID = out["id"].(string)
		}
	}
	list := func(key, query string) (int, map[string]any) {
		resp, out := e.do(t, "GET", "/tokens"+query, key, nil)
		return resp.StatusCode, out
	}
	count := func(out map[string]any) int { d, _ := out["data"].([]any); return len(d) }
	tests := []struct {
		query string
		want  int
	}{
		{"", 3},
		{"?type=token", 2},
		{"?type=token&type=card_number", 3},
		{"?metadata.customer=c1", 2},
		{"?metadata.customer=C1&metadata.tier=GOLD", 1},
		{"?container=/customer-1/", 1},
		{"?id=" + cardID, 1},
		{"?id=" + cardID + "&type=token", 0},
	}
	for _, tt := range tests {
		if status, out := list(reader, tt.query); status != 200 || count(out) != tt.want {
			t.Errorf("GET /tokens%s: %d %v, want %d tokens", tt.query, status, out, tt.want)
		}
	}
	// Pagination object and pages.
	status, out := list(reader, "?size=2&page=2")
	if pg, _ := out["pagination"].(map[string]any); status != 200 || count(out) != 1 || pg["total_items"] != 3.0 || pg["total_pages"] != 2.0 || pg["page_number"] != 2.0 {
		t.Errorf("page 2: %d %v", status, out)
	}
	// Data per the caller's access: masked without token:reveal, plaintext with it.
	_, masked := list(reader, "?id="+cardID)
	_, plain := list(revealer, "?id="+cardID)
	if masked["data"].([]any)[0].(map[string]any)["data"] != "XXXXXXXXXXXX4242" || plain["data"].([]any)[0].(map[string]any)["data"] != "4242424242424242" {
		t.Errorf("data per access: %v / %v", masked, plain)
	}
	if status, _ := list(creator, ""); status != 403 {
		t.Errorf("without token:read: %d", status)
	}
	if status, _ := list(reader, "?size=101"); status != 400 {
		t.Errorf("size 101: %d", status)
	}
	// v2 (cursor pages), as Basis Theory's current SDKs call it.
	md := url.QueryEscape(`{"customer":"c1"}`)
	resp, v2 := e.do(t, "GET", "/v2/tokens?size=1&metadata="+md, reader, nil)
	pg, _ := v2["pagination"].(map[string]any)
	next, _ := pg["next"].(string)
	if resp.StatusCode != 200 || count(v2) != 1 || next == "" {
		t.Fatalf("v2 first page: %d %v", resp.StatusCode, v2)
	}
	resp, v2b := e.do(t, "GET", "/v2/tokens?size=1&start="+next+"&metadata="+md, reader, nil)
	if pg, _ := v2b["pagination"].(map[string]any); resp.StatusCode != 200 || count(v2b) != 1 || pg["next"] != nil ||
		v2b["data"].([]any)[0].(map[string]any)["id"] == v2["data"].([]any)[0].(map[string]any)["id"] {
		t.Errorf("v2 second page: %d %v", resp.StatusCode, v2b)
	}
	if resp, _ := e.do(t, "GET", "/v2/tokens?start=!!", reader, nil); resp.StatusCode != 400 {
		t.Errorf("bad cursor: %d", resp.StatusCode)
	}
}

func TestUpdateTokenEndpoint(t *testing.T) {
	e := start(t)
	key := e.newApp(t, "private", "token:create", "token:update", "token:read", "token:reveal", "token:search")
	creator := e.newApp(t, "private", "token:create")
	_, tok := e.do(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": map[string]any{"a": "1", "b": "2"},
		"metadata": map[string]string{"keep": "yes", "drop": "x"}, "search_indexes": []string{"{{ data.a }}"}})
	id := tok["id"].(string)

	resp, out := e.send(t, "PATCH", "/tokens/"+id, key, "application/merge-patch+json",
		`{"data": {"b": null, "c": "3"}, "metadata": {"drop": null, "new": "n"}, "mask": "{{ data.c }}", "search_indexes": ["{{ data.c }}"], "containers": ["/general/low/"], "expires_at": "2130-01-01T00:00:00Z"}`)
	m, _ := out.(map[string]any)
	if resp.StatusCode != 200 || m["data"] != "3" || !reflect.DeepEqual(m["metadata"], map[string]any{"keep": "yes", "new": "n"}) ||
		!reflect.DeepEqual(m["containers"], []any{"/general/low/"}) || m["modified_by"] == nil || m["modified_at"] == nil || m["expires_at"] == nil {
		t.Fatalf("patch: %d %v", resp.StatusCode, out)
	}
	_, got := e.do(t, "GET", "/tokens/"+id, key, nil)
	if !reflect.DeepEqual(got["data"], map[string]any{"a": "1", "c": "3"}) {
		t.Errorf("stored data: %v", got["data"])
	}
	// The new search index finds it; the old one no longer does.
	for q, want := range map[string]int{"data:3": 1, "data:1": 0} {
		_, res := e.do(t, "POST", "/tokens/search", key, map[string]any{"query": q})
		if d, _ := res["data"].([]any); len(d) != want {
			t.Errorf("search %s after update: %v", q, res)
		}
	}
	for _, c := range []struct {
		name, key, ct, body string
		status              int
		field               string
	}{
		{"json media type", key, "application/json", `{"metadata": {}}`, 415, ""},
		{"no token:update", creator, "application/merge-patch+json", `{"metadata": {}}`, 403, ""},
		{"type", key, "application/merge-patch+json", `{"type": "card_number"}`, 400, "type"},
		{"literal fingerprint", key, "application/merge-patch+json", `{"fingerprint_expression": "4111111111111111"}`, 400, "fingerprint_expression"},
		{"not json", key, "application/merge-patch+json", `{`, 400, ""},
	} {
		resp, out := e.send(t, "PATCH", "/tokens/"+id, c.key, c.ct, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d %v, want %d", c.name, resp.StatusCode, out, c.status)
		}
		if c.field != "" {
			if errs, _ := out.(map[string]any)["errors"].(map[string]any); errs[c.field] == nil {
				t.Errorf("%s: %v, want errors.%s", c.name, out, c.field)
			}
		}
	}
	if resp, _ := e.send(t, "PATCH", "/tokens/nope", key, "application/merge-patch+json", `{}`); resp.StatusCode != 404 {
		t.Errorf("missing: %d", resp.StatusCode)
	}
}

func TestSearchTokensEndpoint(t *testing.T) {
	e := start(t)
	creator := e.newApp(t, "private", "token:create")
	searcher := e.newApp(t, "private", "token:search")
	revealer := e.newApp(t, "private", "token:search", "token:reveal")
	for _, c := range []map[string]any{
		{"type": "social_security_number", "data": "123-45-6789", "metadata": map[string]string{"user_id": "1234"}},
		{"type": "social_security_number", "data": "987-65-6789"},
		{"type": "social_security_number", "data": "111-11-1111"},
		{"type": "token", "data": "123-45-6789"}, // no search indexes: never found by data
	} {
		if resp, out := e.do(t, "POST", "/tokens", creator, c); resp.StatusCode != 201 {
			t.Fatalf("create: %d %v", resp.StatusCode, out)
		}
	}
	search := func(key string, body any) (int, map[string]any) {
		resp, out := e.do(t, "POST", "/tokens/search", key, body)
		return resp.StatusCode, out
	}
	status, out := search(searcher, map[string]any{"query": "data:6789 AND type:social_security_number", "page": 1, "size": 20})
	data, _ := out["data"].([]any)
	if status != 200 || len(data) != 2 || out["pagination"].(map[string]any)["total_items"] != 2.0 {
		t.Fatalf("search: %d %v", status, out)
	}
	for _, d := range data {
		if s, _ := d.(map[string]any)["data"].(string); !strings.HasPrefix(s, "XXX") {
			t.Errorf("masked search result: %v", d)
		}
	}
	_, out = search(revealer, map[string]any{"query": "data:123456789"})
	if d, _ := out["data"].([]any); len(d) != 1 || d[0].(map[string]any)["data"] != "123-45-6789" {
		t.Errorf("revealed: %v", out)
	}
	_, out = search(searcher, map[string]any{"query": "(type:social_security_number AND !metadata.user_id:1234) OR data:111-11-1111", "size": 1})
	if pg := out["pagination"].(map[string]any); pg["total_items"] != 2.0 || len(out["data"].([]any)) != 1 {
		t.Errorf("boolean query, size 1: %v", out)
	}
	status, out = search(searcher, map[string]any{"query": "data:6789 AND"})
	if status != 400 || out["errors"].(map[string]any)["query"] == nil {
		t.Errorf("bad query: %d %v", status, out)
	}
	if status, _ := search(creator, map[string]any{"query": "type:token"}); status != 403 {
		t.Errorf("without token:search: %d", status)
	}
	if status, _ := search(searcher, map[string]any{"size": 500}); status != 400 {
		t.Errorf("size 500: %d", status)
	}
	// v2 with a cursor.
	var seen []string
	start := ""
	for range 5 {
		status, out := search(searcher, map[string]any{"query": "type:social_security_number", "size": 2, "start": start})
		if status != 200 {
			t.Fatalf("v2 search: %d %v", status, out)
		}
		_ = out
		resp, v2 := e.do(t, "POST", "/v2/tokens/search", searcher, map[string]any{"query": "type:social_security_number", "size": 2, "start": start})
		if resp.StatusCode != 200 {
			t.Fatalf("v2: %d %v", resp.StatusCode, v2)
		}
		for _, d := range v2["data"].([]any) {
			seen = append(seen, d.(map[string]any)["id"].(string))
		}
		next, _ := v2["pagination"].(map[string]any)["next"].(string)
		if next == "" {
			break
		}
		start = next
	}
	if slices.Sort(seen); len(slices.Compact(seen)) != 3 {
		t.Errorf("v2 pages: %v", seen)
	}
}

// TestDeduplicationHijackAPI performs issue 11's attack through the service: a
// public key plants a card_number token whose fingerprint is another number's, and a
// backend creating that number with deduplicate_token must get its own token.
func TestDeduplicationHijackAPI(t *testing.T) {
	e := start(t)
	attacker := e.newApp(t, "public", "token:create")
	backend := e.newApp(t, "private", "token:create", "token:use")
	resp, out := e.do(t, "POST", "/tokens", attacker, map[string]any{"type": "card_number", "data": "5555555555554444", "fingerprint_expression": "4111111111111111"})
	if resp.StatusCode != 400 || out["errors"].(map[string]any)["fingerprint_expression"] == nil {
		t.Fatalf("literal fingerprint expression: %d %v", resp.StatusCode, out)
	}
	resp, planted := e.do(t, "POST", "/tokens", attacker, map[string]any{"type": "card_number", "data": "5555555555554444",
		"fingerprint_expression": "{{ data | remove: '5555555555554444' }}4111111111111111"})
	if resp.StatusCode != 201 {
		t.Fatalf("plant: %d %v", resp.StatusCode, planted)
	}
	for _, path := range []string{"/tokens", "/tokenize"} {
		resp, got := e.do(t, "POST", path, backend, map[string]any{"type": "card_number", "data": "4111111111111111", "deduplicate_token": true})
		if resp.StatusCode != 201 || got["id"] == planted["id"] || got["fingerprint"] != planted["fingerprint"] {
			t.Fatalf("%s: %d %v (planted %v)", path, resp.StatusCode, got, planted["id"])
		}
		// What the backend's token detokenizes to is its own number.
		_, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "echo", "code": `module.exports = async (req) => ({ raw: req.args })`})
		resp, res := e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", backend, map[string]any{"args": map[string]any{"n": "{{ " + got["id"].(string) + " }}"}})
		if raw, _ := res["raw"].(map[string]any); resp.StatusCode != 200 || raw["n"] != "4111111111111111" {
			t.Fatalf("%s: detokenized to %v", path, res)
		}
	}
}

func TestTokenChildren(t *testing.T) {
	e := start(t)
	key := e.newApp(t, "private", "token:create", "token:read", "token:delete")
	creatorOnly := e.newApp(t, "private", "token:create")
	_, parent := e.do(t, "POST", "/tokens", key, map[string]any{"type": "token", "data": "parent"})
	_, other := e.do(t, "POST", "/tokens", key, map[string]any{"type": "card_number", "data": "4242424242424242"})
	pid, oid := parent["id"].(string), other["id"].(string)

	resp, child := e.do(t, "POST", "/tokens/"+pid+"/children", key, map[string]any{"type": "token", "data": "Sensitive Value", "metadata": map[string]string{"k": "v"}})
	if resp.StatusCode != 201 || child["id"] == nil || child["type"] != "token" {
		t.Fatalf("create child: %d %v", resp.StatusCode, child)
	}
	if resp, _ := e.do(t, "POST", "/tokens/"+pid+"/children", creatorOnly, map[string]any{"type": "token", "data": "x"}); resp.StatusCode != 403 {
		t.Errorf("create child without token:read: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "POST", "/tokens/nope/children", key, map[string]any{"type": "token", "data": "x"}); resp.StatusCode != 404 {
		t.Errorf("child of a missing parent: %d", resp.StatusCode)
	}
	if resp, out := e.do(t, "POST", "/tokens/"+pid+"/children/"+oid, key, nil); resp.StatusCode != 204 {
		t.Fatalf("associate: %d %v", resp.StatusCode, out)
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/tokens/" + pid + "/children/" + pid, 400},
		{"/tokens/" + pid + "/children/missing", 404},
	} {
		if resp, _ := e.do(t, "POST", c.path, key, nil); resp.StatusCode != c.status {
			t.Errorf("POST %s: %d, want %d", c.path, resp.StatusCode, c.status)
		}
	}
	count := func(query string) int {
		resp, out := e.do(t, "GET", "/tokens/"+pid+"/children"+query, key, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("list children: %d %v", resp.StatusCode, out)
		}
		return len(out["data"].([]any))
	}
	if n := count(""); n != 2 {
		t.Errorf("children: %d", n)
	}
	if n := count("?type=card_number"); n != 1 {
		t.Errorf("children of type card_number: %d", n)
	}
	if n := count("?id=" + oid); n != 1 {
		t.Errorf("children by id: %d", n)
	}
	if resp, _ := e.do(t, "DELETE", "/tokens/"+pid+"/children/"+oid, key, nil); resp.StatusCode != 204 {
		t.Errorf("dissociate: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "DELETE", "/tokens/"+pid+"/children/"+oid, key, nil); resp.StatusCode != 404 {
		t.Errorf("dissociate twice: %d", resp.StatusCode)
	}
	if n := count(""); n != 1 {
		t.Errorf("children after dissociate: %d", n)
	}
	// A deleted child leaves the list; the other token is untouched.
	e.do(t, "DELETE", "/tokens/"+child["id"].(string), key, nil)
	if n := count(""); n != 0 {
		t.Errorf("children after the child's deletion: %d", n)
	}
	if resp, _ := e.do(t, "GET", "/tokens/"+oid, key, nil); resp.StatusCode != 200 {
		t.Errorf("dissociated token: %d", resp.StatusCode)
	}
}
