//go:build soak

package runtime_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/runtime"
)

// TestSoak mixes ordinary and hostile invocations for REACTORD_SOAK (default 5m) and
// checks that the process's memory stays bounded and every ordinary call succeeds.
// Run with `make soak`.
func TestSoak(t *testing.T) {
	d := 5 * time.Minute
	if v, err := time.ParseDuration(os.Getenv("REACTORD_SOAK")); err == nil {
		d = v
	}
	ctx := context.Background()
	codes := map[string]string{
		"ok":    `module.exports = async (req) => ({ raw: req.args.n * 2 })`,
		"loop":  `module.exports = async () => { while (true) {} }`,
		"oom":   `module.exports = async () => { const a = []; for (;;) a.push('z'.repeat(1 << 20) + a.length); }`,
		"throw": `module.exports = async () => { throw new Error('x') }`,
		"deep":  `module.exports = async () => { const f = () => f(); f(); }`,
	}
	snaps := map[string]*runtime.Snapshot{}
	for name, code := range codes {
		s, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(code)})
		if err != nil {
			t.Fatal(err)
		}
		snaps[name] = s
	}
	l, _ := runtime.TierLimits(runtime.Standard)
	l.Timeout = 200 * time.Millisecond
	end := time.Now().Add(d)
	var firstRSS int64
	for i := 0; time.Now().Before(end); i++ {
		name := []string{"ok", "ok", "ok", "loop", "oom", "throw", "deep"}[i%7]
		in, err := snaps[name].NewInstance(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"n":` + strconv.Itoa(i) + `}`)})
		if err != nil {
			t.Fatal(err)
		}
		if name == "ok" && (r.Status != 200 || !strings.Contains(string(r.Body), strconv.Itoa(i*2))) {
			t.Fatalf("invocation %d: %d %s", i, r.Status, r.Body)
		}
		in.Close(ctx)
		if i == 500 {
			firstRSS = rssBytes()
		}
		if i > 500 && i%500 == 0 {
			if now := rssBytes(); now > 2*firstRSS+64<<20 {
				t.Fatalf("RSS grew from %d MiB to %d MiB after %d invocations", firstRSS>>20, now>>20, i)
			}
		}
	}
}

func rssBytes() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
