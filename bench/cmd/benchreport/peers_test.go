package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPeersRunTheSameFunction starts `reactord serve`, workerd and the node servers the
// way make bench does and checks that every peer came up and answers each sameWork body
// (success and thrown-error paths) exactly as reactord does.
func TestPeersRunTheSameFunction(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Chdir("../../..") // benchreport runs from the repository root
	for _, dir := range []string{"bench/peers/node_modules/workerd", "bench/node/node_modules/maskdata"} {
		if _, err := os.Stat(dir); err != nil {
			t.Skip("the bench packages are not installed: run `make deps` (make test does)")
		}
	}
	bin := filepath.Join(t.TempDir(), "reactord")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/reactord").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx := context.Background()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}, Timeout: 30 * time.Second}
	var skipped []string
	peers, stop, err := startPeers(ctx, client, launcher{}, bin, t.TempDir(), func(name, value, target, note string) {
		skipped = append(skipped, name+": "+note)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if len(skipped) > 0 {
		t.Fatalf("peers left out: %v", skipped)
	}
	var names []string
	for _, p := range peers {
		names = append(names, p.short)
	}
	want := []string{"reactord", "workerd", "node", "node-vm"}
	if len(names) != len(want) {
		t.Fatalf("peers %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("peers %v, want %v", names, want)
		}
	}
	// startPeers already compared every peer with reactord; compare once more here so
	// the test states what it guarantees.
	for _, p := range peers[1:] {
		if err := sameAnswers(client, peers[0], p); err != nil {
			t.Error(err)
		}
	}
}
