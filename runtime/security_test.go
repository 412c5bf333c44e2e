package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/runtime"
)

// TestAllocationNearTheTier: allocations that fit the tier succeed even when the
// allocator's speculative growth (a fifth more than asked) would pass the tier; ones
// that do not fit are still an out-of-memory.
func TestAllocationNearTheTier(t *testing.T) {
	tests := []struct {
		name    string
		mib     int
		outcome runtime.Outcome
	}{
		{"100 MiB", 100, runtime.OK},
		{"110 MiB", 110, runtime.OK},
		{"140 MiB", 140, runtime.OutOfMemory},
	}
	code := `module.exports = async (req) => { const a = []; for (let i = 0; i < req.args.mib; i++) a.push(new Uint8Array(1 << 20).fill(i)); return { raw: a.length }; }`
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, "node-bt", code, `{"mib":`+itoa(tc.mib)+`}`, standard(t))
			if r.Outcome != tc.outcome {
				t.Fatalf("outcome %s, want %s: %s", r.Outcome, tc.outcome, r.Body)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestSeedSurvivesRejectedInvocation: an instance whose first invocation is rejected
// before it runs still seeds its PRNG on the invocation that does run, so two such
// instances do not replay the snapshot's sequence.
func TestSeedSurvivesRejectedInvocation(t *testing.T) {
	ctx := context.Background()
	snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(`module.exports = async () => ({ raw: [Math.random(), Math.random()] })`)})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	l := standard(t)
	l.MaxArgs = 1 << 10
	big := json.RawMessage(`"` + strings.Repeat("x", 2<<10) + `"`)
	var seen []string
	for i := 0; i < 3; i++ {
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close(ctx)
		r, err := in.Invoke(ctx, runtime.Event{Args: big})
		if err != nil || r.Outcome != runtime.Rejected {
			t.Fatalf("oversize args: outcome %s, err %v", r.Outcome, err)
		}
		r, err = in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{}`)})
		if err != nil || r.Outcome != runtime.OK {
			t.Fatalf("outcome %s, err %v: %s", r.Outcome, err, r.Body)
		}
		for _, s := range seen {
			if s == string(r.Body) {
				t.Fatalf("instance %d replayed another instance's Math.random sequence %s", i, r.Body)
			}
		}
		seen = append(seen, string(r.Body))
	}
}

// TestLoadUsesTheReactorLimits: code evaluated at create time (Engine.Load) runs under
// the reactor's own tier and timeout, not the largest memory and a fixed 10 s.
func TestLoadUsesTheReactorLimits(t *testing.T) {
	bomb := `const a = []; for (;;) a.push(new Uint8Array(1 << 20).fill(1));`
	mib160 := `const a = []; for (let i = 0; i < 160; i++) a.push(new Uint8Array(1 << 20).fill(1)); module.exports = async () => ({ raw: a.length });`
	tests := []struct {
		name    string
		code    string
		tier    runtime.Tier
		timeout time.Duration
		err     string // "" means the code loads
	}{
		{"infinite loop at top level", `while (true) {}`, runtime.Standard, time.Second, "within 1s"},
		{"memory bomb at top level", bomb, runtime.Standard, 0, "memory limit of 128 MiB"},
		{"memory bomb caught at top level", `try { ` + bomb + ` } catch (e) {} module.exports = async () => 1;`, runtime.Standard, 0, "memory limit of 128 MiB"},
		{"160 MiB at top level on standard", mib160, runtime.Standard, 0, "memory limit of 128 MiB"},
		{"160 MiB at top level on large", mib160, runtime.Large, 0, ""},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := runtime.TierLimits(tc.tier)
			if err != nil {
				t.Fatal(err)
			}
			if tc.timeout > 0 {
				l.Timeout = tc.timeout
			}
			snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(tc.code), Limits: l})
			if tc.err == "" {
				if err != nil {
					t.Fatalf("load: %v", err)
				}
				snap.Close()
				return
			}
			var ce *runtime.CodeError
			if !errors.As(err, &ce) || !strings.Contains(ce.Message, tc.err) {
				t.Fatalf("load error %v, want a CodeError mentioning %q", err, tc.err)
			}
		})
	}
}
