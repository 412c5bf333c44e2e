package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

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
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := ps.Watch(watchCtx)
	if err != nil {
		t.Fatal(err)
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
	// The watch may coalesce changes made before it started (the bucket keeps one
	// revision), but it ends with the deletion, and any names it saw come in order.
	var seen []string
	for c := range changes {
		if c.Proxy == nil {
			break
		}
		seen = append(seen, c.Proxy.Name)
	}
	if len(seen) > 0 && seen[len(seen)-1] != "renamed" || len(seen) == 2 && seen[0] != "n" {
		t.Errorf("watch saw %v before the deletion", seen)
	}
}
