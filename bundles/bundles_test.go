package bundles_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/reactord/reactord/bundles"
	"github.com/reactord/reactord/internal/natsd/natstest"
)

// backend is one Store plus a way to corrupt what it holds under a sha256.
type backend struct {
	name    string
	store   bundles.Store
	corrupt func(t *testing.T, sha string, data []byte)
}

func fsBackend(t *testing.T) backend {
	dir := t.TempDir()
	s, err := bundles.Open(context.Background(), "file:"+dir, bundles.S3Config{})
	if err != nil {
		t.Fatal(err)
	}
	return backend{"fs", s, func(t *testing.T, sha string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, sha[:2], sha), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}}
}

func objectBackend(t *testing.T) backend {
	ctx := context.Background()
	js, _ := natstest.JetStream(t)
	s, err := bundles.OpenObject(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	return backend{"jetstream", s, func(t *testing.T, sha string, data []byte) {
		os, err := js.ObjectStore(ctx, bundles.ObjectBucket)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.PutBytes(ctx, sha, data); err != nil {
			t.Fatal(err)
		}
	}}
}

// s3Backend runs an S3-compatible server (gofakes3, in memory) for the test.
func s3Backend(t *testing.T) backend {
	ctx := context.Background()
	faker := gofakes3.New(s3mem.New())
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	cfg := bundles.S3Config{Endpoint: srv.URL, Region: "eu-west-1", PathStyle: true, AccessKeyID: "test", SecretAccessKey: "test"}
	s, err := bundles.Open(ctx, "s3://reactord/ci/bundles", cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A raw client creates the bucket and plays the attacker.
	raw := s3.New(s3.Options{
		BaseEndpoint: aws.String(srv.URL), Region: "eu-west-1", UsePathStyle: true,
		Credentials: aws.AnonymousCredentials{},
	})
	if _, err := raw.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("reactord")}); err != nil {
		t.Fatal(err)
	}
	return backend{"s3", s, func(t *testing.T, sha string, data []byte) {
		_, err := raw.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("reactord"), Key: aws.String("ci/bundles/" + sha), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
	}}
}

func TestStores(t *testing.T) {
	for _, mk := range []func(*testing.T) backend{fsBackend, objectBackend, s3Backend} {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			data := bytes.Repeat([]byte("bundle "), 50000)
			sha, err := b.store.Put(ctx, data)
			if err != nil || sha != bundles.Hash(data) {
				t.Fatalf("put: %s %v", sha, err)
			}
			if again, err := b.store.Put(ctx, data); err != nil || again != sha {
				t.Errorf("put twice: %s %v", again, err)
			}
			got, err := b.store.Get(ctx, sha)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("get: %d bytes %v", len(got), err)
			}
			if _, err := b.store.Get(ctx, bundles.Hash([]byte("missing"))); !errors.Is(err, bundles.ErrNotFound) {
				t.Errorf("missing bundle: %v", err)
			}
			for _, bad := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), sha[:10]} {
				if _, err := b.store.Get(ctx, bad); err == nil || errors.Is(err, bundles.ErrNotFound) {
					t.Errorf("get %q: %v, want an invalid-address error", bad, err)
				}
			}
			b.corrupt(t, sha, []byte("tampered"))
			if _, err := b.store.Get(ctx, sha); err == nil || !strings.Contains(err.Error(), "sha256 check") {
				t.Errorf("tampered bundle: %v", err)
			}
		})
	}
}

func TestOpenSpecs(t *testing.T) {
	ctx := context.Background()
	for _, spec := range []string{"", "s3://", "gs://bucket/x"} {
		if _, err := bundles.Open(ctx, spec, bundles.S3Config{}); err == nil {
			t.Errorf("Open(%q) accepted", spec)
		}
	}
	dir := filepath.Join(t.TempDir(), "plain")
	if _, err := bundles.Open(ctx, dir, bundles.S3Config{}); err != nil {
		t.Errorf("plain directory: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("directory not created: %v", err)
	}
}
