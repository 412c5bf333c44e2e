package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/evanw/esbuild/pkg/api"
)

// peerOptions configure the side-by-side comparison with reactord's peers.
type peerOptions struct {
	reactord string        // the reactord binary run as `reactord serve`
	d        time.Duration // length of each load run
	rounds   int           // the 1- and 32-client sequence is repeated this often; figures are medians
	perf     string        // when set, `perf record -g` of reactord serve during its 32-client run goes here
	pprof    string        // when set, a Go CPU profile of reactord serve during its 32-client run goes here
	trace    string        // when set, a Go execution trace of reactord serve during its 1-client run goes here
	pprofAt  int           // the client count whose run -pprof profiles (32 unless set)
	pin      bool          // servers on their own CPUs, the load generator on the others (see launcher)
}

// peer is one HTTP server answering the card-masking react request.
type peer struct {
	name, short string // row label and ratio label
	url, key    string
	note        string
	pid         int
	pprofAddr   string // reactord serve's --pprof-addr
	ported      bool   // runs bench/peers' port of the function, error path included
}

// peerFigure is one load run against one peer.
type peerFigure struct {
	p50, p99 time.Duration
	rate     float64
	cpu      time.Duration // the server process's CPU time per request: less sensitive than rate to a shared machine
}

// peerClients are the concurrencies compared: latency alone, and a loaded server.
var peerClients = []int{1, 32}

// measurePeers runs bin/reactord serve, workerd and node side by side on this machine and
// drives each, one after the other, with the same load generator and the same request:
// the comparison only a same-session ratio makes fair.
func measurePeers(ctx context.Context, o peerOptions, add func(name, value, target, note string)) error {
	dir, err := os.MkdirTemp("", "reactord-bench-peers")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}, Timeout: 30 * time.Second}
	body, check := []byte(sameWork[0].body), checkMasked
	var l launcher
	if o.pin {
		var placement string
		l, placement = pinnedLauncher()
		add("peers: CPUs", placement, "", "each server alone on its CPUs, one after the other; the load generator on the others")
	}
	peers, stop, err := startPeers(ctx, client, l, o.reactord, dir, add)
	if err != nil {
		return err
	}
	defer stop()
	rd := peers[0]

	// Warm every server up (JITs, instance pools, connections) before any figure counts.
	warm := min(o.d, time.Second)
	for _, p := range peers {
		if _, _, _, err := load(client, p.url, p.key, body, 32, warm, check); err != nil {
			return fmt.Errorf("warming %s up: %w", p.name, err)
		}
	}
	runs := map[string]map[int][]peerFigure{}
	for round := range max(o.rounds, 1) {
		for _, c := range peerClients {
			// Peers right after reactord at each concurrency, so drift on a shared
			// machine moves all of them alike.
			for i, p := range peers {
				var rec *exec.Cmd
				if i == 0 && c == max(o.pprofAt, 1) && round == 0 && o.perf != "" {
					if rec, err = startPerf(o.perf, p.pid); err != nil {
						return err
					}
				}
				var profiled chan struct{}
				if i == 0 && c == max(o.pprofAt, 1) && round == 0 && o.pprof != "" {
					profiled = make(chan struct{})
					go func() { defer close(profiled); fetchProfile(p.pprofAddr, "profile", o.d, o.pprof) }()
				}
				if i == 0 && c == 1 && round == 0 && o.trace != "" {
					profiled = make(chan struct{})
					go func() { defer close(profiled); fetchProfile(p.pprofAddr, "trace", o.d, o.trace) }()
				}
				cpu0 := cpuTime(p.pid)
				lat, n, el, err := load(client, p.url, p.key, body, c, o.d, check)
				cpu := cpuTime(p.pid) - cpu0
				if profiled != nil {
					<-profiled
				}
				if rec != nil {
					stopPerf(rec, o.perf)
				}
				if err != nil {
					return fmt.Errorf("%s, %d clients: %w", p.name, c, err)
				}
				f := peerFigure{p50: pct(lat, 50), p99: pct(lat, 99), rate: float64(n) / el.Seconds(), cpu: cpu / time.Duration(max(n, 1))}
				fmt.Fprintf(os.Stderr, "  round %d, %2d client(s), %-34s %s / %s, %.0f/s, CPU %s/request\n", round+1, c, p.name, us(f.p50), us(f.p99), f.rate, us(f.cpu))
				if runs[p.short] == nil {
					runs[p.short] = map[int][]peerFigure{}
				}
				runs[p.short][c] = append(runs[p.short][c], f)
			}
		}
	}
	idle, err := afterIdle(client, peers, body, check)
	if err != nil {
		return err
	}
	rounds := ""
	if o.rounds > 1 {
		rounds = fmt.Sprintf("; medians of %d rounds", o.rounds)
	}
	figures := map[string]map[int]peerFigure{}
	for _, c := range peerClients {
		for i, p := range peers {
			f := medianFigure(runs[p.short][c])
			if figures[p.short] == nil {
				figures[p.short] = map[int]peerFigure{}
			}
			figures[p.short][c] = f
			target, note := "", p.note+rounds
			if i == 0 && c == 32 {
				target = "p99 <= 5 ms"
			}
			if i > 0 {
				r := figures[rd.short][c]
				note = fmt.Sprintf("%s/reactord: p50 %s, p99 %s, throughput %s, CPU %s; %s", p.short,
					ratio(float64(f.p50), float64(r.p50)), ratio(float64(f.p99), float64(r.p99)), ratio(f.rate, r.rate),
					ratio(float64(f.cpu), float64(r.cpu)), p.note+rounds)
			}
			add(fmt.Sprintf("peers, %d client(s): %s p50 / p99, rate, server CPU per request", c, p.name),
				fmt.Sprintf("%s / %s, %.0f/s, %s", us(f.p50), us(f.p99), f.rate, us(f.cpu)), target, note)
		}
	}
	for i, p := range peers {
		note := "p50 of " + fmt.Sprint(idleRequests) + " requests, each after " + idleGap.String() + " without any: what waking the machine and the server costs"
		if i > 0 {
			note = fmt.Sprintf("%s/reactord: %s; %s", p.short, ratio(float64(idle[i]), float64(idle[0])), note)
		}
		add(fmt.Sprintf("peers, one request after %s idle: %s p50", idleGap, p.name), us(idle[i]), "", note)
	}
	if w, ok := figures["workerd"]; ok {
		r := figures[rd.short]
		add("reactord/workerd: throughput at 32 clients", ratio(r[32].rate, w[32].rate), ">= 1.0x", "from the peers rows above, same run")
		add("reactord/workerd: 1-client p50", ratio(float64(r[1].p50), float64(w[1].p50)), "<= 1.0x", "from the peers rows above, same run")
		add("reactord/workerd: server CPU per request at 32 clients", ratio(float64(r[32].cpu), float64(w[32].cpu)), "", "user + system time of the server process (reactord: gateway, NATS and worker together)")
	}
	if n, ok := figures["node"]; ok {
		r := figures[rd.short]
		add("reactord/node (ceiling): throughput at 32 clients", ratio(r[32].rate, n[32].rate), "", "what isolation and the service path cost against no isolation at all")
	}
	return nil
}

// idleGap and idleRequests shape afterIdle's measurement.
const (
	idleGap      = 100 * time.Millisecond
	idleRequests = 20
)

// afterIdle returns each peer's p50 latency of single requests sent after idleGap in
// which no peer had any, taking the peers in turn so that drift moves them alike. On
// a virtual machine whose idle CPUs halt, this is mostly the cost of waking up, which
// every server pays; a new reactor's first request pays it too.
func afterIdle(client *http.Client, peers []peer, body []byte, check func(int, []byte) error) ([]time.Duration, error) {
	lat := make([][]time.Duration, len(peers))
	for range idleRequests {
		for i, p := range peers {
			d, err := afterPause(client, p.url, p.key, body, check)
			if err != nil {
				return nil, fmt.Errorf("%s after idle: %w", p.name, err)
			}
			lat[i] = append(lat[i], d)
		}
	}
	out := make([]time.Duration, len(peers))
	for i := range peers {
		out[i] = pct(lat[i], 50)
	}
	return out, nil
}

// startPeers starts reactord serve and its peers, each checked to answer every sameWork
// request exactly as reactord does; a peer that cannot start is reported with add and
// left out. stop ends them all.
func startPeers(ctx context.Context, client *http.Client, l launcher, reactordBin, dir string, add func(name, value, target, note string)) ([]peer, func(), error) {
	body, check := []byte(sameWork[0].body), checkMasked
	var stops []func()
	stop := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	rd, stopRD, err := startReactord(ctx, client, l, reactordBin, dir, body, check)
	if err != nil {
		return nil, nil, fmt.Errorf("reactord serve: %w", err)
	}
	stops = append(stops, stopRD)
	peers := []peer{rd}

	workerBundle, nodeBundle, err := bundlePeer(dir)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("bundling the peers' function: %w", err)
	}
	for _, start := range []func() (peer, func(), error){
		func() (peer, func(), error) { return startWorkerd(ctx, client, l, dir, workerBundle, body, check) },
		func() (peer, func(), error) {
			p, stop, err := startNode(ctx, l, "bench/peers/node-server.js", nodeBundle)
			p.name, p.short, p.ported = "node HTTP, no isolation (ceiling)", "node", true
			p.note = "plain node:http calling the function in-process, no auth, " + p.note
			return p, stop, err
		},
		func() (peer, func(), error) {
			p, stop, err := startNode(ctx, l, "bench/nodehttp/server.js", "functions/mask-card/index.js", "bench/node/package.json")
			p.name, p.short = "node HTTP + vm.createContext", "node-vm"
			p.note = "a fresh vm context per request, no auth, " + p.note
			return p, stop, err
		},
	} {
		p, stopP, err := start()
		if err != nil {
			add("peers: "+p.name, "not measured", "", err.Error())
			continue
		}
		stops = append(stops, stopP)
		if err := sameAnswers(client, rd, p); err != nil {
			stop()
			return nil, nil, err
		}
		peers = append(peers, p)
	}
	return peers, stop, nil
}

// sameWork are react bodies the peers must answer exactly as reactord does: the ratios
// only count if every server runs the same function on the same input to the same output.
// The first is the body the load sends.
var sameWork = []struct {
	body      string
	errorPath bool // the function throws the SDK's BadRequestError
}{
	{`{"args":{"card_number":"4242424242424242"}}`, false},
	{`{"args":{"card_number":"4242-4242-4242-4242"}}`, false},
	{`{"args":{"card_number":"5555 5555 5555 4444"}}`, false},
	{`{"args":{"card_number":"42"}}`, false},
	{`{"args":{"card_number":""}}`, false},
	{`{"args":{"card_number":4242424242424242}}`, true},
	{`{"args":{}}`, true},
}

// sameAnswers compares p's answers to sameWork with reactord's, status and JSON body;
// the error path only for peers running the ported function (the vm baseline has no SDK).
func sameAnswers(client *http.Client, rd, p peer) error {
	for _, w := range sameWork {
		if w.errorPath && !p.ported {
			continue
		}
		ws, wb, err := postJSON(client, rd.url, rd.key, []byte(w.body))
		if err != nil {
			return fmt.Errorf("reactord serve: %w", err)
		}
		gs, gb, err := postJSON(client, p.url, p.key, []byte(w.body))
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		var want, got any
		if ws != gs || json.Unmarshal(wb, &want) != nil || json.Unmarshal(gb, &got) != nil || !reflect.DeepEqual(want, got) {
			return fmt.Errorf("%s answers %s with %d %s, reactord serve with %d %s: not the same function", p.name, w.body, gs, gb, ws, wb)
		}
	}
	return nil
}

// checkMasked accepts the answer to the load's request, sameWork[0].
func checkMasked(status int, b []byte) error {
	if status != 200 || !bytes.Contains(b, []byte(`"raw":{"masked_card":"************4242"}`)) {
		return fmt.Errorf("unexpected response %d %s", status, b)
	}
	return nil
}

// medianFigure is the median of each figure over the rounds.
func medianFigure(fs []peerFigure) peerFigure {
	var p50, p99, rate []float64
	for _, f := range fs {
		p50, p99, rate = append(p50, float64(f.p50)), append(p99, float64(f.p99)), append(rate, f.rate)
	}
	var cpu []float64
	for _, f := range fs {
		cpu = append(cpu, float64(f.cpu))
	}
	return peerFigure{p50: time.Duration(median(p50)), p99: time.Duration(median(p99)), rate: median(rate), cpu: time.Duration(median(cpu))}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// startReactord runs `reactord serve` in its own process on a fresh data directory and
// creates the application and reactor the load uses.
func startReactord(ctx context.Context, client *http.Client, l launcher, bin, dir string, body []byte, check func(int, []byte) error) (peer, func(), error) {
	p := peer{name: "reactord serve", short: "reactord", note: "bin/reactord serve in its own process: HTTP -> NATS -> wasm, API key and permission checks"}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return p, nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return p, nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "reactord.log"))
	if err != nil {
		return p, nil, err
	}
	if p.pprofAddr, err = freeAddr(); err != nil {
		return p, nil, err
	}
	cmd := l.command(ctx, abs, "serve", "--addr", addr, "--data-dir", filepath.Join(dir, "reactord"),
		"--management-key", benchKey, "--queue-wait", "2s", "--pprof-addr", p.pprofAddr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return p, nil, fmt.Errorf("%w (make build makes %s)", err, bin)
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	}
	fail := func(err error) (peer, func(), error) {
		stop()
		return p, nil, fmt.Errorf("%w; log: %s", err, tail(filepath.Join(dir, "reactord.log")))
	}
	p.pid = cmd.Process.Pid
	base := "http://" + addr
	if err := waitFor(ctx, 60*time.Second, func() error {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("healthz %d", resp.StatusCode)
		}
		return nil
	}); err != nil {
		return fail(err)
	}
	// react needs token:use, which only private applications hold.
	status, app, err := postJSON(client, base+"/applications", benchKey, []byte(`{"name":"bench caller","type":"private","permissions":["token:use"]}`))
	var created struct{ Key string }
	if err != nil || status != 201 || json.Unmarshal(app, &created) != nil {
		return fail(fmt.Errorf("create application: %d %s %v", status, app, err))
	}
	code, err := os.ReadFile("functions/mask-card/index.js")
	if err != nil {
		return fail(err)
	}
	id, err := createReactor(client, base, string(code), 1)
	if err != nil {
		return fail(err)
	}
	p.url, p.key = base+"/reactors/"+id+"/react", created.Key
	if err := waitFor(ctx, 30*time.Second, func() error {
		status, b, err := postJSON(client, p.url, p.key, body)
		if err != nil {
			return err
		}
		return check(status, b)
	}); err != nil {
		return fail(err)
	}
	return p, stop, nil
}

// bundlePeer bundles bench/peers/function.js (functions/mask-card/index.js and the host
// glue) for workerd, as an ES module worker, and for node, as CommonJS.
func bundlePeer(dir string) (worker, node string, err error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	mods := filepath.Join(wd, "bench", "peers", "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "maskdata")); err != nil {
		return "", "", fmt.Errorf("%w (make deps installs bench/peers/node_modules)", err)
	}
	base := api.BuildOptions{
		Bundle: true, Write: true, LogLevel: api.LogLevelWarning, AbsWorkingDir: wd,
		// functions/mask-card has no node_modules of its own: node-bt ships maskdata.
		NodePaths: []string{mods},
		Alias:     map[string]string{"@basis-theory/basis-theory-reactor-formulas-sdk-js": "./bench/peers/sdk.js"},
	}
	w := base
	w.EntryPoints, w.Outfile = []string{"bench/peers/worker.js"}, filepath.Join(dir, "worker.mjs")
	w.Format, w.Platform, w.MainFields = api.FormatESModule, api.PlatformNeutral, []string{"main"}
	n := base
	n.EntryPoints, n.Outfile = []string{"bench/peers/function.js"}, filepath.Join(dir, "peer.cjs")
	n.Format, n.Platform = api.FormatCommonJS, api.PlatformNode
	for _, o := range []api.BuildOptions{w, n} {
		if r := api.Build(o); len(r.Errors) > 0 {
			return "", "", fmt.Errorf("esbuild %s: %s", o.EntryPoints[0], r.Errors[0].Text)
		}
	}
	return w.Outfile, n.Outfile, nil
}

// workerdBinary is the workerd executable the npm package installed for this platform.
func workerdBinary() (string, error) {
	arch := map[string]string{"amd64": "64", "arm64": "arm64"}[goruntime.GOARCH]
	bin := filepath.Join("bench", "peers", "node_modules", "@cloudflare", "workerd-"+goruntime.GOOS+"-"+arch, "bin", "workerd")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("%w (make deps installs the workerd npm package)", err)
	}
	return filepath.Abs(bin)
}

const workerdConfig = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "mask", worker = .mask)],
  sockets = [(name = "http", http = (), service = "mask")],
);

const mask :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = "2026-11-01",
);
`

// startWorkerd serves the worker bundle with workerd on a socket this process opened.
func startWorkerd(ctx context.Context, client *http.Client, l launcher, dir, bundle string, body []byte, check func(int, []byte) error) (peer, func(), error) {
	p := peer{name: "workerd", short: "workerd", note: "one isolate reused, no auth", ported: true}
	bin, err := workerdBinary()
	if err != nil {
		return p, nil, err
	}
	var pkg struct{ Version string }
	if b, err := os.ReadFile(filepath.Join("bench", "peers", "node_modules", "workerd", "package.json")); err == nil && json.Unmarshal(b, &pkg) == nil {
		p.note += ", npm workerd " + pkg.Version
	}
	cfg := filepath.Join(dir, "workerd.capnp")
	if err := os.WriteFile(cfg, []byte(workerdConfig), 0o644); err != nil {
		return p, nil, err
	}
	if filepath.Dir(bundle) != dir {
		return p, nil, errors.New("the worker bundle must sit next to the config")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return p, nil, err
	}
	f, err := ln.(*net.TCPListener).File()
	addr := ln.Addr().String()
	ln.Close() // f holds its own descriptor of the listening socket
	if err != nil {
		return p, nil, err
	}
	defer f.Close()
	var stderr bytes.Buffer
	cmd := l.command(ctx, bin, "serve", cfg, "--socket-fd", "http=3")
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		return p, nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	p.pid = cmd.Process.Pid
	p.url = "http://" + addr + "/react"
	if err := waitFor(ctx, 20*time.Second, func() error {
		status, b, err := postJSON(client, p.url, "", body)
		if err != nil {
			return err
		}
		return check(status, b)
	}); err != nil {
		stop()
		return p, nil, fmt.Errorf("%w; stderr: %s", err, strings.TrimSpace(stderr.String()))
	}
	return p, stop, nil
}

// startNode runs a node server script that prints "listening PORT" once ready.
func startNode(ctx context.Context, l launcher, script string, args ...string) (peer, func(), error) {
	var p peer
	cmd := l.command(ctx, "node", append([]string{script}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return p, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return p, nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "listening ") {
		stop()
		return p, nil, fmt.Errorf("%s did not start: %q %v", script, line, err)
	}
	p.pid = cmd.Process.Pid
	p.url = "http://127.0.0.1:" + strings.TrimSpace(strings.TrimPrefix(line, "listening ")) + "/react"
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		p.note = strings.TrimSpace(string(out))
	}
	return p, stop, nil
}

// startPerf records call graphs of process pid into out until interrupted.
func startPerf(out string, pid int) (*exec.Cmd, error) {
	cmd := exec.Command("perf", "record", "-g", "-F", "999", "-o", out, "-p", fmt.Sprint(pid))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record: %w", err)
	}
	time.Sleep(500 * time.Millisecond) // perf attaches before the load starts
	return cmd, nil
}

// fetchProfile writes a Go CPU profile or execution trace (kind "profile" or "trace")
// of reactord serve over the next d (whole seconds, at least one) to out.
func fetchProfile(addr, kind string, d time.Duration, out string) {
	secs := max(int((d+time.Second-1)/time.Second), 1)
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", addr, kind, secs))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		if b, err = io.ReadAll(resp.Body); err == nil {
			err = os.WriteFile(out, b, 0o644)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport: pprof:", err)
		return
	}
	fmt.Fprintf(os.Stderr, "benchreport: reactord serve's Go %s is in %s (go tool pprof -top bin/reactord %s, go tool trace %s)\n", kind, out, out, out)
}

// cpuTime is the user + system CPU time process pid has used so far, from /proc/PID/stat
// (in clock ticks of 1/100 s, Linux's USER_HZ); 0 where that is not readable.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// stopPerf interrupts perf record, which then writes its file and ends by SIGINT itself.
func stopPerf(cmd *exec.Cmd, out string) {
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
			err = nil
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport: perf record:", err)
		return
	}
	fmt.Fprintf(os.Stderr, "benchreport: reactord serve's profile under 32 clients is in %s (perf report -i %s); this run's reactord figures carry perf's overhead\n", out, out)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitFor retries f until it succeeds or d passes.
func waitFor(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", d, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
