package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reactord/reactord/store"
)

// TestApplicationKeysHashed checks that an API key is found by its hash, that no
// plaintext key reaches the bucket or JetStream's files, and that removed keys stop
// resolving.
func TestApplicationKeysHashed(t *testing.T) {
	ctx := context.Background()
	js, dir := jetStream(t)
	apps, err := store.OpenApplications(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	plain := store.NewAPIKey()
	a := &store.Application{ID: "a1", Name: "n", Type: "private", Permissions: []string{"token:use"}, CreatedAt: time.Now().UTC(),
		Keys: []store.AppKey{{ID: "k1", Hash: store.HashKey(plain)}}}
	if err := apps.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := apps.ByKey(ctx, plain)
	if err != nil || got.ID != "a1" {
		t.Fatalf("ByKey: %v %v", got, err)
	}
	if _, err := apps.ByKey(ctx, "key_other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown key: %v", err)
	}
	kv, _ := js.KeyValue(ctx, store.ApplicationsBucket)
	keys, _ := kv.Keys(ctx)
	for _, k := range keys {
		e, _ := kv.Get(ctx, k)
		if bytes.Contains(e.Value(), []byte(plain)) || bytes.Contains([]byte(k), []byte(plain)) {
			t.Errorf("plaintext key in %s", k)
		}
	}
	filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte(plain)) {
				t.Errorf("plaintext key in %s", path)
			}
		}
		return nil
	})

	// A second process sees the key removed through its watch.
	other, err := store.OpenApplications(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := other.Watch(wctx); err != nil {
		t.Fatal(err)
	}
	if _, err := other.ByKey(ctx, plain); err != nil {
		t.Fatal(err)
	}
	next := *got // records from ByKey are shared: update a copy
	next.Keys = nil
	if err := apps.Update(ctx, &next); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := other.ByKey(ctx, plain)
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the removed key still resolves in the other process: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
