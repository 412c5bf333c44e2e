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

// TestAccessConditions: a rule grants only tokens its container and conditions
// cover; a rule whose conditions cannot be read grants nothing, and the
// application's own permissions apply after the rules.
func TestAccessConditions(t *testing.T) {
	app := &store.Application{ID: "a", Type: auth.Private, Permissions: []string{"token:create"},
		Rules: []byte(`[
			{"priority":1,"container":"/pci/","conditions":[{"attribute":"id","operator":"equals","value":"tok-1"}],"transform":"reveal","permissions":["token:use"]},
			{"priority":2,"conditions":[{"attribute":"container","operator":"starts_with","value":"/pii/high/"}],"transform":"mask","permissions":["token:use"]},
			{"priority":3,"conditions":"not a list","transform":"reveal","permissions":["token:use"]}
		]`)}
	p := auth.Of(app)
	for _, tc := range []struct {
		name, id   string
		containers []string
		ok         bool
		transform  string
	}{
		{"id and container match", "tok-1", []string{"/pci/high/"}, true, auth.Reveal},
		{"another id in the container", "tok-2", []string{"/pci/high/"}, false, ""},
		{"the id in another container", "tok-1", []string{"/general/"}, false, ""},
		{"container condition", "tok-3", []string{"/pii/high/ssn/"}, true, auth.Mask},
		{"container condition, other container", "tok-3", []string{"/pii/low/"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, tr := p.Access("token:use", tc.id, tc.containers)
			if ok != tc.ok || tr != tc.transform {
				t.Errorf("Access = %v %q, want %v %q", ok, tr, tc.ok, tc.transform)
			}
		})
	}
	// Without rules granting it, the application's own permission decides.
	if ok, _ := p.Access("token:create", "tok-9", []string{"/general/"}); !ok {
		t.Error("token:create from the application's permissions: refused")
	}
}

// BenchmarkAccess is the per-token check of detokenizing with an access rule that has
// conditions: the proxy runs it once for every token of a request.
func BenchmarkAccess(b *testing.B) {
	p := auth.Of(&store.Application{ID: "a", Type: auth.Private,
		Rules: []byte(`[{"priority":1,"container":"/pci/","conditions":[{"attribute":"container","operator":"starts_with","value":"/pci/high/"}],"transform":"mask","permissions":["token:use"]}]`)})
	containers := []string{"/pci/high/"}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := p.Access("token:use", "tok-1", containers); !ok {
			b.Fatal("refused")
		}
	}
}
