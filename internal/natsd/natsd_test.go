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

// TestListenerNeedsCredentials: an embedded server opened to outside workers
// refuses anonymous clients and wrong passwords, and its own process still connects.
func TestListenerNeedsCredentials(t *testing.T) {
	ns, err := natsd.Start(context.Background(), natsd.Options{DataDir: t.TempDir(), User: "worker", Password: "a-long-test-password"})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	cases := []struct {
		name string
		opts []nats.Option
		ok   bool
	}{
		{"anonymous", nil, false},
		{"wrong password", []nats.Option{nats.UserInfo("worker", "guess")}, false},
		{"the in-process user's name over the network", []nats.Option{nats.UserInfo("reactord-in-process", "")}, false},
		{"the worker", []nats.Option{nats.UserInfo("worker", "a-long-test-password")}, true},
	}
	for _, tc := range cases {
		c, err := nats.Connect(ns.URL(), append(tc.opts, nats.Timeout(2*time.Second), nats.MaxReconnects(0))...)
		if (err == nil) != tc.ok {
			t.Errorf("%s: connect %v", tc.name, err)
		}
		if c != nil {
			c.Close()
		}
	}
	nc, err := ns.Connect()
	if err != nil {
		t.Fatalf("in-process: %v", err)
	}
	nc.Close()
}
