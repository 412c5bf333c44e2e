package seal

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	k, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", err, created)
	}
	again, created, err := LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("load: %v %v", err, created)
	}
	sealed := k.Seal([]byte("secret"), []byte("id-1"))
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("plaintext visible in sealed data")
	}
	got, err := again.Open(sealed, []byte("id-1"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := again.Open(sealed, []byte("id-2")); err == nil {
		t.Error("opened with another record's aad")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := again.Open(sealed, []byte("id-1")); err == nil {
		t.Error("opened tampered data")
	}
	if _, err := Parse("not base64!"); err == nil {
		t.Error("parsed a bad key")
	}
}
