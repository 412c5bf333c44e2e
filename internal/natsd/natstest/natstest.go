// Package natstest starts a real embedded NATS server with JetStream for tests.
package natstest

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/internal/natsd"
)

// JetStream starts an embedded server storing in a fresh directory, connects to it,
// and returns the JetStream context and that directory; both stop with the test.
func JetStream(t testing.TB) (jetstream.JetStream, string) {
	t.Helper()
	dir := t.TempDir()
	ns, err := natsd.Start(context.Background(), natsd.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js, dir
}
