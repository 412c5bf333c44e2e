package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/reactord/reactord/store"
)

// TestManagementGainsNewPermissions: a management application created before a
// permission joined the management set (webhook:*) holds it after the next start.
func TestManagementGainsNewPermissions(t *testing.T) {
	ctx := context.Background()
	js, _ := jetStream(t)
	sys, _, err := store.InitSystem(ctx, js, "key_management_test")
	if err != nil {
		t.Fatal(err)
	}
	apps, err := store.OpenApplications(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if err := apps.EnsureManagement(ctx, sys); err != nil {
		t.Fatal(err)
	}
	a, err := apps.Get(ctx, sys.ManagementAppID)
	if err != nil {
		t.Fatal(err)
	}
	a.Permissions = slices.DeleteFunc(a.Permissions, func(p string) bool { return p == "webhook:create" }) // an older deployment
	if err := apps.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := apps.EnsureManagement(ctx, sys); err != nil {
		t.Fatal(err)
	}
	if a, err = apps.Get(ctx, sys.ManagementAppID); err != nil || !slices.Contains(a.Permissions, "webhook:create") {
		t.Fatalf("permissions after restart: %v %v", a.Permissions, err)
	}
}
