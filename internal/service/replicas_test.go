package service_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/reactord/reactord/internal/natsd"
	"github.com/reactord/reactord/internal/service"
)

// TestReplicasUnplaceable: asking a single server for three replicas of the state
// stops the start with an error naming what could not be placed, instead of running
// with one copy of the data.
func TestReplicasUnplaceable(t *testing.T) {
	ns, err := natsd.Start(context.Background(), natsd.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	_, err = service.Start(context.Background(), service.Config{NATSURL: ns.URL(), DataDir: t.TempDir(), Gateway: true,
		ManagementKey: "key_test", JetStreamReplicas: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "reactord") {
		t.Fatalf("start with 3 replicas on one server: %v", err)
	}
	t.Log(err)
}
