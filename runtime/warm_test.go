package runtime_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/reactord/reactord/runtime"
)

// TestWarmRunsNoReactorCode attacks Instance.Warm: reactor code that counts every
// call of its handler and hooks everything an invocation path might call (promise
// reactions, JSON, Object.prototype setters, Math.random) must see none of it run
// during a warm-up; its first real invocation then answers as on a cold instance,
// with the random sequence of its own.
func TestWarmRunsNoReactorCode(t *testing.T) {
	ctx := context.Background()
	code := `
let calls = 0, hooks = 0;
const then = Promise.prototype.then;
Promise.prototype.then = function (...a) { hooks++; return then.apply(this, a); };
const parse = JSON.parse, stringify = JSON.stringify;
JSON.parse = (...a) => { hooks++; return parse(...a); };
JSON.stringify = (...a) => { hooks++; return stringify(...a); };
for (const k of ["args", "configuration", "bt", "req", "raw"]) {
  Object.defineProperty(Object.prototype, k, { set() { hooks++; }, configurable: true });
}
module.exports = async (req) => {
  calls++;
  const seen = { calls, hooks };
  return { raw: { random: Math.random(), seen } };
};`
	snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(code)})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := runtime.TierLimits(runtime.Standard)
	type answer struct {
		Random float64
		Seen   struct{ Calls, Hooks int }
	}
	type body struct{ Raw answer }
	first := func(warm bool) answer {
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close(ctx)
		if warm {
			if err := in.Warm(ctx); err != nil {
				t.Fatalf("warm: %v", err)
			}
		}
		r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{}`)})
		if err != nil || r.Status != 200 {
			t.Fatalf("invoke: %v %d %s", err, r.Status, r.Body)
		}
		var b body
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("%s: %v", r.Body, err)
		}
		return b.Raw
	}
	cold, warmed, other := first(false), first(true), first(true)
	if warmed.Seen != cold.Seen {
		t.Errorf("after a warm-up the reactor saw %+v, on a cold instance %+v: reactor code ran during the warm-up", warmed.Seen, cold.Seen)
	}
	if warmed.Seen.Calls != 1 {
		t.Errorf("the handler ran %d times by its first invocation", warmed.Seen.Calls)
	}
	if warmed.Random == other.Random || warmed.Random == cold.Random {
		t.Errorf("two instances share a random sequence: %v, %v, %v", cold.Random, warmed.Random, other.Random)
	}
}

// TestWarmIsNotAnInvocation: warming leaves the instance to answer its first
// invocation as usual, however often it is warmed, and a closed instance cannot be.
func TestWarmIsNotAnInvocation(t *testing.T) {
	ctx := context.Background()
	in := newInstance(t, "", `module.exports = async () => ({ raw: "ok" })`, standard(t))
	for range 3 {
		if err := in.Warm(ctx); err != nil {
			t.Fatalf("warm: %v", err)
		}
	}
	r, err := in.Invoke(ctx, runtime.Event{})
	if err != nil || r.Status != 200 || string(r.Body) != `{"tokens":null,"raw":"ok"}` {
		t.Fatalf("invoke after warming: %v %d %s", err, r.Status, r.Body)
	}
	in.Close(ctx)
	if err := in.Warm(ctx); err == nil {
		t.Fatal("warming a closed instance succeeded")
	}
}
