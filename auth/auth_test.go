package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reactord/reactord/auth"
	"github.com/reactord/reactord/internal/natsd/natstest"
	"github.com/reactord/reactord/store"
)

func TestSandboxKeys(t *testing.T) {
	js, _ := natstest.JetStream(t)
	apps, err := store.OpenApplications(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	a := auth.New(apps)
	ctx := context.Background()
	p := auth.WithPermissions("app", "tenant", auth.Private, []string{"token:read"})
	live := a.Mint(p, time.Now().Add(time.Minute))
	expired := a.Mint(p, time.Now().Add(-time.Second))
	revoked := a.Mint(p, time.Now().Add(time.Minute))
	a.Revoke(revoked)
	cases := []struct {
		name, key string
		ok        bool
	}{
		{"live", live, true},
		{"expired", expired, false},
		{"revoked", revoked, false},
		{"forged", "key_sandbox_" + "00112233445566778899aabbccddeeff0011223344556677", false},
		{"empty", "", false},
		{"unknown API key", "key_not_a_real_one", false},
	}
	for _, tc := range cases {
		got, err := a.Authenticate(ctx, tc.key)
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, auth.ErrUnauthenticated)) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.ok && (!got.Can("token:read") || got.Can("token:reveal")) {
			t.Errorf("%s: permissions %v", tc.name, got.Permissions)
		}
	}
}

// TestRevealRule: a token:read rule with transform reveal grants token:reveal.
func TestRevealRule(t *testing.T) {
	app := &store.Application{ID: "a", Type: auth.Private, Permissions: []string{"token:create"},
		Rules: []byte(`[{"priority":1,"transform":"reveal","permissions":["token:read"]},{"priority":2,"transform":"mask","permissions":["token:use"]}]`)}
	p := auth.Of(app)
	for perm, want := range map[string]bool{"token:create": true, "token:read": true, "token:reveal": true, "token:use": true, "token:delete": false, "": true} {
		if p.Can(perm) != want {
			t.Errorf("Can(%q) = %v, want %v", perm, !want, want)
		}
	}
}
