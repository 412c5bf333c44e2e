// Package functions holds example reactors; this test runs each through the runtime.
package functions

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/reactord/reactord/runtime"
)

func TestFunctions(t *testing.T) {
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	limits, _ := runtime.TierLimits(runtime.Standard)
	tests := []struct {
		dir, args string
		status    int
		body      string
	}{
		{"mask-card", `{"card_number":"4242424242424242"}`, 200, `{"tokens":null,"raw":{"masked_card":"************4242"}}`},
		{"mask-card", `{"card_number":"5555555555554444"}`, 200, `{"tokens":null,"raw":{"masked_card":"************4444"}}`},
		{"mask-card", `{"card_number":12}`, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.dir+" "+tc.args, func(t *testing.T) {
			code, err := os.ReadFile(tc.dir + "/index.js")
			if err != nil {
				t.Fatal(err)
			}
			snap, err := eng.Load(ctx, runtime.Bundle{Code: code, Filename: tc.dir + "/index.js"})
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Close()
			in, err := snap.NewInstance(ctx, limits)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(ctx)
			r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(tc.args)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tc.status || (tc.body != "" && string(r.Body) != tc.body) {
				t.Errorf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.body)
			}
		})
	}
}
