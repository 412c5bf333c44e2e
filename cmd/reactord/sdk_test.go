package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestNodeSDK runs the official @basis-theory/node-sdk (compat/node-sdk, installed by
// `make deps`) against a `reactord serve` process.
func TestNodeSDK(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir, _ := filepath.Abs("../../compat/node-sdk")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@basis-theory", "node-sdk")); err != nil {
		t.Skip("the SDK is not installed: run `make deps` (make test does)")
	}
	bin := buildBinary(t)
	addr := freeAddr(t)
	startProc(t, bin, []string{"REACTORD_DATA_DIR=" + t.TempDir(), "REACTORD_MANAGEMENT_KEY=key_sdk",
		"REACTORD_CACHE_DIR=" + filepath.Join(t.TempDir(), "cache")}, "serve", "--addr", addr)
	waitHealthy(t, addr)
	cmd := exec.Command("node", "--test", "reactors.test.js", "platform.test.js", "proxies.test.js", "tokens.test.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REACTORD_URL=http://"+addr, "REACTORD_KEY=key_sdk")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("SDK tests failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
