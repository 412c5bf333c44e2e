package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// BundlesBucket is the object store of bundles.
const BundlesBucket = "reactord_bundles"

// Bundles stores bundles by the hex sha256 of their content.
type Bundles interface {
	// Put stores data and returns its sha256.
	Put(ctx context.Context, data []byte) (string, error)
	// Get returns the bundle with that sha256, verified, or ErrNotFound.
	Get(ctx context.Context, sha string) ([]byte, error)
}

// Hash is the address of data in a bundle store.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ObjectBundles keeps bundles in a JetStream object store.
type ObjectBundles struct{ os jetstream.ObjectStore }

// OpenBundles opens (or creates) the bundle object store.
func OpenBundles(ctx context.Context, js jetstream.JetStream) (*ObjectBundles, error) {
	os, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: BundlesBucket, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", BundlesBucket, err)
	}
	return &ObjectBundles{os: os}, nil
}

// Put implements Bundles; storing the same content twice is a no-op.
func (b *ObjectBundles) Put(ctx context.Context, data []byte) (string, error) {
	sha := Hash(data)
	if _, err := b.os.GetInfo(ctx, sha); err == nil {
		return sha, nil
	}
	if _, err := b.os.PutBytes(ctx, sha, data); err != nil {
		return "", fmt.Errorf("store: put bundle: %w", err)
	}
	return sha, nil
}

// Get implements Bundles.
func (b *ObjectBundles) Get(ctx context.Context, sha string) ([]byte, error) {
	data, err := b.os.GetBytes(ctx, sha)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get bundle: %w", err)
	}
	if Hash(data) != sha {
		return nil, fmt.Errorf("store: bundle %s fails its sha256 check", sha)
	}
	return data, nil
}
