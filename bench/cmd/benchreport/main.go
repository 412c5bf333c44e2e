// Command benchreport measures the runtime the way the issues ask (medians and tails
// on this machine, next to Node.js doing the same work) and prints a markdown table;
// with -readme it also replaces the table between the bench markers of README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reactord/reactord/runtime"
)

type row struct{ name, value, target, note string }

func main() {
	readme := flag.String("readme", "", "README to update between <!-- bench:start --> and <!-- bench:end -->")
	iterations := flag.Int("n", 2000, "iterations for the per-invocation figures")
	service := flag.Bool("service", true, "also measure the service path (HTTP -> NATS -> wasm)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	peers := flag.Bool("peers", true, "also run reactord serve, workerd and node side by side under the same load")
	peersOnly := flag.Bool("peers-only", false, "run only the side-by-side comparison with the peers (quick; leaves the README alone)")
	var po peerOptions
	flag.DurationVar(&po.d, "d", 3*time.Second, "length of each load run against the service and the peers")
	flag.StringVar(&po.reactord, "reactord", "bin/reactord", "the reactord binary the peer comparison runs as `reactord serve`")
	flag.IntVar(&po.rounds, "rounds", 5, "rounds of the peer comparison; each figure is the median over them")
	flag.StringVar(&po.pprof, "pprof", "", "write a Go CPU profile of reactord serve during its first 32-client peer run to this `file`")
	flag.IntVar(&po.pprofAt, "pprof-clients", 32, "the client count (1 or 32) whose first run -pprof and -perf profile")
	flag.StringVar(&po.trace, "trace", "", "write a Go execution trace of reactord serve during its first 1-client peer run to this `file`")
	flag.StringVar(&po.perf, "perf", "", "write `perf record -g` of reactord serve during its first peer run at -pprof-clients to this file")
	flag.BoolVar(&po.pin, "pin", true, "run each peer server on its own CPUs and the load generator on the others")
	flag.Parse()
	if *peersOnly && *readme != "" {
		fmt.Fprintln(os.Stderr, "benchreport: -peers-only measures part of the table; it does not rewrite -readme")
		os.Exit(2)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	var rows []row
	var err error
	if *peersOnly {
		rows, err = rowsOf(func(add func(name, value, target, note string)) error {
			return measurePeers(context.Background(), po, add)
		})
	} else {
		rows, err = measure(context.Background(), *iterations, *service, *peers, po)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	table := render(rows)
	fmt.Print(table)
	if *readme != "" {
		if err := updateReadme(*readme, table); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
	}
}

// rowsOf collects the rows f adds, echoing each to stderr as it is measured.
func rowsOf(f func(add func(name, value, target, note string)) error) ([]row, error) {
	var rows []row
	err := f(func(name, value, target, note string) {
		rows = append(rows, row{name, value, target, note})
		fmt.Fprintf(os.Stderr, "%-44s %s\n", name, value)
	})
	return rows, err
}

func measure(ctx context.Context, n int, service, peers bool, po peerOptions) ([]row, error) {
	var rows []row
	add := func(name, value, target, note string) {
		rows = append(rows, row{name, value, target, note})
		fmt.Fprintf(os.Stderr, "%-44s %s\n", name, value)
	}

	cache, err := os.MkdirTemp("", "reactord-bench-cache")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(cache)
	cold, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: cache})
	if err != nil {
		return nil, err
	}
	add("engine compile, no cache", ms(cold.CompileTime), "", "both module variants")
	cold.Close(ctx)
	eng, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: cache})
	if err != nil {
		return nil, err
	}
	defer eng.Close(ctx)
	add("engine compile, from the file cache", ms(eng.CompileTime), "", "")

	code, err := os.ReadFile("functions/mask-card/index.js")
	if err != nil {
		return nil, err
	}
	bundle := runtime.Bundle{Code: code}
	start := time.Now()
	snap, err := eng.Load(ctx, bundle)
	if err != nil {
		return nil, err
	}
	add("image base + bundle snapshot (first load)", ms(time.Since(start)), "", "engine boot and node-bt layer, once per process")
	var loads []time.Duration
	for range 20 {
		start := time.Now()
		s, err := eng.Load(ctx, bundle)
		if err != nil {
			return nil, err
		}
		loads = append(loads, time.Since(start))
		s.Close()
	}
	add("bundle snapshot creation p50", ms(pct(loads, 50)), "", "per bundle version")

	limits, _ := runtime.TierLimits(runtime.Standard)
	event := runtime.Event{Args: json.RawMessage(`{"card_number":"4242424242424242"}`)}
	check := func(r runtime.Response, err error) error {
		if err != nil {
			return err
		}
		if r.Status != 200 || !bytes.Contains(r.Body, []byte(`************4242`)) {
			return fmt.Errorf("unexpected response %d %s", r.Status, r.Body)
		}
		return nil
	}

	var coldStarts []time.Duration
	for range n / 4 {
		start := time.Now()
		in, err := snap.NewInstance(ctx, limits)
		if err != nil {
			return nil, err
		}
		r, err := in.Invoke(ctx, event)
		coldStarts = append(coldStarts, time.Since(start))
		in.Close(ctx)
		if err := check(r, err); err != nil {
			return nil, err
		}
	}
	add("cold start p50 / p99 (instance from snapshot -> result)", us(pct(coldStarts, 50))+" / "+us(pct(coldStarts, 99)), "p50 <= 250 us", "")

	in, err := snap.NewInstance(ctx, limits)
	if err != nil {
		return nil, err
	}
	var warm, resets, resetInvokes []time.Duration
	for range n {
		start := time.Now()
		r, err := in.Invoke(ctx, event)
		warm = append(warm, time.Since(start))
		if err := check(r, err); err != nil {
			return nil, err
		}
	}
	add("warm invoke p50 / p99", us(pct(warm, 50))+" / "+us(pct(warm, 99)), "p50 <= 20 us", "")
	for range n {
		start := time.Now()
		if err := in.Reset(ctx); err != nil {
			return nil, err
		}
		mid := time.Now()
		r, err := in.Invoke(ctx, event)
		resets = append(resets, mid.Sub(start))
		resetInvokes = append(resetInvokes, time.Since(start))
		if err := check(r, err); err != nil {
			return nil, err
		}
	}
	in.Close(ctx)
	add("reset to pristine p50 / p99", us(pct(resets, 50))+" / "+us(pct(resets, 99)), "<= 50 us", "")
	add("pristine invoke (reset + invoke) p50 / p99", us(pct(resetInvokes, 50))+" / "+us(pct(resetInvokes, 99)), "", "a fresh instance state per invocation")

	fresh, used, err := privateMemory(ctx, snap, limits, event, 200)
	if err != nil {
		return nil, err
	}
	add("private memory per idle instance (fresh / after use + reset)", kib(fresh)+" / "+kib(used), "<= 1 MiB", "200 instances, /proc/self/smaps_rollup")

	fibSnap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(`const fib = (n) => n < 2 ? n : fib(n - 1) + fib(n - 2); module.exports = async () => ({ raw: fib(25) });`)})
	if err != nil {
		return nil, err
	}
	fib, err := fibSnap.NewInstance(ctx, limits)
	if err != nil {
		return nil, err
	}
	var fibs []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := fib.Invoke(ctx, runtime.Event{}); err != nil {
			return nil, err
		}
		fibs = append(fibs, time.Since(start))
	}
	fib.Close(ctx)
	add("fib(25) median", ms(pct(fibs, 50)), "<= 50 ms", "")

	if err := measureBuilds(ctx, eng, add); err != nil {
		add("node22 build", "not measured", "", err.Error())
	}
	if service {
		if err := measureService(ctx, po.d, add); err != nil {
			return nil, fmt.Errorf("service benchmark: %w", err)
		}
	}
	if peers {
		// The peers share the machine with this process, which is also their load
		// generator: release the engine and the heap the figures above left behind so
		// that its collector does not compete with the servers it drives.
		eng.Close(ctx)
		goruntime.GC()
		debug.FreeOSMemory()
		if err := measurePeers(ctx, po, add); err != nil {
			return nil, fmt.Errorf("peer comparison: %w", err)
		}
	}
	node, err := nodeBaseline()
	if err != nil {
		add("node baseline", "not measured", "", err.Error())
	} else {
		for _, r := range node {
			add(r.name, r.value, "", r.note)
		}
	}
	return rows, nil
}

// privateMemory returns the private bytes per instance of n idle instances, fresh and
// after one invocation and a reset.
func privateMemory(ctx context.Context, snap *runtime.Snapshot, limits runtime.Limits, ev runtime.Event, n int) (fresh, used int64, err error) {
	before := privateBytes()
	var ins []*runtime.Instance
	defer func() {
		for _, in := range ins {
			in.Close(ctx)
		}
	}()
	for range n {
		in, err := snap.NewInstance(ctx, limits)
		if err != nil {
			return 0, 0, err
		}
		ins = append(ins, in)
	}
	fresh = (privateBytes() - before) / int64(n)
	for _, in := range ins {
		if _, err := in.Invoke(ctx, ev); err != nil {
			return 0, 0, err
		}
		if err := in.Reset(ctx); err != nil {
			return 0, 0, err
		}
	}
	used = (privateBytes() - before) / int64(n)
	return fresh, used, nil
}

func privateBytes() int64 {
	goruntime.GC()
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "Private_Clean:" || f[0] == "Private_Dirty:") {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			total += v << 10
		}
	}
	return total
}

func nodeBaseline() ([]row, error) {
	script := filepath.Join("bench", "node", "baseline.js")
	if _, err := os.Stat(script); err != nil {
		return nil, err
	}
	out, err := exec.Command("node", script).Output()
	if err != nil {
		return nil, fmt.Errorf("node baseline: %w", err)
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("node baseline output: %w", err)
	}
	type stat struct {
		P50        float64 `json:"p50_us"`
		P99        float64 `json:"p99_us"`
		Iterations int     `json:"iterations"`
	}
	var rows []row
	for _, k := range []struct{ key, name string }{
		{"process_per_invocation", "node: process per invocation p50 / p99"},
		{"vm_context_per_invocation", "node: vm.createContext per invocation p50 / p99"},
		{"warm_function_call", "node: warm function call p50 / p99"},
	} {
		var s stat
		if err := json.Unmarshal(res[k.key], &s); err != nil {
			return nil, fmt.Errorf("node baseline %s: %w", k.key, err)
		}
		rows = append(rows, row{name: k.name, value: fmt.Sprintf("%.1f us / %.1f us", s.P50, s.P99), note: fmt.Sprintf("%d iterations", s.Iterations)})
	}
	var fib struct {
		JIT     float64 `json:"median_ms"`
		Jitless float64 `json:"jitless_median_ms"`
	}
	if err := json.Unmarshal(res["fib25"], &fib); err == nil {
		rows = append(rows, row{name: "node: fib(25) median (JIT / --jitless)", value: fmt.Sprintf("%.1f ms / %.1f ms", fib.JIT, fib.Jitless)})
	}
	var version string
	json.Unmarshal(res["node_version"], &version)
	for i := range rows {
		rows[i].note = strings.TrimSpace(rows[i].note + " " + version)
	}
	return rows, nil
}

func pct(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, len(s)*p/100)]
}

func us(d time.Duration) string { return fmt.Sprintf("%.1f us", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
func kib(b int64) string        { return fmt.Sprintf("%d KiB", b>>10) }

func render(rows []row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s on %s/%s, %d CPUs, %s.\n\n", time.Now().UTC().Format("2006-01-02"), goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), goruntime.Version())
	b.WriteString("| figure | value | target | note |\n| --- | --- | --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.name, r.value, r.target, r.note)
	}
	return b.String()
}

func updateReadme(path, table string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const open, end = "<!-- bench:start -->", "<!-- bench:end -->"
	i, j := bytes.Index(b, []byte(open)), bytes.Index(b, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s markers", path, open, end)
	}
	out := append([]byte(nil), b[:i+len(open)]...)
	out = append(out, '\n')
	out = append(out, table...)
	out = append(out, b[j:]...)
	return os.WriteFile(path, out, 0o644)
}
