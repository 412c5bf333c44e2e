package natsd_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/reactord/reactord/internal/natsd"
)

// TestInProcessOnly: an in-process-only server accepts its own process's
// connections and no network client, with or without credentials.
func TestInProcessOnly(t *testing.T) {
	ns, err := natsd.Start(context.Background(), natsd.Options{DataDir: t.TempDir(), InProcessOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	nc, err := ns.Connect()
	if err != nil {
		t.Fatalf("in-process: %v", err)
	}
	defer nc.Close()
	if _, err := nc.Request("nobody.listens", nil, time.Second); err != nats.ErrNoResponders {
		t.Fatalf("in-process request: %v", err)
	}
	if nc.MaxPayload() < natsd.MaxPayload {
		t.Errorf("max payload %d", nc.MaxPayload())
	}
	// The URL it would have listened on: nothing answers there.
	if c, err := nats.Connect(ns.URL(), nats.Timeout(time.Second), nats.MaxReconnects(0)); err == nil {
		c.Close()
		t.Fatalf("a network client connected to %s", ns.URL())
	}
}
