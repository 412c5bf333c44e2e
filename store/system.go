package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
)

// SystemBucket holds the deployment's identity: its tenant and management application.
const SystemBucket = "reactord_system"

// System is the deployment's tenant and its management application. The key is
// stored only as a SHA-256 hash.
type System struct {
	TenantID        string `json:"tenant_id"`
	ManagementAppID string `json:"management_application_id"`
	ManagementHash  string `json:"management_key_sha256"`
}

// HashKey is how API keys are stored.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// MatchKey compares a presented key with a stored hash in constant time.
func MatchKey(key, hash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashKey(key)), []byte(hash)) == 1
}

// NewAPIKey returns a fresh API key in the key_... form.
func NewAPIKey() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "key_" + hex.EncodeToString(b)
}

// InitSystem loads the deployment identity, creating it on first start. With a
// configured key, its hash replaces the stored one; without, a key is generated on
// first start and returned (generated non-empty) so it can be printed once.
func InitSystem(ctx context.Context, js jetstream.JetStream, configuredKey string) (sys System, generated string, err error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: SystemBucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return sys, "", fmt.Errorf("store: open %s: %w", SystemBucket, err)
	}
	e, err := kv.Get(ctx, "system")
	switch {
	case err == nil:
		if err := json.Unmarshal(e.Value(), &sys); err != nil {
			return sys, "", fmt.Errorf("store: corrupt system record: %w", err)
		}
		if configuredKey == "" || MatchKey(configuredKey, sys.ManagementHash) {
			return sys, "", nil
		}
		sys.ManagementHash = HashKey(configuredKey)
		b, _ := json.Marshal(sys)
		_, err = kv.Update(ctx, "system", b, e.Revision())
		return sys, "", err
	case errors.Is(err, jetstream.ErrKeyNotFound):
		key := configuredKey
		if key == "" {
			key = NewAPIKey()
			generated = key
		}
		sys = System{TenantID: uuid.NewString(), ManagementAppID: uuid.NewString(), ManagementHash: HashKey(key)}
		b, _ := json.Marshal(sys)
		if _, err := kv.Create(ctx, "system", b); err != nil {
			if errors.Is(err, jetstream.ErrKeyExists) { // another process initialized it first
				return InitSystem(ctx, js, configuredKey)
			}
			return sys, "", fmt.Errorf("store: create system record: %w", err)
		}
		return sys, generated, nil
	default:
		return sys, "", fmt.Errorf("store: read system record: %w", err)
	}
}
