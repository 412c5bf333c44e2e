package api_test

import (
	"strings"
	"testing"
)

// TestLargePayloads: args near 1 MiB, results near the 5 MiB cap and tokens of
// 800 KB travel intact (NATS messages and JetStream records up to 8 MiB).
func TestLargePayloads(t *testing.T) {
	e := start(t)
	_, rec := e.do(t, "POST", "/reactors", key, map[string]any{"name": "big",
		"code": `module.exports = async (req) => ({ raw: { echo: req.args.s, big: 'x'.repeat(4 * 1024 * 1024) } })`})
	arg := strings.Repeat("a", 900<<10)
	resp, out := e.do(t, "POST", "/reactors/"+rec["id"].(string)+"/react", e.useKey, map[string]any{"args": map[string]string{"s": arg}})
	raw, _ := out["raw"].(map[string]any)
	big, _ := raw["big"].(string)
	if resp.StatusCode != 200 || raw["echo"] != arg || len(big) != 4<<20 {
		t.Fatalf("react: %d %v %v, big %d bytes", resp.StatusCode, out["title"], out["detail"], len(big))
	}
	data := strings.Repeat("t", 800<<10)
	admin := e.newApp(t, "private", "token:create", "token:read", "token:reveal")
	resp, tok := e.do(t, "POST", "/tokens", admin, map[string]any{"type": "token", "data": data})
	if resp.StatusCode != 201 {
		t.Fatalf("create an 800 KB token: %d %v", resp.StatusCode, tok["title"])
	}
	if resp, got := e.do(t, "GET", "/tokens/"+tok["id"].(string), admin, nil); resp.StatusCode != 200 || got["data"] != data {
		t.Fatalf("read it back: %d", resp.StatusCode)
	}
}
