package tokens_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/internal/natsd/natstest"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/tokens"
)

const tenant = "8f1a3b8e-64a5-4f7e-9f0e-2b8a1d2c3e4f"

func open(t *testing.T) (*tokens.Store, jetstream.KeyValue) {
	t.Helper()
	ctx := context.Background()
	js, _ := natstest.JetStream(t)
	key, _, err := seal.LoadOrCreate(t.TempDir() + "/key")
	if err != nil {
		t.Fatal(err)
	}
	s, err := tokens.Open(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	kv, _ := js.KeyValue(ctx, tokens.Bucket)
	return s, kv
}

func req(typ, data string) tokens.CreateRequest {
	return tokens.CreateRequest{TenantID: tenant, CreatedBy: "app", Type: typ, Data: json.RawMessage(data)}
}

func TestValidation(t *testing.T) {
	s, _ := open(t)
	tests := []struct {
		typ, data string
		field     string // "" means valid
	}{
		{"token", `"anything"`, ""},
		{"token", `{"a": [1, 2]}`, ""},
		{"token", `null`, "data"},
		{"", `"x"`, "type"},
		{"nope", `"x"`, "type"},
		{"card", `{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030, "cvc": "123"}`, ""},
		{"card", `{"number": "36227206271667"}`, ""},
		{"card", `{"number": "4242424242424241"}`, "data.number"},
		{"card", `{"number": "42424242"}`, "data.number"},
		{"card", `{"number": "4242-4242-4242-4242"}`, "data.number"},
		{"card", `{"expiration_month": 1}`, "data.number"},
		{"card", `{"number": "4242424242424242", "expiration_month": 13}`, "data.expiration_month"},
		{"card", `{"number": "4242424242424242", "expiration_month": "12"}`, "data.expiration_month"},
		{"card", `{"number": "4242424242424242", "expiration_year": 30}`, "data.expiration_year"},
		{"card", `{"number": "4242424242424242", "cvc": "12"}`, "data.cvc"},
		{"card", `"4242424242424242"`, "data"},
		{"bank", `{"routing_number": "021000021", "account_number": "1234567890"}`, ""},
		{"bank", `{"routing_number": "021000022", "account_number": "1234567890"}`, "data.routing_number"},
		{"bank", `{"routing_number": "021000021"}`, "data.account_number"},
		{"bank", `{"routing_number": "021000021", "account_number": "123456789012345678"}`, "data.account_number"},
		{"card_number", `"5555555555554444"`, ""},
		{"card_number", `"5555555555554445"`, "data"},
		{"card_number", `5555555555554444`, "data"},
		{"us_bank_account_number", `"1234567890"`, ""},
		{"us_bank_account_number", `"12"`, "data"},
		{"us_bank_routing_number", `"011000015"`, ""},
		{"us_bank_routing_number", `"011000016"`, "data"},
		{"social_security_number", `"123-45-6789"`, ""},
		{"social_security_number", `"123456789"`, ""},
		{"social_security_number", `"12-345-6789"`, "data"},
		{"social_security_number", `"1234567890"`, "data"},
		{"employer_id_number", `"12-3456789"`, ""},
		{"employer_id_number", `"123-45-6789"`, "data"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.data, func(t *testing.T) {
			tok, err := s.Create(context.Background(), req(tt.typ, tt.data))
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tok.ID == "" || tok.Fingerprint == "" || len(tok.Containers) == 0 {
					t.Errorf("incomplete token %+v", tok)
				}
				return
			}
			var ve *tokens.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields[tt.field]) == 0 {
				t.Fatalf("err = %v, want a validation error on %s", err, tt.field)
			}
		})
	}
}

func TestRequestOptions(t *testing.T) {
	s, _ := open(t)
	tests := []struct {
		name  string
		mod   func(*tokens.CreateRequest)
		field string
		check func(t *testing.T, tok *tokens.Token)
	}{
		{name: "custom id", mod: func(r *tokens.CreateRequest) { r.ID = "my_token-1" },
			check: func(t *testing.T, tok *tokens.Token) {
				if tok.ID != "my_token-1" {
					t.Error(tok.ID)
				}
			}},
		{name: "id expression", mod: func(r *tokens.CreateRequest) { r.ID = "ssn-{{ data | last4 }}" },
			check: func(t *testing.T, tok *tokens.Token) {
				if tok.ID != "ssn-6789" {
					t.Error(tok.ID)
				}
			}},
		{name: "bad id", mod: func(r *tokens.CreateRequest) { r.ID = "a.b" }, field: "id"},
		{name: "containers", mod: func(r *tokens.CreateRequest) { r.Containers = []string{"/customer-1/pii/"} },
			check: func(t *testing.T, tok *tokens.Token) {
				if !reflect.DeepEqual(tok.Containers, []string{"/customer-1/pii/"}) {
					t.Error(tok.Containers)
				}
			}},
		{name: "bad container", mod: func(r *tokens.CreateRequest) { r.Containers = []string{"pii"} }, field: "containers"},
		{name: "bad mask", mod: func(r *tokens.CreateRequest) { r.Mask = json.RawMessage(`"{{ other }}"`) }, field: "mask"},
		{name: "malformed mask", mod: func(r *tokens.CreateRequest) { r.Mask = json.RawMessage(`"{{ data | nope }}"`) }, field: "mask"},
		{name: "bad fingerprint", mod: func(r *tokens.CreateRequest) { r.FingerprintExpression = "{{ data" }, field: "fingerprint_expression"},
		{name: "bad search index", mod: func(r *tokens.CreateRequest) { r.SearchIndexes = []string{"{{ data.missing }}"} }, field: "search_indexes[0]"},
		{name: "expires", mod: func(r *tokens.CreateRequest) { r.ExpiresAt = "8/26/2130 7:23:57 PM -07:00" },
			check: func(t *testing.T, tok *tokens.Token) {
				b, _ := json.Marshal(tok.ExpiresAt)
				if string(b) != `"2130-08-26T19:23:57-07:00"` {
					t.Error(string(b))
				}
			}},
		{name: "expired", mod: func(r *tokens.CreateRequest) { r.ExpiresAt = "2020-01-01T00:00:00Z" }, field: "expires_at"},
		{name: "bad date", mod: func(r *tokens.CreateRequest) { r.ExpiresAt = "tomorrow" }, field: "expires_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req("social_security_number", `"123-45-6789"`)
			tt.mod(&r)
			tok, err := s.Create(context.Background(), r)
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
			tt.check(t, tok)
		})
	}
}

func TestMasks(t *testing.T) {
	s, _ := open(t)
	tests := []struct {
		typ, data, mask string
		want            string // masked data; "" means none
	}{
		{"card_number", `"4242424242424242"`, "", `"XXXXXXXXXXXX4242"`},
		{"card_number", `"36227206271667"`, "", `"XXXXXXXXXX1667"`},
		{"us_bank_account_number", `"1234567890"`, "", `"XXXXXX7890"`},
		{"social_security_number", `"123456789"`, "", `"XXXXX6789"`},
		{"social_security_number", `"123-45-6789"`, "", `"XXX-XX-6789"`},
		{"employer_id_number", `"12-3456789"`, "", `"XX-XXX6789"`},
		{"card", `{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2025, "cvc": "123"}`, "",
			`{"number":"XXXXXXXXXXXX4242","expiration_month":12,"expiration_year":2025}`},
		{"bank", `{"routing_number": "021000021", "account_number": "1234567890"}`, "",
			`{"routing_number":"021000021","account_number":"XXXXXX7890"}`},
		{"token", `"Sensitive Value"`, `"{{ data | reveal_last: 4 }}"`, `"XXXXXXXXXXXalue"`},
		{"token", `"Sensitive Value"`, "", ""},
		{"token", `"x"`, "null", ""},
		{"token", `{"a": {"b": "secret"}, "c": 1}`, `{"c": "{{ data.c }}", "b": "{{ data | json: '$.a.b' | last4 }}"}`, `{"c":1,"b":"cret"}`},
	}
	for _, tt := range tests {
		t.Run(tt.typ+" "+tt.data+" "+tt.mask, func(t *testing.T) {
			r := req(tt.typ, tt.data)
			if tt.mask != "" {
				r.Mask = json.RawMessage(tt.mask)
			}
			tok, err := s.Create(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			m, err := tok.Masked(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := string(m.Data); got != tt.want {
				t.Errorf("masked %s, want %s", got, tt.want)
			}
			if got, _ := s.Get(context.Background(), tenant, tok.ID); got == nil || !bytes.Equal(got.Data, tok.Data) {
				t.Errorf("plaintext changed: %v", got)
			}
		})
	}
}

func TestSealedGetDelete(t *testing.T) {
	ctx := context.Background()
	s, kv := open(t)
	tok, err := s.Create(ctx, req("card_number", `"4242424242424242"`))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := kv.ListKeys(ctx)
	for k := range keys.Keys() {
		e, _ := kv.Get(ctx, k)
		if bytes.Contains(e.Value(), []byte("42424242")) {
			t.Errorf("plaintext at rest under %s: %s", k, e.Value())
		}
	}
	got, err := s.Get(ctx, tenant, tok.ID)
	if err != nil || string(got.Data) != `"4242424242424242"` || got.CreatedBy != "app" || got.TenantID != tenant {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := s.Get(ctx, "other-tenant", tok.ID); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("other tenant: %v", err)
	}
	if err := s.Delete(ctx, "other-tenant", tok.ID); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("other tenant delete: %v", err)
	}
	r := req("token", `"x"`)
	r.ID = tok.ID
	if _, err := s.Create(ctx, r); !errors.Is(err, tokens.ErrExists) {
		t.Errorf("same id: %v", err)
	}
	if err := s.Delete(ctx, tenant, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, tenant, tok.ID); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.Delete(ctx, tenant, tok.ID); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestFingerprintAndDeduplication(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	a, _ := s.Create(ctx, req("social_security_number", `"123-45-6789"`))
	b, _ := s.Create(ctx, req("social_security_number", `"123456789"`))
	c, _ := s.Create(ctx, req("social_security_number", `"123456780"`))
	other := req("social_security_number", `"123456789"`)
	other.TenantID = "another"
	d, _ := s.Create(ctx, other)
	if a.Fingerprint != b.Fingerprint || a.Fingerprint == c.Fingerprint || a.Fingerprint == d.Fingerprint || a.ID == b.ID {
		t.Fatalf("fingerprints %s %s %s %s", a.Fingerprint, b.Fingerprint, c.Fingerprint, d.Fingerprint)
	}
	r := req("social_security_number", `"123456789"`)
	r.DeduplicateToken = true
	e, err := s.Create(ctx, r)
	if err != nil || e.ID != b.ID {
		t.Fatalf("deduplicated to %v (%v), want the newest %s", e, err, b.ID)
	}
	// The same fingerprint with other data is a new token: deduplication returns only
	// a token holding the very same data.
	dashed := req("social_security_number", `"123-45-6789"`)
	dashed.DeduplicateToken = true
	if g, err := s.Create(ctx, dashed); err != nil || g.ID == b.ID || g.ID == a.ID {
		t.Fatalf("other data deduplicated to %v (%v)", g, err)
	}
	if err := s.Delete(ctx, tenant, b.ID); err != nil {
		t.Fatal(err)
	}
	f, err := s.Create(ctx, r)
	if err != nil || f.ID == b.ID || f.ID == c.ID {
		t.Fatalf("after delete: %v %v", f, err)
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	r := req("token", `"x"`)
	r.ExpiresAt = "2130-01-01T00:00:00Z"
	tok, err := s.Create(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, tenant, tok.ID); err != nil {
		t.Fatal(err)
	}
	tokens.SetNow(s, func() time.Time { return time.Date(2130, 1, 1, 0, 0, 1, 0, time.UTC) })
	if _, err := s.Get(ctx, tenant, tok.ID); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("expired token: %v", err)
	}
}

func TestDetokenize(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	card, _ := s.Create(ctx, req("card", `{"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2030}`))
	ssn, _ := s.Create(ctx, req("social_security_number", `"123-45-6789"`))
	tests := []struct {
		name, args, want string
		err              error
		errText          string
	}{
		{name: "none", args: `{"a": 1}`, want: `{"a": 1}`},
		{name: "whole card", args: `{"card": "{{ ` + card.ID + ` }}", "k": "v"}`,
			want: `{"card": {"number":"4242424242424242","expiration_month":12,"expiration_year":2030}, "k": "v"}`},
		{name: "json path", args: `{"n": "{{ ` + card.ID + ` | json: '$.number' }}"}`, want: `{"n": "4242424242424242"}`},
		{name: "dotted", args: `{"m": "{{ ` + card.ID + `.expiration_month }}"}`, want: `{"m": 12}`},
		{name: "interpolated", args: `{"s": "ssn={{` + ssn.ID + `}};exp={{ ` + card.ID + ` | json: '$.expiration_year' }}"}`,
			want: `{"s": "ssn=123-45-6789;exp=2030"}`},
		{name: "unknown", args: `{"x": "{{ 00000000-0000-0000-0000-000000000000 }}"}`, err: tokens.ErrNotFound,
			errText: "token not found in {{ 00000000-0000-0000-0000-000000000000 }}"},
		{name: "malformed", args: `{"x": "{{ ` + ssn.ID + ` | }}"}`, err: expr.ErrSyntax},
		{name: "keyed", args: `{"x": "{{ token: 'a' }}"}`, errText: "is not a token reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Detokenize(ctx, tenant, json.RawMessage(tt.args))
			if tt.err != nil || tt.errText != "" {
				if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) || !strings.Contains(err.Error(), tt.errText) || !tokens.IsCallerError(err) {
					t.Fatalf("err = %v, want %v %q", err, tt.err, tt.errText)
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
	if _, err := s.Detokenize(ctx, "another-tenant", json.RawMessage(`["{{ `+ssn.ID+` }}"]`)); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("another tenant's token: %v", err)
	}
	var many []string
	for i := range tokens.MaxPerRequest + 1 {
		many = append(many, fmt.Sprintf(`"{{ t%d }}"`, i))
	}
	if _, err := s.Detokenize(ctx, tenant, json.RawMessage("["+strings.Join(many, ",")+"]")); !errors.Is(err, expr.ErrLimit) {
		t.Errorf("101 tokens: %v", err)
	}
}

func TestTokenize(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	t.Run("one request", func(t *testing.T) {
		out, err := s.Tokenize(ctx, tenant, "app", json.RawMessage(`{"type": "card_number", "data": "4242424242424242", "metadata": {"k": "v"}}`))
		if err != nil {
			t.Fatal(err)
		}
		var tok map[string]any
		json.Unmarshal(out, &tok)
		if tok["data"] != "XXXXXXXXXXXX4242" || tok["type"] != "card_number" || tok["created_by"] != "app" || tok["created_at"] == nil ||
			tok["metadata"].(map[string]any)["k"] != "v" {
			t.Fatalf("token %s", out)
		}
		got, err := s.Get(ctx, tenant, tok["id"].(string))
		if err != nil || string(got.Data) != `"4242424242424242"` {
			t.Fatalf("stored: %v %v", got, err)
		}
	})
	t.Run("composite", func(t *testing.T) {
		out, err := s.Tokenize(ctx, tenant, "app", json.RawMessage(`{
			"first_name": "John",
			"primary_card": {"type": "card", "data": {"number": "4242424242424242", "expiration_month": 12, "expiration_year": 2025, "cvc": "123"}},
			"tags": ["preferred", {"type": "token", "data": "vip"}, null]}`))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			FirstName   string         `json:"first_name"`
			PrimaryCard map[string]any `json:"primary_card"`
			Tags        []any          `json:"tags"`
		}
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		first, err := s.Get(ctx, tenant, v.FirstName)
		if err != nil || string(first.Data) != `"John"` || first.Type != "token" {
			t.Fatalf("first_name: %s %v", out, err)
		}
		if !reflect.DeepEqual(v.PrimaryCard["data"], map[string]any{"number": "XXXXXXXXXXXX4242", "expiration_month": 12.0, "expiration_year": 2025.0}) {
			t.Errorf("card: %v", v.PrimaryCard)
		}
		vip, _ := v.Tags[1].(map[string]any)
		if _, ok := v.Tags[0].(string); !ok || vip["type"] != "token" || vip["data"] != nil || v.Tags[2] != nil {
			t.Errorf("tags: %v", v.Tags)
		}
	})
	t.Run("invalid creates nothing", func(t *testing.T) {
		before := count(t, s)
		_, err := s.Tokenize(ctx, tenant, "app", json.RawMessage(`{"ok": "plain", "card": {"type": "card", "data": {"number": "1234"}}, "list": [{"type": "nope", "data": 1}]}`))
		var ve *tokens.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields["card.data.number"]) == 0 || len(ve.Fields["list[0].type"]) == 0 {
			t.Fatalf("err = %v", err)
		}
		if after := count(t, s); after != before {
			t.Errorf("%d tokens created", after-before)
		}
	})
	t.Run("null", func(t *testing.T) {
		if out, err := s.Tokenize(ctx, tenant, "app", json.RawMessage(`null`)); err != nil || out != nil {
			t.Errorf("%s %v", out, err)
		}
	})
}

// count detokenizes nothing but counts stored tokens through the bucket.
func count(t *testing.T, s *tokens.Store) int {
	t.Helper()
	n, err := tokens.Count(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
