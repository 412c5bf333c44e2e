package runtime_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	goruntime "runtime"
	"strconv"
	"testing"

	"github.com/reactord/reactord/runtime"
)

// intlReactor formats money and a date the way payment code does, per invocation.
const intlReactor = `module.exports = async (req) => {
  const amount = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(1234.5);
  const when = new Date(Date.UTC(2024, 2, 10, 7, 30)).toLocaleString('en-US', { timeZone: 'America/New_York' });
  return { raw: { amount, when, n: (1234567.891).toLocaleString() } };
};`

// privateDirty is the process's Private_Dirty in bytes (smaps_rollup).
func privateDirty(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		tb.Skip("no /proc/self/smaps_rollup")
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	var total int64
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && (string(f[0]) == "Private_Dirty:") {
			n, _ := strconv.ParseInt(string(f[1]), 10, 64)
			total += n << 10
		}
	}
	return total
}

// BenchmarkInstanceMemory reports the private memory of instances after one
// invocation, for the card-masking reactor (idle) and for one that uses Intl, and the
// size of their snapshots.
func BenchmarkInstanceMemory(b *testing.B) {
	ctx := context.Background()
	card, _ := os.ReadFile("../functions/mask-card/index.js")
	for _, tc := range []struct {
		name, code string
		ev         runtime.Event
	}{
		{"maskcard", string(card), cardEvent},
		{"intl", intlReactor, runtime.Event{Args: json.RawMessage(`{}`)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(tc.code)})
			if err != nil {
				b.Skipf("load: %v", err) // the image has no Intl
			}
			defer snap.Close()
			l, _ := runtime.TierLimits(runtime.Standard)
			const n = 16
			var perInstance float64
			for b.Loop() {
				goruntime.GC()
				before := privateDirty(b)
				ins := make([]*runtime.Instance, 0, n)
				for range n {
					in, err := snap.NewInstance(ctx, l)
					if err != nil {
						b.Fatal(err)
					}
					r, err := in.Invoke(ctx, tc.ev)
					if err != nil || r.Status != 200 {
						b.Skipf("invoke: %v %d %s", err, r.Status, r.Body)
					}
					ins = append(ins, in)
				}
				goruntime.GC()
				perInstance = float64(privateDirty(b)-before) / n
				for _, in := range ins {
					in.Close(ctx)
				}
			}
			b.ReportMetric(perInstance/1024, "KiB-private/instance")
		})
	}
}

// BenchmarkIntl: what constructing and using formatters costs inside QuickJS, per
// operation (a loop of 200 inside one invocation).
func BenchmarkIntl(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct{ name, body string }{
		{"loop-baseline", `x += i;`},
		{"NumberFormat-new", `new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });`},
		{"NumberFormat-format", `x += nf.format(i + 0.5).length;`},
		{"Number-toLocaleString", `x += (i + 0.5).toLocaleString('en-US', { style: 'currency', currency: 'USD' }).length;`},
		{"DateTimeFormat-new", `new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', dateStyle: 'medium', timeStyle: 'short' });`},
		{"DateTimeFormat-format", `x += dtf.format(i * 86400000).length;`},
		{"Date-toLocaleString", `x += new Date(i * 86400000).toLocaleString().length;`},
		{"PluralRules-select", `x += pr.select(i).length;`},
		{"RelativeTimeFormat-format", `x += rtf.format(-i, 'day').length;`},
		{"Collator-compare", `x += coll.compare('a' + i, 'b');`},
		{"localeCompare", `x += ('a' + i).localeCompare('b');`},
	} {
		code := `const nf = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const dtf = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', dateStyle: 'medium', timeStyle: 'short' });
const pr = new Intl.PluralRules('en-US');
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const coll = new Intl.Collator('en');
module.exports = async () => { let x = 0; for (let i = 0; i < 200; i++) { ` + tc.body + ` } return { raw: x }; };`
		snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(code)})
		if err != nil {
			b.Skipf("load: %v", err)
		}
		l, _ := runtime.TierLimits(runtime.Standard)
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				r, err := in.Invoke(ctx, runtime.Event{})
				mustOK(b, r, err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/200, "ns/op-inside")
		})
		in.Close(ctx)
		snap.Close()
	}
}

// BenchmarkColdStartIntl: a new instance of a reactor that formats with Intl, one
// invocation, close.
func BenchmarkColdStartIntl(b *testing.B) {
	ctx := context.Background()
	snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(intlReactor)})
	if err != nil {
		b.Skipf("load: %v", err)
	}
	defer snap.Close()
	coldStarts(b, snap, runtime.Event{Args: json.RawMessage(`{}`)})
}

// BenchmarkImageBase: a new engine's first load on each image, which builds the image's
// base snapshot (evaluates its Node layer), over a warm compilation cache.
func BenchmarkImageBase(b *testing.B) {
	ctx := context.Background()
	dir, _ := os.UserCacheDir()
	for _, image := range []string{"node-bt", "node22"} {
		b.Run(image, func(b *testing.B) {
			for b.Loop() {
				eng, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: dir + "/reactord-test/wazero"})
				if err != nil {
					b.Fatal(err)
				}
				snap, err := eng.Load(ctx, runtime.Bundle{Image: image, Code: []byte(`module.exports = async () => 1;`)})
				if err != nil {
					b.Fatal(err)
				}
				snap.Close()
				eng.Close(ctx)
			}
		})
	}
}

// BenchmarkColdStartAlloc: a new instance of a reactor that allocates enough (50,000
// small objects) for QuickJS to run its cycle collector, which walks every object of the
// snapshot's heap too: what a bigger image heap costs such reactors.
func BenchmarkColdStartAlloc(b *testing.B) {
	ctx := context.Background()
	snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(`module.exports = async () => { const a = []; for (let i = 0; i < 50000; i++) a.push({ i }); return { raw: a.length }; };`)})
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	coldStarts(b, snap, runtime.Event{Args: json.RawMessage(`{}`)})
}

// BenchmarkLoadIntl: making the snapshot of a reactor whose code mentions Intl (the Intl
// script is evaluated into it).
func BenchmarkLoadIntl(b *testing.B) {
	for b.Loop() {
		snap, err := testEngine.Load(context.Background(), runtime.Bundle{Code: []byte(intlReactor)})
		if err != nil {
			b.Skipf("load: %v", err)
		}
		snap.Close()
	}
}

// BenchmarkColdStartIntlLazy: a new instance of a reactor that uses Intl without
// mentioning it (the instance evaluates the Intl script on first use), one invocation.
func BenchmarkColdStartIntlLazy(b *testing.B) {
	ctx := context.Background()
	snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(`module.exports = async () => ({ raw: new globalThis['In' + 'tl'].NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(1234.5) });`)})
	if err != nil {
		b.Skipf("load: %v", err)
	}
	defer snap.Close()
	coldStarts(b, snap, runtime.Event{Args: json.RawMessage(`{}`)})
}

// BenchmarkColdStartIntlIdle: like BenchmarkColdStart for a reactor whose snapshot has
// Intl (its code mentions it) but which does not use it.
func BenchmarkColdStartIntlIdle(b *testing.B) {
	ctx := context.Background()
	snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(`module.exports = async () => ({ raw: 1 }); // Intl`)})
	if err != nil {
		b.Fatal(err)
	}
	defer snap.Close()
	coldStarts(b, snap, runtime.Event{Args: json.RawMessage(`{}`)})
}

// BenchmarkWarmIntl: intlReactor on a live instance.
func BenchmarkWarmIntl(b *testing.B) {
	warmInvokes(b, benchSnapshot(b, intlReactor), runtime.Event{Args: json.RawMessage(`{}`)})
}
