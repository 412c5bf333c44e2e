package runtime_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/runtime"
)

// TestHostile runs code that attacks the limits. Each case must end in its documented
// outcome within its limit (+10%), leave the process healthy, and a fresh instance of
// the same engine must serve the next invocation.
func TestHostile(t *testing.T) {
	const limit = 2 * time.Second
	tests := []struct {
		name, code string
		outcome    runtime.Outcome
		status     int
		detail     string
		tier       runtime.Tier
		timeout    time.Duration
		late       bool // a native builtin may hold the engine past the limit (bounded)
	}{
		{name: "infinite loop", code: `module.exports = async () => { while (true) {} }`, outcome: runtime.Timeout, status: 500, detail: "timeout"},
		{name: "infinite loop in try/catch", code: `module.exports = async () => { for (;;) { try { while (true) {} } catch (e) {} } }`, outcome: runtime.Timeout, status: 500, detail: "timeout"},
		{name: "async infinite loop", code: `module.exports = async () => { for (;;) { await null; } }`, outcome: runtime.Timeout, status: 500, detail: "timeout"},
		{name: "timer loop", code: `module.exports = () => new Promise(() => { const f = () => setTimeout(f, 0); f(); })`, outcome: runtime.Timeout, status: 500, detail: "timeout"},
		{name: "sleep past the timeout", code: `module.exports = () => new Promise(r => setTimeout(r, 60000))`, outcome: runtime.Timeout, status: 500, detail: "timeout"},
		{name: "regex backtracking", code: `module.exports = async () => /(a+)+b/.test('a'.repeat(40))`, outcome: runtime.Timeout, status: 500, detail: "timeout"},
		{name: "memory bomb", code: `module.exports = async () => { const a = []; for (;;) a.push(new Array(1e5).fill(1.5)); }`, outcome: runtime.OutOfMemory, status: 500, detail: "memory"},
		{name: "memory bomb caught", code: `module.exports = async () => { const a = []; try { for (;;) a.push('x'.repeat(1e6) + a.length); } catch (e) { return { raw: String(e) }; } }`, outcome: runtime.OutOfMemory, status: 500, detail: "memory"},
		{name: "100 MB string", code: `module.exports = async () => ({ raw: 'x'.repeat(100 * 1024 * 1024) })`, outcome: runtime.OutOfMemory, status: 500, detail: "memory"},
		// Cases that must succeed get a generous timeout: they test a memory tier or the
		// log cap, and first-touch page faults on a fresh VM make their speed vary widely.
		{name: "100 MB string on xlarge", code: `module.exports = async () => ({ raw: 'x'.repeat(100 * 1024 * 1024).length })`, outcome: runtime.OK, status: 200, detail: "104857600", tier: runtime.XLarge, timeout: 30 * time.Second},
		{name: "result over the cap", code: `module.exports = async () => ({ raw: 'x'.repeat(8 * 1024 * 1024) })`, outcome: runtime.Thrown, status: 500, detail: "over the limit", tier: runtime.XLarge},
		{name: "two-byte 100 MB string", code: `module.exports = async () => ({ raw: '\u00e9\u4e2d'.repeat(50 * 1024 * 1024).length })`, outcome: runtime.OutOfMemory, status: 500, detail: "memory"},
		{name: "typed array bomb", code: `module.exports = async () => { const a = []; for (;;) a.push(new Uint8Array(16 << 20)); }`, outcome: runtime.OutOfMemory, status: 500, detail: "memory"},
		{name: "unbounded recursion", code: `module.exports = async () => { const f = (n) => f(n + 1) + 1; return f(0); }`, outcome: runtime.Thrown, status: 500, detail: "stack"},
		// QuickJS-NG's JSON.stringify is quadratic in depth and never reaches the
		// interrupt handler; the engine's stack limit bounds the depth (about 2 s; the
		// timeout leaves room for a machine loaded to a third of its speed).
		{name: "deep JSON.stringify", code: `module.exports = async () => { let o = {}; for (let i = 0; i < 30000; i++) o = { o }; return { raw: JSON.stringify(o).length }; }`, outcome: runtime.Thrown, status: 500, detail: "stack", timeout: 20 * time.Second},
		// Under a shorter timeout the invocation ends as a timeout once the builtin
		// returns (the worker answers its caller on time: see scheduler).
		{name: "deep JSON.stringify past the timeout", code: `module.exports = async () => { let o = {}; for (let i = 0; i < 30000; i++) o = { o }; return { raw: JSON.stringify(o).length }; }`, outcome: runtime.Timeout, status: 500, detail: "timeout", timeout: time.Second, late: true},
		{name: "deep JSON.parse", code: `module.exports = async () => ({ raw: JSON.parse('['.repeat(200000) + ']'.repeat(200000)).length })`, outcome: runtime.Thrown, status: 500, detail: "stack"},
		{name: "console flood", code: `module.exports = async () => { for (let i = 0; i < 5e4; i++) console.log('flood line ' + i); return { raw: 'done' }; }`, outcome: runtime.OK, status: 200, detail: "done", timeout: 30 * time.Second},
		{name: "promise never settles", code: `module.exports = () => new Promise(() => {})`, outcome: runtime.Thrown, status: 500, detail: "never returned"},
		{name: "require fs", code: `module.exports = async () => require('fs').readFileSync('/etc/passwd', 'utf8')`, outcome: runtime.Thrown, status: 500, detail: "not available in reactors"},
		{name: "require child_process", code: `module.exports = async () => require('node:child_process').execSync('id')`, outcome: runtime.Thrown, status: 500, detail: "not available in reactors"},
		{name: "process.env is empty", code: `module.exports = async () => ({ raw: Object.keys(process.env).length })`, outcome: runtime.OK, status: 200, detail: "0"},
		{name: "no std or os module", code: `module.exports = async () => ({ raw: [typeof std, typeof os, typeof scriptArgs, typeof __host, typeof WebAssembly].join() })`, outcome: runtime.OK, status: 200, detail: "undefined,undefined,undefined,undefined,undefined"},
		{name: "process.exit", code: `module.exports = async () => { process.exit(1); }`, outcome: runtime.Thrown, status: 500},
		{name: "import() of a file", code: `module.exports = async () => { await import('/etc/passwd'); }`, outcome: runtime.Thrown, status: 500},
		{name: "fetch without egress", code: `module.exports = async () => { await fetch('http://169.254.169.254/latest/meta-data/'); }`, outcome: runtime.Thrown, status: 500, detail: "not available"},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := runtime.TierLimits(tc.tier)
			if err != nil {
				t.Fatal(err)
			}
			l.Timeout = limit
			if tc.timeout > 0 {
				l.Timeout = tc.timeout
			}
			r := invoke(t, "node-bt", tc.code, `{}`, l)
			elapsed := r.Duration
			if r.Outcome != tc.outcome || r.Status != tc.status {
				t.Fatalf("outcome %s status %d, want %s %d: %s", r.Outcome, r.Status, tc.outcome, tc.status, r.Body)
			}
			if tc.detail != "" && !strings.Contains(strings.ToLower(string(r.Body)), tc.detail) {
				t.Errorf("body %s does not mention %q", r.Body, tc.detail)
			}
			if tc.name == "console flood" && (!r.LogsTruncated || len(r.Logs) == 0) {
				t.Errorf("console flood: %d lines kept, truncated=%v", len(r.Logs), r.LogsTruncated)
			}
			// The time bound is the limit under test only where the outcome is a timeout.
			switch max := l.Timeout + l.Timeout/10; {
			case tc.outcome != runtime.Timeout:
			case tc.late && elapsed > 15*time.Second:
				t.Errorf("native builtin held the engine %v; the stack limit should bound it (2–5 s here)", elapsed)
			case !tc.late && elapsed > max:
				t.Errorf("took %v, over the limit %v + 10%%", elapsed, l.Timeout)
			}
			// The engine keeps serving.
			h := invoke(t, "node-bt", `module.exports = async (req) => ({ raw: req.args.n * 2 })`, `{"n": 21}`, l)
			if h.Status != 200 || !strings.Contains(string(h.Body), "42") {
				t.Fatalf("the next invocation failed: %d %s", h.Status, h.Body)
			}
		})
	}
	_ = ctx
}

// TestDiscardedAfterFatal checks that timeouts and memory exhaustion discard the
// instance, while thrown errors keep it.
func TestDiscardedAfterFatal(t *testing.T) {
	ctx := context.Background()
	code := `module.exports = async (req) => { if (req.args.mode === 'loop') while (true) {}; if (req.args.mode === 'oom') { const a = []; for (;;) a.push('y'.repeat(1 << 20) + a.length); } if (req.args.mode === 'throw') throw new Error('x'); return { raw: 'ok' }; }`
	snap, err := testEngine.Load(ctx, runtime.Bundle{Code: []byte(code)})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	l := standard(t)
	l.Timeout = time.Second
	for _, tc := range []struct {
		mode    string
		discard bool
	}{{"throw", false}, {"ok", false}, {"loop", true}, {"oom", true}} {
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"mode":"` + tc.mode + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if in.Closed() != tc.discard {
			t.Errorf("%s: closed=%v, want %v (%s)", tc.mode, in.Closed(), tc.discard, r.Body)
		}
		if tc.discard {
			if _, err := in.Invoke(ctx, runtime.Event{}); err != runtime.ErrClosed {
				t.Errorf("%s: invoke on a discarded instance: %v", tc.mode, err)
			}
		}
		in.Close(ctx)
	}
}

// TestTamperingDoesNotCross shows that globals and host objects a reactor overwrites
// are gone for the next invocation once the instance is reset, and that tampering
// cannot break result reporting within the same invocation.
func TestTamperingDoesNotCross(t *testing.T) {
	ctx := context.Background()
	code := `module.exports = async (req) => {
  if (req.args.tamper) {
    JSON.stringify = () => '"hijacked"';
    JSON.parse = () => ({ hijacked: true });
    Promise.prototype.then = function () { throw new Error('no then'); };
    globalThis.console = null;
    Object.prototype.polluted = 'yes';
    Array.prototype.push = () => 0;
    Math.random = () => 4;
    try { globalThis.__reactor = null; } catch (e) {}
    return { raw: 'tampered' };
  }
  return { raw: { polluted: ({}).polluted || null, random: Math.random() < 1, json: JSON.stringify({ a: 1 }) } };
};`
	in := newInstance(t, "", code, standard(t))
	r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"tamper": true}`)})
	if err != nil || r.Status != 200 || !strings.Contains(string(r.Body), "tampered") {
		t.Fatalf("tampering invocation: %v %d %s", err, r.Status, r.Body)
	}
	if err := in.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	r, err = in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	jsonEq(t, r.Body, `{"tokens": null, "raw": {"polluted": null, "random": true, "json": "{\"a\":1}"}}`)
}
