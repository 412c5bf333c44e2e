package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/reactord/reactord/runtime"
)

func benchSnapshot(b *testing.B, code string) *runtime.Snapshot {
	b.Helper()
	snap, err := testEngine.Load(context.Background(), runtime.Bundle{Code: []byte(code)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { snap.Close() })
	return snap
}

func maskCard(b *testing.B) *runtime.Snapshot {
	code, err := os.ReadFile("../functions/mask-card/index.js")
	if err != nil {
		b.Fatal(err)
	}
	return benchSnapshot(b, string(code))
}

var cardEvent = runtime.Event{Args: json.RawMessage(`{"card_number":"4242424242424242"}`)}

func mustOK(b *testing.B, r runtime.Response, err error) {
	if err != nil || r.Status != 200 {
		b.Fatalf("invoke: %v %d %s", err, r.Status, r.Body)
	}
}

// BenchmarkColdStart: no instance of the bundle -> result (instance from the snapshot,
// one invocation, close).
func BenchmarkColdStart(b *testing.B) {
	coldStarts(b, maskCard(b), cardEvent)
}

// coldStarts measures, for each b.Loop, an instance made from snap, one invocation
// with ev, and its close.
func coldStarts(b *testing.B, snap *runtime.Snapshot, ev runtime.Event) {
	ctx := context.Background()
	l, _ := runtime.TierLimits(runtime.Standard)
	for b.Loop() {
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			b.Fatal(err)
		}
		r, err := in.Invoke(ctx, ev)
		mustOK(b, r, err)
		in.Close(ctx)
	}
}

// BenchmarkFirstInvoke: the first invocation on an instance made beforehand, as the
// pools make warm and spare instances in the background: prefaulted only, and
// prefaulted and warmed (Instance.Warm), as the pools do. Not timed: the instance's
// creation, preparation and close.
func BenchmarkFirstInvoke(b *testing.B) {
	ctx := context.Background()
	snap := maskCard(b)
	l, _ := runtime.TierLimits(runtime.Standard)
	first, err := snap.NewInstance(ctx, l) // the image's first instance learns its pages
	if err != nil {
		b.Fatal(err)
	}
	for range 2 {
		r, err := first.Invoke(ctx, cardEvent)
		mustOK(b, r, err)
	}
	first.Close(ctx)
	for _, warm := range []bool{false, true} {
		b.Run(map[bool]string{false: "prefaulted", true: "warmed"}[warm], func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				in, err := snap.NewInstance(ctx, l)
				if err != nil {
					b.Fatal(err)
				}
				in.Prefault()
				if warm {
					if err := in.Warm(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				r, err := in.Invoke(ctx, cardEvent)
				mustOK(b, r, err)
				b.StopTimer()
				in.Close(ctx)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkFirstVersionInvoke: the first invocation of a version just deployed, on
// the instance the pools made for it ahead of use (not timed: the version's snapshot,
// the instance's creation, prefault and close). No instance of the version has run
// yet, so only its siblings' pages of the shared image are known.
func BenchmarkFirstVersionInvoke(b *testing.B) {
	ctx := context.Background()
	code, err := os.ReadFile("../functions/mask-card/index.js")
	if err != nil {
		b.Fatal(err)
	}
	l, _ := runtime.TierLimits(runtime.Standard)
	var faults int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(fmt.Sprintf("%s\n// version %d\n", code, i))})
		if err != nil {
			b.Fatal(err)
		}
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			b.Fatal(err)
		}
		in.Prefault()
		before := minorFaults()
		b.StartTimer()
		r, err := in.Invoke(ctx, cardEvent)
		b.StopTimer()
		faults += minorFaults() - before
		mustOK(b, r, err)
		in.Close(ctx)
		snap.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
}

// minorFaults is the process's minor page faults so far.
func minorFaults() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt
}

// BenchmarkWarmInvoke: one more invocation on a live instance.
func BenchmarkWarmInvoke(b *testing.B) {
	warmInvokes(b, maskCard(b), cardEvent)
}

// warmInvokes measures, for each b.Loop, one invocation with ev on one live instance
// of snap.
func warmInvokes(b *testing.B, snap *runtime.Snapshot, ev runtime.Event) {
	ctx := context.Background()
	l, _ := runtime.TierLimits(runtime.Standard)
	in, err := snap.NewInstance(ctx, l)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close(ctx)
	for b.Loop() {
		r, err := in.Invoke(ctx, ev)
		mustOK(b, r, err)
	}
}

// BenchmarkResetInvoke: a pristine instance per invocation (reset, then invoke).
func BenchmarkResetInvoke(b *testing.B) {
	ctx := context.Background()
	l, _ := runtime.TierLimits(runtime.Standard)
	in, err := maskCard(b).NewInstance(ctx, l)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close(ctx)
	for b.Loop() {
		if err := in.Reset(ctx); err != nil {
			b.Fatal(err)
		}
		r, err := in.Invoke(ctx, cardEvent)
		mustOK(b, r, err)
	}
}

// BenchmarkSnapshot: evaluate the bundle on the image's base and freeze it.
func BenchmarkSnapshot(b *testing.B) {
	code, _ := os.ReadFile("../functions/mask-card/index.js")
	for b.Loop() {
		snap, err := testEngine.Load(context.Background(), runtime.Bundle{Code: code})
		if err != nil {
			b.Fatal(err)
		}
		snap.Close()
	}
}

// BenchmarkFib25: interpreter speed.
func BenchmarkFib25(b *testing.B) {
	warmInvokes(b, benchSnapshot(b, `const fib = (n) => n < 2 ? n : fib(n - 1) + fib(n - 2); module.exports = async () => ({ raw: fib(25) });`), runtime.Event{})
}
