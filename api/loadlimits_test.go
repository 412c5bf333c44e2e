package api_test

import (
	"strings"
	"testing"
)

// TestCreateEvaluatesUnderTheReactorsLimits: code checked at create runs under the
// reactor's own tier and timeout (proxy transforms: standard tier, default timeout),
// so a module body that never ends or allocates without bound is stopped there, not
// after 10 s and 1 GiB.
func TestCreateEvaluatesUnderTheReactorsLimits(t *testing.T) {
	e := start(t)
	bomb := `const a = []; for (;;) a.push(new Uint8Array(1 << 20).fill(1));`
	tests := []struct {
		name, path string
		body       map[string]any
		field      string
		detail     string
	}{
		{"infinite loop, timeout 1", "/reactors", map[string]any{"name": "loop", "code": `while (true) {}`,
			"runtime": map[string]any{"image": "node-bt", "timeout": 1}}, "code", "within 1s"},
		{"memory bomb, standard", "/reactors", map[string]any{"name": "bomb", "code": bomb}, "code", "memory limit of 128 MiB"},
		{"memory bomb in a proxy transform", "/proxies", map[string]any{"name": "p", "destination_url": "https://example.com",
			"request_transforms": []any{map[string]any{"code": bomb}}}, "request_transforms[0].code", "memory limit of 128 MiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := e.do(t, "POST", tc.path, key, tc.body)
			if resp.StatusCode != 422 {
				t.Fatalf("status %d, want 422: %v", resp.StatusCode, out)
			}
			errs, _ := out["errors"].(map[string]any)
			msgs, _ := errs[tc.field].([]any)
			if len(msgs) == 0 || !strings.Contains(msgs[0].(string), tc.detail) {
				t.Errorf("errors %v: want %s to mention %q", errs, tc.field, tc.detail)
			}
		})
	}
}
