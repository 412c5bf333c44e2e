package bundles

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// ObjectBucket is the JetStream object store that holds bundles.
const ObjectBucket = "reactord_bundles"

// Object keeps bundles in a JetStream object store, named by their sha256.
type Object struct{ os jetstream.ObjectStore }

// OpenObject opens (or creates) the bundle object store.
func OpenObject(ctx context.Context, js jetstream.JetStream) (*Object, error) {
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: ObjectBucket, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("bundles: open %s: %w", ObjectBucket, err)
	}
	return &Object{os: os}, nil
}

// BindObject opens the bundle object store without creating or changing it, for
// processes that only read bundles.
func BindObject(ctx context.Context, js jetstream.JetStream) (*Object, error) {
	os, err := js.ObjectStore(ctx, ObjectBucket)
	if err != nil {
		return nil, fmt.Errorf("bundles: bind %s (a gateway creates it): %w", ObjectBucket, err)
	}
	return &Object{os: os}, nil
}

// Put implements Store.
func (b *Object) Put(ctx context.Context, data []byte) (string, error) {
	sha := Hash(data)
	if _, err := b.os.GetInfo(ctx, sha); err == nil {
		return sha, nil
	}
	if _, err := b.os.PutBytes(ctx, sha, data); err != nil {
		return "", fmt.Errorf("bundles: put %s: %w", sha, err)
	}
	return sha, nil
}

// Get implements Store.
func (b *Object) Get(ctx context.Context, sha string) ([]byte, error) {
	if err := checkSHA(sha); err != nil {
		return nil, err
	}
	data, err := b.os.GetBytes(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("bundles: %s: %w", sha, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("bundles: get %s: %w", sha, err)
	}
	return verify(sha, data)
}
