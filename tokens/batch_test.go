package tokens_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/reactord/reactord/expr"
	"github.com/reactord/reactord/tokens"
)

// TestBatchResolver: resolving from one batched read gives what resolving token by
// token gives, and both what Get says exists, for live, updated, deleted, expired,
// unknown, malformed and other tenants' ids; the caller's check still refuses a
// token it may not use.
func TestBatchResolver(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	mk := func(r tokens.CreateRequest) *tokens.Token {
		t.Helper()
		tok, err := s.Create(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	plain := mk(req("token", `"plain value"`))
	card := mk(req("card", `{"number":"4242424242424242","expiration_month":12,"expiration_year":2030}`))
	restricted := mk(tokens.CreateRequest{TenantID: tenant, Type: "token", Data: json.RawMessage(`"restricted"`), Containers: []string{"/restricted/"}})
	updated := mk(req("token", `"before"`))
	if _, err := s.Update(ctx, tenant, updated.ID, json.RawMessage(`{"data":"after"}`), "app"); err != nil {
		t.Fatal(err)
	}
	deleted := mk(req("token", `"deleted"`))
	if err := s.Delete(ctx, tenant, deleted.ID); err != nil {
		t.Fatal(err)
	}
	exp := req("token", `"expiring"`)
	exp.ExpiresAt = "2130-01-01T00:00:00Z"
	expiring := mk(exp)
	other := mk(tokens.CreateRequest{TenantID: "another-tenant", Type: "token", Data: json.RawMessage(`"other tenant"`)})

	// The caller may not use tokens in /restricted/.
	allow := func(tok *tokens.Token) error {
		if slices.Contains(tok.Containers, "/restricted/") {
			return tokens.ErrForbidden
		}
		return nil
	}
	refs := []expr.Ref{
		{Name: plain.ID}, {Name: card.ID, Path: []string{"number"}}, {Name: card.ID}, {Name: restricted.ID},
		{Name: updated.ID}, {Name: deleted.ID}, {Name: expiring.ID}, {Name: other.ID},
		{Name: "00000000-0000-0000-0000-000000000000"}, {Name: "not a valid id!"},
		{Keyed: true, Name: "transform_identifier", Value: "x"},
	}
	for _, now := range []time.Time{time.Now().UTC(), time.Date(2130, 1, 1, 0, 0, 1, 0, time.UTC)} {
		tokens.SetNow(s, func() time.Time { return now })
		batch := s.BatchResolver(ctx, tenant, refs, allow)
		single := s.Resolver(tenant, allow)
		for _, r := range refs {
			t.Run(fmt.Sprintf("%s/%d", r, now.Year()), func(t *testing.T) {
				want, wantErr := single(ctx, r)
				got, err := batch(ctx, r)
				if fmt.Sprint(err) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
					t.Errorf("batched: %v %v; one by one: %v %v", got, err, want, wantErr)
				}
				// Both agree with Get on which tokens exist.
				if _, getErr := s.Get(ctx, tenant, r.Name); !r.Keyed && errors.Is(getErr, tokens.ErrNotFound) != errors.Is(wantErr, tokens.ErrNotFound) {
					t.Errorf("Get: %v; resolving: %v", getErr, wantErr)
				}
			})
		}
	}
	if _, err := s.BatchResolver(ctx, tenant, refs, allow)(ctx, expr.Ref{Name: restricted.ID}); !errors.Is(err, tokens.ErrForbidden) {
		t.Errorf("restricted token: %v, want ErrForbidden", err)
	}
	if _, err := s.BatchResolver(ctx, "another-tenant", refs, allow)(ctx, expr.Ref{Name: plain.ID}); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("another tenant's token: %v, want ErrNotFound", err)
	}
}

// TestReadMany: the batched read returns the live tokens of the tenant, with their
// data, and nothing for the others.
func TestReadMany(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var ids []string
	for i := range 5 {
		tok, err := s.Create(ctx, req("token", fmt.Sprintf(`"value %d"`, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tok.ID)
	}
	if err := s.Delete(ctx, tenant, ids[4]); err != nil {
		t.Fatal(err)
	}
	got, err := tokens.ReadMany(ctx, s, tenant, append(ids, ids[0], "00000000-0000-0000-0000-000000000000"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d tokens, want 4: %v", len(got), got)
	}
	for i, id := range ids[:4] {
		if tok := got[id]; tok == nil || string(tok.Data) != fmt.Sprintf(`"value %d"`, i) {
			t.Errorf("token %d: %+v", i, tok)
		}
	}
	if got, err := tokens.ReadMany(ctx, s, "another-tenant", ids); err != nil || len(got) != 0 {
		t.Errorf("another tenant: %v %v", got, err)
	}
}

// TestBatchConcurrent: concurrent batched reads each get their own tokens' data.
func TestBatchConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	const readers, per = 8, 5
	refs := make([][]expr.Ref, readers)
	for r := range readers {
		for i := range per {
			tok, err := s.Create(ctx, req("token", fmt.Sprintf(`"reader %d value %d"`, r, i)))
			if err != nil {
				t.Fatal(err)
			}
			refs[r] = append(refs[r], expr.Ref{Name: tok.ID})
		}
	}
	errs := make(chan error, readers)
	for r := range readers {
		go func() {
			for range 20 {
				resolve := s.BatchResolver(ctx, tenant, refs[r])
				for i, ref := range refs[r] {
					v, err := resolve(ctx, ref)
					if want := fmt.Sprintf(`"reader %d value %d"`, r, i); err != nil || string(v.(json.RawMessage)) != want {
						errs <- fmt.Errorf("reader %d token %d: %v %v, want %s", r, i, v, err, want)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
