package store

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/bundles"
)

// The bundle store moved to package bundles; these names keep existing callers working.

// BundlesBucket is the object store of bundles.
const BundlesBucket = bundles.ObjectBucket

// Bundles stores bundles by the hex sha256 of their content (see bundles.Store).
type Bundles = bundles.Store

// ObjectBundles keeps bundles in a JetStream object store (see bundles.Object).
type ObjectBundles = bundles.Object

// Hash is the address of data in a bundle store.
func Hash(data []byte) string { return bundles.Hash(data) }

// OpenBundles opens (or creates) the bundle object store.
func OpenBundles(ctx context.Context, js jetstream.JetStream) (*ObjectBundles, error) {
	return bundles.OpenObject(ctx, js)
}
