package bundles

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// ObjectBucket is the JetStream object store that holds bundles.
const ObjectBucket = "reactord_bundles"

// Object keeps bundles in a JetStream object store, named by their sha256.
type Object struct {
	os jetstream.ObjectStore
	// bind, for a reader that started before any gateway created the store, binds
	// it on first use.
	bind func(context.Context) (jetstream.ObjectStore, error)
	mu   sync.Mutex
}

// OpenObject opens (or creates) the bundle object store.
func OpenObject(ctx context.Context, js jetstream.JetStream) (*Object, error) {
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ObjectBucket, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("bundles: open %s: %w", ObjectBucket, err)
	}
	return &Object{os: os}, nil
}

// BindObject opens the bundle object store without creating or changing it, for
// processes that only read bundles; a store no gateway created yet is bound when
// first read.
func BindObject(ctx context.Context, js jetstream.JetStream) (*Object, error) {
	bind := func(ctx context.Context) (jetstream.ObjectStore, error) { return js.ObjectStore(ctx, ObjectBucket) }
	os, err := bind(ctx)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return &Object{bind: bind}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bundles: bind %s: %w", ObjectBucket, err)
	}
	return &Object{os: os}, nil
}

// store returns the object store, binding it if it was not there at start.
func (b *Object) store(ctx context.Context) (jetstream.ObjectStore, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.os == nil {
		os, err := b.bind(ctx)
		if err != nil {
			return nil, fmt.Errorf("bundles: bind %s (a gateway creates it): %w", ObjectBucket, err)
		}
		b.os = os
	}
	return b.os, nil
}

// Put implements Store.
func (b *Object) Put(ctx context.Context, data []byte) (string, error) {
	sha := Hash(data)
	os, err := b.store(ctx)
	if err != nil {
		return "", err
	}
	if _, err := os.GetInfo(ctx, sha); err == nil {
		return sha, nil
	}
	if _, err := os.PutBytes(ctx, sha, data); err != nil {
		return "", fmt.Errorf("bundles: put %s: %w", sha, err)
	}
	return sha, nil
}

// Get implements Store.
func (b *Object) Get(ctx context.Context, sha string) ([]byte, error) {
	if err := checkSHA(sha); err != nil {
		return nil, err
	}
	os, err := b.store(ctx)
	if err != nil {
		return nil, err
	}
	data, err := os.GetBytes(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("bundles: %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("bundles: get %s: %w", sha, err)
	}
	return verify(sha, data)
}
