package runtime_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/reactord/reactord/runtime"
)

func BenchmarkWarmTrivial(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct{ name, code, args string }{
		{"trivial", `module.exports = async () => ({ raw: 1 })`, `{}`},
		{"sync", `module.exports = () => ({ raw: 1 })`, `{}`},
		{"maskcard", `const M = require('maskdata'); module.exports = async (req) => ({ raw: M.maskCard(req.args.c, { maskWith: '*', unmaskedStartDigits: 0, unmaskedEndDigits: 4 }) })`, `{"c":"4242424242424242"}`},
	} {
		snap := benchSnapshot(b, tc.code)
		l, _ := runtime.TierLimits(runtime.Standard)
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(tc.args)})
				mustOK(b, r, err)
			}
		})
		in.Close(ctx)
	}
}
