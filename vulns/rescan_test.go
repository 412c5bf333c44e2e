package vulns

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/reactord/reactord/builder"
	"github.com/reactord/reactord/internal/natsd"
	"github.com/reactord/reactord/internal/osvtest"
	"github.com/reactord/reactord/internal/seal"
	"github.com/reactord/reactord/store"
)

type fixture struct {
	js        jetstream.JetStream
	reactors  *store.Reactors
	proxies   *store.Proxies
	manifests *Manifests
	findings  *Findings
}

func newFixture(tb testing.TB) fixture {
	tb.Helper()
	ctx := context.Background()
	ns, err := natsd.Start(ctx, natsd.Options{DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	key, _ := seal.Parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f := fixture{js: js}
	if f.reactors, err = store.OpenReactors(ctx, js, key); err != nil {
		tb.Fatal(err)
	}
	if f.proxies, err = store.OpenProxies(ctx, js, key); err != nil {
		tb.Fatal(err)
	}
	if f.manifests, err = OpenManifests(ctx, js); err != nil {
		tb.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	tb.Cleanup(cancel)
	if err := f.manifests.Follow(fctx); err != nil {
		tb.Fatal(err)
	}
	if f.findings, err = OpenFindings(ctx, js, f.manifests); err != nil {
		tb.Fatal(err)
	}
	if err := f.findings.Follow(fctx); err != nil {
		tb.Fatal(err)
	}
	return f
}

func (f fixture) rescanner(tb testing.TB, holder string, scanner *builder.Scanner) *Rescanner {
	tb.Helper()
	r, err := NewRescanner(context.Background(), Config{JS: f.js, Reactors: f.reactors, Proxies: f.proxies, Scanner: scanner, Manifests: f.manifests,
		Findings: f.findings, Poll: 200 * time.Millisecond, Holder: holder, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestLease: one holder at a time; the holder renews; when it stops renewing the
// lease expires and another gateway takes it.
func TestLease(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.rescanner(t, "a", nil), f.rescanner(t, "b", nil)
	steps := []struct {
		who  *Rescanner
		want bool
	}{{a, true}, {b, false}, {a, true}, {b, false}}
	for i, s := range steps {
		if got, err := s.who.hold(ctx); err != nil || got != s.want {
			t.Fatalf("step %d (%s): hold = %v, %v; want %v", i, s.who.cfg.Holder, got, err, s.want)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := b.hold(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lease never expired")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, _ := a.hold(ctx); got {
		t.Error("the old holder still holds the lease after another took it")
	}
}

// deploy creates n node22 reactors, each serving its own bundle of pkgs.
func (f fixture) deploy(tb testing.TB, n int, pkgs []builder.Package) {
	tb.Helper()
	ctx := context.Background()
	for i := range n {
		sha := fmt.Sprintf("%064x", i+1)
		if err := f.manifests.Put(ctx, sha, pkgs); err != nil {
			tb.Fatal(err)
		}
		rec := &store.Reactor{ID: fmt.Sprintf("r-%04d", i), Name: fmt.Sprintf("reactor %d", i), State: store.StateActive,
			Runtime: &store.Runtime{Image: "node22"}, Bundle: sha, CreatedAt: time.Now()}
		if err := f.reactors.Create(ctx, rec); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestRescanAll: a finding is recorded once with its discovery time, notified once,
// kept across rescans, and cleared when the database no longer reports it.
func TestRescanAll(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	db := t.TempDir()
	if _, err := osvtest.WriteDB(db, "GHSA-35jh-r3h4-6jhm"); err != nil {
		t.Fatal(err)
	}
	f.deploy(t, 2, []builder.Package{{Name: "lodash", Version: "4.17.20", DependencyPath: []string{"lodash"}}})
	// A proxy whose response transform serves a vulnerable tree too.
	if err := f.manifests.Put(ctx, "proxybundle", []builder.Package{{Name: "minimist", Version: "1.2.5", DependencyPath: []string{"minimist"}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.proxies.Create(ctx, &store.Proxy{ID: "p1", Name: "proxy", Key: "k", DestinationURL: "https://example.com", CreatedAt: time.Now(),
		ResponseTransforms: []store.ProxyTransform{{Type: "code", Code: "x", Runtime: &store.Runtime{Image: "node22"}, Bundle: "proxybundle"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := osvtest.WriteDB(db, "GHSA-35jh-r3h4-6jhm", "GHSA-xvch-5gv4-984h"); err != nil {
		t.Fatal(err)
	}
	var notified []Discovery
	r := f.rescanner(t, "a", builder.NewScanner(db, "", true, nil))
	r.cfg.Notify = func(_ context.Context, d Discovery) { notified = append(notified, d) }
	st, err := r.RescanAll(ctx)
	if err != nil || st.Resources != 3 || st.Scanned != 3 || st.Discoveries != 3 || len(notified) != 3 {
		t.Fatalf("first rescan: %+v, %v, notified %d", st, err, len(notified))
	}
	if p := notified[2]; p.Kind != Proxy || p.ID != "p1" || p.New[0].ID != "CVE-2021-44906" || p.New[0].Severity != "CRITICAL" {
		t.Errorf("proxy discovery %+v", p)
	}
	// Open reads the in-memory copy, which follows the bucket a moment later.
	var open []Finding
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if open = f.findings.Open(Proxy, "p1", []string{"proxybundle"}); len(open) == 1 {
			break
		}
	}
	if len(open) != 1 {
		t.Errorf("proxy findings %+v", open)
	}
	first := notified[0].New[0]
	if first.ID != "CVE-2021-23337" || first.Severity != "HIGH" || first.DiscoveredAt.IsZero() {
		t.Errorf("finding %+v", first)
	}
	if st, err = r.RescanAll(ctx); err != nil || st.Discoveries != 0 || len(notified) != 3 {
		t.Fatalf("second rescan: %+v, %v, notified %d", st, err, len(notified))
	}
	rec, _, _ := f.findings.stored(ctx, Reactor, "r-0000")
	if rec == nil || !rec.Findings[0].DiscoveredAt.Equal(first.DiscoveredAt) {
		t.Errorf("discovered_at changed across rescans: %+v", rec)
	}
	if _, err := osvtest.WriteDB(db, "GHSA-pw2r-vq6v-hr8c"); err != nil { // the advisory is gone (withdrawn)
		t.Fatal(err)
	}
	if _, err = r.RescanAll(ctx); err != nil {
		t.Fatal(err)
	}
	if rec, _, _ := f.findings.stored(ctx, Reactor, "r-0000"); rec != nil {
		t.Errorf("finding kept after the database dropped it: %+v", rec)
	}
}

// BenchmarkRescan1000 is the cost of one full rescan of 1,000 deployed reactors, each
// with its own bundle of 30 packages, against the offline database.
func BenchmarkRescan1000(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	db := b.TempDir()
	if _, err := osvtest.WriteDB(db); err != nil {
		b.Fatal(err)
	}
	pkgs := []builder.Package{{Name: "lodash", Version: "4.17.20", DependencyPath: []string{"lodash"}}}
	for i := range 29 {
		pkgs = append(pkgs, builder.Package{Name: fmt.Sprintf("pkg-%d", i), Version: "1.0.0", DependencyPath: []string{"lodash", fmt.Sprintf("pkg-%d", i)}})
	}
	f.deploy(b, 1000, pkgs)
	r := f.rescanner(b, "bench", builder.NewScanner(db, "", true, nil))
	b.ResetTimer()
	for b.Loop() {
		st, err := r.RescanAll(ctx)
		if err != nil || st.Scanned != 1000 {
			b.Fatalf("%+v %v", st, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/1000, "ms/artifact")
}

func TestBlocking(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	f := func(sev string, age time.Duration) Finding {
		return Finding{Vulnerability: builder.Vulnerability{ID: sev + age.String(), Severity: sev}, DiscoveredAt: now.Add(-age)}
	}
	tests := []struct {
		name  string
		open  []Finding
		after time.Duration
		want  string // the blocking finding's id, "" for none
	}{
		{"policy off", []Finding{f("CRITICAL", 100*time.Hour)}, 0, ""},
		{"critical too young", []Finding{f("CRITICAL", time.Hour)}, 72 * time.Hour, ""},
		{"critical old enough", []Finding{f("CRITICAL", 73*time.Hour)}, 72 * time.Hour, "CRITICAL73h0m0s"},
		{"high never blocks", []Finding{f("HIGH", 500*time.Hour)}, 72 * time.Hour, ""},
		{"the oldest is named", []Finding{f("CRITICAL", 80*time.Hour), f("CRITICAL", 90*time.Hour)}, 72 * time.Hour, "CRITICAL90h0m0s"},
	}
	for _, tc := range tests {
		got := Blocking(tc.open, tc.after, now)
		if (got == nil) != (tc.want == "") || (got != nil && got.ID != tc.want) {
			t.Errorf("%s: got %+v, want %q", tc.name, got, tc.want)
		}
	}
}
