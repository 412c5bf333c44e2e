package tokens_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/internal/natsd/natstest"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/tokens"
)

// watched opens a store with its search index running in dir.
func watched(t testing.TB, js jetstream.JetStream, key *seal.Key, dir string) *tokens.Store {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := tokens.Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Watch(ctx, tokens.WatchOptions{Dir: dir, SweepEvery: time.Hour}); err != nil {
		t.Fatal(err)
	}
	closed := tokens.IndexClosed(s)
	t.Cleanup(func() { cancel(); <-closed })
	return s
}

func openWatched(t testing.TB) (*tokens.Store, jetstream.JetStream, *seal.Key, string) {
	t.Helper()
	js, _ := natstest.JetStream(t)
	key, _, err := seal.LoadOrCreate(t.TempDir() + "/key")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "index")
	return watched(t, js, key, dir), js, key, dir
}

func mustCreate(t testing.TB, s *tokens.Store, r tokens.CreateRequest) *tokens.Token {
	t.Helper()
	tok, err := s.Create(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func ids(p *tokens.Page) []string {
	out := []string{}
	for _, t := range p.Tokens {
		out = append(out, t.ID)
	}
	slices.Sort(out)
	return out
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	s, js, _, dir := openWatched(t)
	mk := func(id, typ, data string, mod func(*tokens.CreateRequest)) {
		r := req(typ, data)
		r.ID = id
		if mod != nil {
			mod(&r)
		}
		mustCreate(t, s, r)
	}
	mk("ssn1", "social_security_number", `"123-45-6789"`, func(r *tokens.CreateRequest) { r.Metadata = map[string]string{"user_id": "1234"} })
	mk("ssn2", "social_security_number", `"987-65-6789"`, func(r *tokens.CreateRequest) { r.Metadata = map[string]string{"user_id": "5678"} })
	mk("ssn3", "social_security_number", `"111-11-1111"`, nil)
	mk("ein1", "employer_id_number", `"12-3456789"`, func(r *tokens.CreateRequest) { r.Containers = []string{"/customer-123/pii/"} })
	mk("gen1", "token", `"Hello World"`, func(r *tokens.CreateRequest) {
		r.SearchIndexes = []string{"{{ data }}"}
		r.Containers = []string{"/customer-123/general/"}
		r.Metadata = map[string]string{"Customer_ID": "ABC-9"}
	})
	mk("gen2", "token", `"no indexes"`, nil)
	mk("card1", "card_number", `"4242424242424242"`, nil)
	other := req("social_security_number", `"123-45-6789"`)
	other.TenantID, other.ID = "other-tenant", "theirs"
	mustCreate(t, s, other)

	tests := []struct {
		q    string
		want []string
	}{
		{"data:6789 AND type:social_security_number", []string{"ssn1", "ssn2"}},
		{"data:123-45-6789", []string{"ssn1"}},
		{"data:123456789", []string{"ein1", "ssn1"}}, // both without their dashes
		{"data:6789", []string{"ein1", "ssn1", "ssn2"}},
		{`data:"hello world"`, []string{"gen1"}}, // case-insensitive
		{`data:"no indexes"`, nil},               // not indexed: not searchable
		{"data:4242424242424242", nil},           // card numbers have no default indexes
		{"type:card_number", []string{"card1"}},
		{"id:gen2", []string{"gen2"}},
		{"metadata.user_id:1234", []string{"ssn1"}},
		{"metadata.Customer_ID:abc-9", []string{"gen1"}},
		{`container:"/customer-123/*"`, []string{"ein1", "gen1"}},
		{`container:"/customer-123/pii/"`, []string{"ein1"}},
		{`container:"/customer-123/"`, nil}, // exact: no parents or children
		{"container:/pii/high/ AND NOT data:111-11-1111", []string{"ssn1", "ssn2"}},
		{"(type:social_security_number AND !metadata.user_id:1234) OR data:12-3456789", []string{"ein1", "ssn2", "ssn3"}},
		{"type:card_number type:employer_id_number", []string{"card1", "ein1"}},
		{"type:social_security_number -data:6789", []string{"ssn3"}},
		{"-type:social_security_number", []string{"card1", "ein1", "gen1", "gen2"}},
		{"created_at:[2000-01-01 TO *]", []string{"card1", "ein1", "gen1", "gen2", "ssn1", "ssn2", "ssn3"}},
		{"created_at:{* TO 2000-01-01}", nil},
		{"created_by:app AND type:token", []string{"gen1", "gen2"}},
		{"", []string{"card1", "ein1", "gen1", "gen2", "ssn1", "ssn2", "ssn3"}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			p, err := s.Search(ctx, tenant, tt.q, 1, 100)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, append([]string{}, tt.want...)) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.want)
			}
			if p.Total != len(p.Tokens) {
				t.Errorf("total %d for %d tokens", p.Total, len(p.Tokens))
			}
		})
	}

	for _, bad := range []string{"6789", "nope:1", "type:card*", "container:/a/*/b/*", "created_at:[a TO b]", "type:[a TO b]", "(type:a", "created_at:yesterday"} {
		if _, err := s.Search(ctx, tenant, bad, 1, 20); !tokens.IsQueryError(err) {
			t.Errorf("Search(%q): %v, want a query error", bad, err)
		}
	}

	// Pagination: newest first, totals across pages.
	p1, _ := s.Search(ctx, tenant, "type:social_security_number", 1, 2)
	p2, _ := s.Search(ctx, tenant, "type:social_security_number", 2, 2)
	if p1.Total != 3 || len(p1.Tokens) != 2 || len(p2.Tokens) != 1 || p1.Tokens[0].ID != "ssn3" || p2.Tokens[0].ID != "ssn1" {
		t.Errorf("pages: %v %v (total %d)", ids(p1), ids(p2), p1.Total)
	}

	// Neither the bucket nor the index holds searchable data in plaintext.
	kv, _ := js.KeyValue(ctx, tokens.Bucket)
	keys, _ := kv.ListKeys(ctx)
	for k := range keys.Keys() {
		e, _ := kv.Get(ctx, k)
		for _, secret := range []string{"123-45-6789", "123456789", "ello"} {
			if bytes.Contains(e.Value(), []byte(secret)) {
				t.Errorf("record %s holds %q: %s", k, secret, e.Value())
			}
		}
	}
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		for _, secret := range []string{"123-45-6789", "123456789", "hello world", "Hello World", "4242424242424242"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("index file %s holds %q", path, secret)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := openWatched(t)
	for i, c := range []struct{ id, typ, data, container, md string }{
		{"a", "token", `"1"`, "/general/high/", "X"},
		{"b", "token", `"2"`, "/general/low/", "y"},
		{"c", "card_number", `"4242424242424242"`, "/pci/high/", "x"},
	} {
		r := req(c.typ, c.data)
		r.ID, r.Containers, r.Metadata = c.id, []string{c.container}, map[string]string{"k": c.md, "n": string(rune('0' + i))}
		mustCreate(t, s, r)
	}
	tests := []struct {
		name string
		f    tokens.ListFilter
		want []string
	}{
		{"all", tokens.ListFilter{}, []string{"a", "b", "c"}},
		{"ids", tokens.ListFilter{IDs: []string{"a", "c", "zz"}}, []string{"a", "c"}},
		{"types", tokens.ListFilter{Types: []string{"card_number"}}, []string{"c"}},
		{"container", tokens.ListFilter{Containers: []string{"/general/low/"}}, []string{"b"}},
		{"metadata case-insensitive", tokens.ListFilter{Metadata: map[string]string{"k": "x"}}, []string{"a", "c"}},
		{"metadata and", tokens.ListFilter{Metadata: map[string]string{"k": "x", "n": "2"}}, []string{"c"}},
		{"type and id", tokens.ListFilter{Types: []string{"token"}, IDs: []string{"c"}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.List(ctx, tenant, tt.f, 1, 20)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p); !slices.Equal(got, tt.want) {
				t.Errorf("List = %v, want %v", got, tt.want)
			}
		})
	}
	p, err := s.List(ctx, tenant, tokens.ListFilter{IDs: []string{"c"}}, 1, 20)
	if err != nil || string(p.Tokens[0].Data) != `"4242424242424242"` {
		t.Errorf("List returns plaintext for the API to mask: %v %v", p, err)
	}
	if _, err := s.List(ctx, tenant, tokens.ListFilter{}, 0, 20); !tokens.IsQueryError(err) {
		t.Errorf("page 0: %v", err)
	}
}

// TestIndexFollowsBucket: a second gateway's index (its own store on the same
// bucket) learns of creates, updates and deletes made elsewhere, and a restarted
// one rebuilds from the bucket.
func TestIndexFollowsBucket(t *testing.T) {
	ctx := context.Background()
	a, js, key, _ := openWatched(t)
	b := watched(t, js, key, filepath.Join(t.TempDir(), "b"))
	eventually := func(what string, s *tokens.Store, q string, want []string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			p, err := s.Search(ctx, tenant, q, 1, 100)
			if err == nil && slices.Equal(ids(p), want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Search(%q) = %v %v, want %v", what, q, p, err, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	r := req("token", `"x"`)
	r.ID, r.Metadata = "t1", map[string]string{"state": "new"}
	mustCreate(t, a, r)
	eventually("create", b, "metadata.state:new", []string{"t1"})
	if _, err := a.Update(ctx, tenant, "t1", json.RawMessage(`{"metadata": {"state": "old"}}`), "app2"); err != nil {
		t.Fatal(err)
	}
	eventually("update", b, "metadata.state:old", []string{"t1"})
	eventually("update", b, "metadata.state:new", []string{})
	c := watched(t, js, key, filepath.Join(t.TempDir(), "c"))
	eventually("rebuild", c, "metadata.state:old AND modified_by:app2", []string{"t1"})
	if err := b.Delete(ctx, tenant, "t1"); err != nil {
		t.Fatal(err)
	}
	eventually("delete", a, "id:t1", []string{})
	eventually("delete", c, "id:t1", []string{})
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := openWatched(t)
	base := func() *tokens.Token {
		r := req("card", `{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030}`)
		r.Metadata = map[string]string{"a": "1", "b": "2"}
		r.SearchIndexes = []string{"{{ data.number | last4 }}"}
		return mustCreate(t, s, r)
	}
	tests := []struct {
		name  string
		patch string
		field string // expected validation error
		check func(t *testing.T, before, after *tokens.Token)
	}{
		{name: "data merges", patch: `{"data": {"expiration_year": 2031, "cvc": "123"}}`, check: func(t *testing.T, b, a *tokens.Token) {
			if !sameJSON(a.Data, `{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2031, "cvc": "123"}`) {
				t.Error(string(a.Data))
			}
			if a.Fingerprint != b.Fingerprint || a.ModifiedBy != "editor" || a.ModifiedAt == nil || !a.CreatedAt.Equal(b.CreatedAt) || a.CreatedBy != "app" {
				t.Errorf("%+v", a)
			}
		}},
		{name: "data member removed", patch: `{"data": {"expiration_month": null}}`, check: func(t *testing.T, b, a *tokens.Token) {
			if !sameJSON(a.Data, `{"number": "4242424242424242", "expiration_year": 2030}`) {
				t.Error(string(a.Data))
			}
		}},
		{name: "new number, new fingerprint", patch: `{"data": {"number": "5555555555554444"}}`, check: func(t *testing.T, b, a *tokens.Token) {
			if a.Fingerprint == b.Fingerprint {
				t.Error("fingerprint kept")
			}
			p, _ := s.Search(ctx, tenant, "data:4444", 1, 10)
			if len(p.Tokens) != 1 || p.Tokens[0].ID != a.ID {
				t.Errorf("search index not recomputed: %v", ids(p))
			}
		}},
		{name: "metadata merges", patch: `{"metadata": {"a": null, "c": "3"}}`, check: func(t *testing.T, b, a *tokens.Token) {
			if len(a.Metadata) != 2 || a.Metadata["b"] != "2" || a.Metadata["c"] != "3" {
				t.Error(a.Metadata)
			}
		}},
		{name: "containers replaced", patch: `{"containers": ["/pci/low/"]}`, check: func(t *testing.T, b, a *tokens.Token) {
			if !slices.Equal(a.Containers, []string{"/pci/low/"}) {
				t.Error(a.Containers)
			}
		}},
		{name: "containers default", patch: `{"containers": null}`, check: func(t *testing.T, b, a *tokens.Token) {
			if !slices.Equal(a.Containers, []string{"/pci/high/"}) {
				t.Error(a.Containers)
			}
		}},
		{name: "mask", patch: `{"mask": {"number": "{{ data.number | last4 }}", "expiration_month": null, "expiration_year": null}}`, check: func(t *testing.T, b, a *tokens.Token) {
			m, _ := a.Masked(ctx)
			if !sameJSON(m.Data, `{"number": "4242"}`) {
				t.Error(string(m.Data))
			}
		}},
		{name: "expiry", patch: `{"expires_at": "2130-01-01T00:00:00Z"}`, check: func(t *testing.T, b, a *tokens.Token) {
			if a.ExpiresAt == nil || a.ExpiresAt.Year() != 2130 {
				t.Error(a.ExpiresAt)
			}
		}},
		{name: "fingerprint expression", patch: `{"fingerprint_expression": "{{ data.number }}-{{ data.expiration_year }}"}`, check: func(t *testing.T, b, a *tokens.Token) {
			if a.Fingerprint == b.Fingerprint {
				t.Error("fingerprint kept")
			}
		}},
		{name: "invalid number", patch: `{"data": {"number": "4242424242424241"}}`, field: "data.number"},
		{name: "data removed", patch: `{"data": null}`, field: "data"},
		{name: "type", patch: `{"type": "token"}`, field: "type"},
		{name: "literal fingerprint", patch: `{"fingerprint_expression": "4111111111111111"}`, field: "fingerprint_expression"},
		{name: "bad container", patch: `{"containers": ["x"]}`, field: "containers"},
		{name: "bad search index", patch: `{"search_indexes": ["{{ data.none }}"]}`, field: "search_indexes[0]"},
		{name: "past expiry", patch: `{"expires_at": "2001-01-01"}`, field: "expires_at"},
		{name: "metadata type", patch: `{"metadata": {"a": 1}}`, field: "metadata"},
		{name: "not an object", patch: `[1]`, field: "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := base()
			after, err := s.Update(ctx, tenant, before.ID, json.RawMessage(tt.patch), "editor")
			if tt.field != "" {
				var ve *tokens.ValidationError
				if !errors.As(err, &ve) || len(ve.Fields[tt.field]) == 0 {
					t.Fatalf("err = %v, want a validation error on %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, tenant, before.ID)
			if err != nil || !bytes.Equal(got.Data, after.Data) {
				t.Fatalf("stored %v %v, returned %s", got, err, after.Data)
			}
			tt.check(t, before, after)
		})
	}
	if _, err := s.Update(ctx, tenant, "missing", json.RawMessage(`{}`), "x"); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("missing token: %v", err)
	}
}

func sameJSON(a []byte, b string) bool {
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && jsonEqual(va, vb)
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestSweep: expired tokens leave searches at once and the bucket at the next sweep.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	s, js, _, _ := openWatched(t)
	for i, exp := range []string{"2130-01-01T00:00:00Z", "2131-01-01T00:00:00Z", ""} {
		r := req("token", `"x"`)
		r.ID, r.ExpiresAt = string(rune('a'+i)), exp
		mustCreate(t, s, r)
	}
	tokens.SetNow(s, func() time.Time { return time.Date(2130, 6, 1, 0, 0, 0, 0, time.UTC) })
	p, err := s.Search(ctx, tenant, "", 1, 20)
	if err != nil || !slices.Equal(ids(p), []string{"b", "c"}) {
		t.Fatalf("search after expiry: %v %v", p, err)
	}
	kv, _ := js.KeyValue(ctx, tokens.Bucket)
	if _, err := kv.Get(ctx, "t."+tenant+".a"); err != nil {
		t.Fatalf("before the sweep the record is still stored: %v", err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := kv.Get(ctx, "t."+tenant+".a"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("after the sweep: %v", err)
	}
	if n, _ := tokens.Count(ctx, s); n != 2 {
		t.Errorf("%d records left, want 2", n)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second sweep: %d %v", n, err)
	}
}

// TestDeduplicationHijack performs issue 11's attack: a token created with a
// fingerprint_expression that yields another value's fingerprint must not be what
// deduplication hands to a later caller creating that value.
func TestDeduplicationHijack(t *testing.T) {
	ctx := context.Background()
	s, _, _, _ := openWatched(t)
	victim := req("card_number", `"4111111111111111"`)
	victim.DeduplicateToken = true

	// 1. A literal fingerprint expression is refused outright.
	literal := req("card_number", `"5555555555554444"`)
	literal.FingerprintExpression = "4111111111111111"
	if _, err := s.Create(ctx, literal); err == nil {
		t.Fatal("a fingerprint expression without data was accepted")
	}
	if _, err := s.Tokenize(ctx, tenant, "attacker", json.RawMessage(`{"type": "card_number", "data": "5555555555554444", "fingerprint_expression": "4111111111111111"}`)); err == nil {
		t.Fatal("tokenize accepted a fingerprint expression without data")
	}

	// 2. An expression over data that still yields the other number plants a token
	// with the victim's fingerprint; deduplication must not return it.
	planted := req("card_number", `"5555555555554444"`)
	planted.CreatedBy = "attacker"
	planted.FingerprintExpression = "{{ data | remove: '5555555555554444' }}4111111111111111"
	evil := mustCreate(t, s, planted)
	honest := mustCreate(t, s, req("card_number", `"4111111111111111"`))
	if evil.Fingerprint != honest.Fingerprint {
		t.Fatalf("the attack setup failed: fingerprints differ")
	}
	// The honest token held the slot; plant again so the attacker's is the newest.
	planted.ID = ""
	evil = mustCreate(t, s, planted)
	got, err := s.Create(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == evil.ID || string(got.Data) != `"4111111111111111"` {
		t.Fatalf("deduplication returned the attacker's token %s holding %s", got.ID, got.Data)
	}
	// Through tokenize (the endpoint and reactor results) too.
	evil = mustCreate(t, s, planted)
	out, err := s.Tokenize(ctx, tenant, "backend", json.RawMessage(`{"card": {"type": "card_number", "data": "4111111111111111", "deduplicate_token": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Card struct{ ID string } }
	json.Unmarshal(out, &res)
	if res.Card.ID == "" || res.Card.ID == evil.ID {
		t.Fatalf("tokenize deduplicated to the attacker's token: %s", out)
	}
	back, err := s.Get(ctx, tenant, res.Card.ID)
	if err != nil || string(back.Data) != `"4111111111111111"` {
		t.Fatalf("tokenized token: %v %v", back, err)
	}
	// Genuine duplicates are still deduplicated, by Create and by Tokenize.
	again, err := s.Create(ctx, victim)
	if err != nil || again.ID != res.Card.ID {
		t.Errorf("a true duplicate was not deduplicated: %v %v (want %s)", again, err, res.Card.ID)
	}
}
