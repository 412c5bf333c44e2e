// Package bundles stores reactor bundles by the hex sha256 of their content: on the
// filesystem (FS), in a JetStream object store (Object) or in S3 (S3). Every Get checks
// the content against its address, so a corrupted or tampered bundle is never run.
package bundles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrNotFound is wrapped by Get when no bundle has the requested sha256.
var ErrNotFound = errors.New("bundles: not found")

// Store keeps bundles by content address.
type Store interface {
	// Put stores data and returns its hex sha256; storing the same content twice is a no-op.
	Put(ctx context.Context, data []byte) (string, error)
	// Get returns the bundle with that sha256, verified; an absent bundle is an error
	// wrapping ErrNotFound.
	Get(ctx context.Context, sha string) ([]byte, error)
}

// Hash is the address of data in a Store.
func Hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ValidAddress reports whether s is a lowercase hex sha256, the only key any store accepts,
// so that a caller's string never becomes a path or object name of its choosing.
func ValidAddress(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func checkSHA(sha string) error {
	if !ValidAddress(sha) {
		return fmt.Errorf("bundles: %q is not a hex sha256", sha)
	}
	return nil
}

// verify returns data when it hashes to sha.
func verify(sha string, data []byte) ([]byte, error) {
	if got := Hash(data); got != sha {
		return nil, fmt.Errorf("bundles: bundle %s fails its sha256 check (content hashes to %s)", sha, got)
	}
	return data, nil
}

// Open returns the store a spec names: "file:DIR" (or a plain directory path) for FS, or
// "s3://bucket/prefix" for S3 with the settings in s3 (its Bucket and Prefix are taken
// from the spec).
func Open(ctx context.Context, spec string, s3 S3Config) (Store, error) {
	switch {
	case strings.HasPrefix(spec, "s3://"):
		rest := strings.TrimPrefix(spec, "s3://")
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, fmt.Errorf("bundles: %q names no bucket (want s3://bucket/prefix)", spec)
		}
		s3.Bucket, s3.Prefix = bucket, prefix
		return NewS3(ctx, s3)
	case strings.HasPrefix(spec, "file:"):
		return NewFS(strings.TrimPrefix(spec, "file:"))
	case spec == "":
		return nil, errors.New("bundles: no store given (want file:DIR or s3://bucket/prefix)")
	case strings.Contains(spec, "://"):
		return nil, fmt.Errorf("bundles: unknown store %q (want file:DIR or s3://bucket/prefix)", spec)
	default:
		return NewFS(spec)
	}
}
