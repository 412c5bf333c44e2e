package runtime_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/reactord/reactord/runtime"
)

// TestPrefault: an instance made ahead of use and prefaulted answers like any other;
// prefaulting a closed instance, or one whose engine is closing, does nothing (the
// engine frees every memory as it closes, so a prefault must not read one then).
func TestPrefault(t *testing.T) {
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(`module.exports = async (req) => ({ raw: req.args.n * 2 })`)})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := runtime.TierLimits(runtime.Standard)
	first, err := snap.NewInstance(ctx, l) // learns the pages the others map up front
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if r, err := first.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"n":1}`)}); err != nil || r.Status != 200 {
			t.Fatalf("invoke: %v %d %s", err, r.Status, r.Body)
		}
	}
	var ins []*runtime.Instance
	for range 8 {
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		in.Prefault()
		ins = append(ins, in)
	}
	r, err := ins[0].Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"n":21}`)})
	if err != nil || r.Status != 200 || string(r.Raw) != "42" {
		t.Fatalf("prefaulted instance answered %v %d %s", err, r.Status, r.Body)
	}
	ins[1].Close(ctx)
	ins[1].Prefault() // closed: nothing to read

	// Prefault over and over while the engine closes.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i = (i + 1) % len(ins) {
			select {
			case <-stop:
				return
			default:
			}
			ins[i].Prefault()
		}
	}()
	if err := eng.Close(ctx); err != nil {
		t.Fatal(err)
	}
	close(stop)
	<-done
	ins[2].Prefault() // after the close: nothing to read
}
