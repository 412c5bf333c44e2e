package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/natsd/natstest"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/store"
)

func TestProxiesSealedAtRest(t *testing.T) {
	ctx := context.Background()
	js, _ := jetStream(t)
	key, _, err := seal.LoadOrCreate(t.TempDir() + "/k")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := store.OpenProxies(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	// other is another gateway's handle, following the bucket: it finds proxies by
	// key only through what it follows (k1 is not a generated key, so no scan).
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	other, err := store.OpenProxies(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Follow(watchCtx); err != nil {
		t.Fatal(err)
	}
	seenAs := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			p, err := other.ByKey(ctx, "k1")
			got := ""
			if err == nil {
				got = p.Name
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the following handle has %q (%v), want %q", got, err, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	p := &store.Proxy{ID: "p1", Name: "n", Key: "k1", DestinationURL: "https://example.com", RequireAuth: true,
		Configuration:      map[string]string{"API_KEY": "super-secret-value"},
		RequestTransforms:  []store.ProxyTransform{{Type: "code", Code: "module.exports = x => x", Bundle: "sha-req"}},
		ResponseTransforms: []store.ProxyTransform{{Type: "mask", Matcher: "regex", Expression: "(\\d+)", Replacement: "*"}},
		CreatedAt:          time.Now().UTC()}
	if err := ps.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := ps.Create(ctx, p); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v", err)
	}
	seenAs("n")
	kv, _ := js.KeyValue(ctx, store.ProxiesBucket)
	raw, err := kv.Get(ctx, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw.Value(), []byte("super-secret-value")) || bytes.Contains(raw.Value(), []byte("API_KEY")) {
		t.Fatalf("configuration stored in plaintext: %s", raw.Value())
	}
	got, err := ps.Get(ctx, "p1")
	if err != nil || got.Configuration["API_KEY"] != "super-secret-value" || got.RequestTransforms[0].Bundle != "sha-req" ||
		got.ResponseTransforms[0].Expression != "(\\d+)" || !got.RequireAuth || got.Revision == 0 {
		t.Fatalf("get: %+v %v", got, err)
	}
	stale := *got
	got.Name = "renamed"
	if err := ps.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := ps.Update(ctx, &stale); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale update: %v", err)
	}
	seenAs("renamed")
	list, err := ps.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "renamed" {
		t.Errorf("list: %v %v", list, err)
	}
	if err := ps.Delete(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if err := ps.Delete(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := ps.Get(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	seenAs("")
}

// TestProxyKeyIndex: a handle that does not follow the bucket finds a proxy by key
// through the key index, and an unknown key of the generated shape costs one read,
// never a listing of the bucket (which would decrypt every proxy).
func TestProxyKeyIndex(t *testing.T) {
	ctx := context.Background()
	js, _ := jetStream(t)
	key, _, err := seal.LoadOrCreate(t.TempDir() + "/k")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := store.OpenProxies(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	const pkey = "0123456789abcdef0123456789abcdef"
	for i, k := range []string{pkey, "fedcba9876543210fedcba9876543210"} {
		p := &store.Proxy{ID: "p" + string(rune('1'+i)), Name: "n", Key: k, DestinationURL: "https://example.com", CreatedAt: time.Now().UTC()}
		if err := ps.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	other, err := store.OpenProxies(ctx, js, key) // not following
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want string // proxy id, "" for not found
	}{
		{pkey, "p1"},
		{"fedcba9876543210fedcba9876543210", "p2"},
		{"00000000000000000000000000000000", ""},
		{"not-a-generated-key", ""},
		{"0123456789ABCDEF0123456789ABCDEF", ""},
	} {
		p, err := other.ByKey(ctx, tc.key)
		got := ""
		if err == nil {
			got = p.ID
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v", tc.key, err)
		}
		if got != tc.want {
			t.Errorf("ByKey(%s) = %q, want %q", tc.key, got, tc.want)
		}
	}
	if n := other.ListCalls(); n != 0 {
		t.Errorf("lookups by key listed the bucket %d times", n)
	}
	// The index entries are not records: List and a following handle see proxies only.
	if list, err := ps.List(ctx); err != nil || len(list) != 2 {
		t.Errorf("list: %d %v", len(list), err)
	}
	if err := ps.Delete(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ByKey(ctx, pkey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted proxy's key: %v", err)
	}
	kv, _ := js.KeyValue(ctx, store.ProxiesBucket)
	lister, _ := kv.ListKeys(ctx)
	n := 0
	for k := range lister.Keys() {
		n++
		if strings.Contains(k, pkey) || strings.Contains(k, "fedcba98") {
			t.Errorf("a proxy key is a bucket key: %s", k)
		}
	}
	if n != 2 { // p2 and its index entry
		t.Errorf("bucket keys after delete: %d", n)
	}
}

// BenchmarkProxyByKeyMiss is the cost of an unknown key of the generated shape on a
// gateway that does not hold it in memory, with 151 proxies stored.
func BenchmarkProxyByKeyMiss(b *testing.B) {
	ctx := context.Background()
	js, _ := natstest.JetStream(b)
	key, _, err := seal.LoadOrCreate(b.TempDir() + "/k")
	if err != nil {
		b.Fatal(err)
	}
	ps, err := store.OpenProxies(ctx, js, key)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 151 {
		p := &store.Proxy{ID: fmt.Sprintf("p%d", i), Name: "n", Key: fmt.Sprintf("%032x", i+1), DestinationURL: "https://example.com",
			Configuration: map[string]string{"K": "v"}, CreatedAt: time.Now().UTC()}
		if err := ps.Create(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("index", func(b *testing.B) {
		for b.Loop() {
			if _, err := ps.ByKey(ctx, "ffffffffffffffffffffffffffffffff"); !errors.Is(err, store.ErrNotFound) {
				b.Fatal(err)
			}
		}
	})
	// What a miss cost before the index: reading and decrypting every proxy.
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if list, err := ps.List(ctx); err != nil || len(list) != 151 {
				b.Fatal(len(list), err)
			}
		}
	})
}
