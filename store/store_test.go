package store_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/internal/natsd/natstest"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/store"
)

func jetStream(t *testing.T) (jetstream.JetStream, string) { return natstest.JetStream(t) }

func TestReactorsSealedAtRest(t *testing.T) {
	ctx := context.Background()
	js, _ := jetStream(t)
	key, _, err := seal.LoadOrCreate(t.TempDir() + "/k")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := store.OpenReactors(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	r := &store.Reactor{ID: "r1", Name: "n", Code: "module.exports = () => 1", Configuration: map[string]string{"API_KEY": "super-secret-value"},
		CreatedAt: time.Now().UTC(), Bundle: "abc",
		Requested: &store.Requested{Reactor: &store.Pending{Code: "module.exports = () => 2", Configuration: map[string]string{"PENDING_KEY": "pending-secret-value"}}}}
	if err := rs.Create(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := rs.Create(ctx, r); !errors.Is(err, store.ErrExists) {
		t.Errorf("second create: %v", err)
	}
	kv, _ := js.KeyValue(ctx, store.ReactorsBucket)
	raw, err := kv.Get(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw.Value(), []byte("super-secret-value")) || bytes.Contains(raw.Value(), []byte("API_KEY")) ||
		bytes.Contains(raw.Value(), []byte("pending-secret-value")) {
		t.Fatalf("configuration stored in plaintext: %s", raw.Value())
	}
	got, err := rs.Get(ctx, "r1")
	if err != nil || got.Configuration["API_KEY"] != "super-secret-value" || got.Bundle != "abc" ||
		got.Requested.Reactor.Configuration["PENDING_KEY"] != "pending-secret-value" {
		t.Fatalf("get: %+v %v", got, err)
	}
	stale := *got
	got.Name = "renamed"
	if err := rs.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := rs.Update(ctx, &stale); !errors.Is(err, store.ErrConflict) {
		t.Errorf("stale update: %v", err)
	}
	list, err := rs.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "renamed" {
		t.Errorf("list: %v %v", list, err)
	}
	if err := rs.Delete(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Get(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	if err := rs.Delete(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	other, _, _ := seal.LoadOrCreate(t.TempDir() + "/other")
	rs2, _ := store.OpenReactors(ctx, js, other)
	rs.Create(ctx, &store.Reactor{ID: "r2", Configuration: map[string]string{"a": "b"}})
	if _, err := rs2.Get(ctx, "r2"); err == nil {
		t.Error("read sealed configuration with the wrong key")
	}
}

func TestSystemKey(t *testing.T) {
	ctx := context.Background()
	js, _ := jetStream(t)
	sys, generated, err := store.InitSystem(ctx, js, "")
	if err != nil || generated == "" || !store.MatchKey(generated, sys.ManagementHash) {
		t.Fatalf("first start: %+v %q %v", sys, generated, err)
	}
	again, gen2, err := store.InitSystem(ctx, js, "")
	if err != nil || gen2 != "" || again.TenantID != sys.TenantID {
		t.Fatalf("restart: %+v %q %v", again, gen2, err)
	}
	configured, _, err := store.InitSystem(ctx, js, "key_configured")
	if err != nil || !store.MatchKey("key_configured", configured.ManagementHash) || store.MatchKey(generated, configured.ManagementHash) {
		t.Fatalf("configured key: %+v %v", configured, err)
	}
}
