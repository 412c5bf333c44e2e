package runtime_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reactord/reactord/internal/apierror"
	"github.com/reactord/reactord/runtime"
)

var testEngine *runtime.Engine

func TestMain(m *testing.M) {
	ctx := context.Background()
	dir, _ := os.UserCacheDir()
	var err error
	testEngine, err = runtime.NewEngine(ctx, runtime.Config{CacheDir: dir + "/reactord-test/wazero"})
	if err != nil {
		panic(err)
	}
	code := m.Run()
	testEngine.Close(ctx)
	os.Exit(code)
}

// newInstance loads code on image and starts an instance, both released at cleanup.
func newInstance(t *testing.T, image, code string, limits runtime.Limits) *runtime.Instance {
	t.Helper()
	ctx := context.Background()
	snap, err := testEngine.Load(ctx, runtime.Bundle{Image: image, Code: []byte(code)})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { snap.Close() })
	in, err := snap.NewInstance(ctx, limits)
	if err != nil {
		t.Fatalf("new instance: %v", err)
	}
	t.Cleanup(func() { in.Close(ctx) })
	return in
}

// invoke loads code on image and runs one invocation with args on a fresh instance.
func invoke(t *testing.T, image, code, args string, limits runtime.Limits) runtime.Response {
	t.Helper()
	resp, err := newInstance(t, image, code, limits).Invoke(context.Background(),
		runtime.Event{Args: json.RawMessage(args), Configuration: map[string]string{"KEY": "value"}})
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	return resp
}

func standard(t *testing.T) runtime.Limits {
	l, err := runtime.TierLimits(runtime.Standard)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// jsonEq compares two JSON texts structurally.
func jsonEq(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("body\n got %s\nwant %s", gb, wb)
	}
}

func TestContracts(t *testing.T) {
	tests := []struct {
		name, image, code, args string
		status                  int
		body                    string
		tokenize                string
	}{
		{
			name:  "node-bt raw",
			image: "node-bt",
			code:  `module.exports = async function (req) { return { raw: { sum: req.args.a + req.args.b, key: req.configuration.KEY, bt: req.bt } }; };`,
			args:  `{"a": 2, "b": 3}`, status: 200,
			body: `{"tokens": null, "raw": {"sum": 5, "key": "value", "bt": null}}`,
		},
		{
			name:  "node-bt default image",
			image: "",
			code:  `module.exports = (req) => ({ raw: req.args })`,
			args:  `[1, "two"]`, status: 200,
			body: `{"tokens": null, "raw": [1, "two"]}`,
		},
		{
			name:  "node-bt tokenize",
			image: "node-bt",
			code:  `module.exports = async (req) => ({ raw: { ok: true }, tokenize: { ssn: { type: "social_security_number", data: req.args.ssn } } })`,
			args:  `{"ssn": "123-45-6789"}`, status: 200,
			body:     `{"tokens": null, "raw": {"ok": true}}`,
			tokenize: `{"ssn": {"type": "social_security_number", "data": "123-45-6789"}}`,
		},
		{
			name:  "node22 res",
			image: "node22",
			code:  `module.exports = async function (event) { return { res: { statusCode: 201, headers: { "x-a": "1" }, body: { card: event.req.card, cfg: event.configuration.KEY } } }; };`,
			args:  `{"card": "4242"}`, status: 201,
			body: `{"body": {"card": "4242", "cfg": "value"}, "headers": {"x-a": "1"}}`,
		},
		{
			name:  "node22 res default status",
			image: "node22",
			code:  `module.exports = async () => ({ res: { body: "plain" } })`,
			args:  `{}`, status: 200,
			body: `{"body": "plain", "headers": null}`,
		},
		{
			name:  "node22 raw",
			image: "node22",
			code:  `module.exports = async (event) => ({ raw: { echo: event.req } })`,
			args:  `{"x": 1}`, status: 200,
			body: `{"tokens": null, "raw": {"echo": {"x": 1}}}`,
		},
		{
			name:  "exports.handler",
			image: "node22",
			code:  `exports.handler = async (event) => ({ raw: 1 })`,
			args:  `{}`, status: 200,
			body: `{"tokens": null, "raw": 1}`,
		},
		{
			name:  "returns nothing",
			image: "node-bt",
			code:  `module.exports = async () => {}`,
			args:  `{}`, status: 200,
			body: `{"tokens": null, "raw": null}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := invoke(t, tc.image, tc.code, tc.args, standard(t))
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			jsonEq(t, r.Body, tc.body)
			if tc.tokenize != "" {
				jsonEq(t, r.Tokenize, tc.tokenize)
			} else if r.Tokenize != nil {
				t.Errorf("unexpected tokenize %s", r.Tokenize)
			}
			if r.Outcome != runtime.OK {
				t.Errorf("outcome %s", r.Outcome)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	sdk := `const E = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');`
	tests := []struct {
		name, throw string
		status      int
		title, typ  string
		detail      string
	}{
		{"BadRequestError", `throw new E.BadRequestError('bad card')`, 400, "Bad Request", "bad_request", "bad card"},
		{"AuthenticationError", `throw new E.AuthenticationError('no key')`, 401, "Authentication Error", "authentication_error", "no key"},
		{"InvalidPaymentMethodError", `throw new E.InvalidPaymentMethodError('expired')`, 402, "Invalid Payment Method", "invalid_payment_method", "expired"},
		{"AuthorizationError", `throw new E.AuthorizationError('denied')`, 403, "Authorization Error", "authorization_error", "denied"},
		{"RateLimitError", `throw new E.RateLimitError('slow down')`, 429, "Rate Limit Error", "rate_limit_error", "slow down"},
		{"ReactorRuntimeError", `throw new E.ReactorRuntimeError('boom')`, 500, "Reactor Runtime Error", "reactor_runtime_error", "boom"},
		{"ServiceUnavailableError", `throw new E.ServiceUnavailableError('down')`, 503, "Service Unavailable", "service_unavailable", "down"},
		{"plain object with status", `throw Object.assign(new Error('vendor said no'), { status: 422 })`, 422, "Unprocessable Entity", "unprocessable_entity", "vendor said no"},
		{"unlisted status", `throw Object.assign(new Error('teapot'), { status: 418 })`, 500, "Reactor Runtime Error", "reactor_runtime_error", "teapot"},
		{"TypeError", `null.x`, 500, "Reactor Runtime Error", "reactor_runtime_error", "cannot read property 'x' of null"},
		{"thrown string", `throw 'just a string'`, 500, "Reactor Runtime Error", "reactor_runtime_error", "just a string"},
		{"rejected promise", `await Promise.reject(new Error('async fail'))`, 500, "Reactor Runtime Error", "reactor_runtime_error", "async fail"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := sdk + `module.exports = async function () { ` + tc.throw + ` };`
			r := invoke(t, "node-bt", code, `{}`, standard(t))
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			var e apierror.Error
			if err := json.Unmarshal(r.Body, &e); err != nil {
				t.Fatal(err)
			}
			if e.Title != tc.title || e.Type != tc.typ || e.Status != tc.status || !strings.Contains(strings.ToLower(e.Detail), strings.ToLower(tc.detail)) {
				t.Errorf("error %+v, want title %q type %q detail ~%q", e, tc.title, tc.typ, tc.detail)
			}
			if len(e.Errors) == 0 {
				t.Error("errors is empty")
			}
		})
	}
}

func TestErrorWithFieldErrors(t *testing.T) {
	code := `const { BadRequestError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async () => { throw new BadRequestError({ card: ['is expired'] }); };`
	r := invoke(t, "node-bt", code, `{}`, standard(t))
	var e apierror.Error
	json.Unmarshal(r.Body, &e)
	if r.Status != 400 || len(e.Errors["card"]) != 1 || e.Errors["card"][0] != "is expired" {
		t.Errorf("status %d body %s", r.Status, r.Body)
	}
}

func TestCustomHttpResponseError(t *testing.T) {
	code := `const { CustomHttpResponseError } = require('@basis-theory/basis-theory-reactor-formulas-sdk-js');
module.exports = async () => { throw new CustomHttpResponseError({ status: 418, headers: { 'X-Vendor': 'teapot', 'Content-Type': 'application/json' }, body: { brewed: false } }); };`
	for _, image := range []string{"node-bt", "node22"} {
		r := invoke(t, image, code, `{}`, standard(t))
		if r.Status != 418 || r.Headers["X-Vendor"] != "teapot" || r.ContentType != "application/json" {
			t.Errorf("%s: status %d headers %v type %q", image, r.Status, r.Headers, r.ContentType)
		}
		jsonEq(t, r.Body, `{"brewed": false}`)
	}
}

func TestCodeErrors(t *testing.T) {
	for name, code := range map[string]string{
		"no export":      `const x = 1;`,
		"exports object": `module.exports = { notAFunction: true };`,
		"syntax error":   `module.exports = async function ( {`,
		"throws at load": `throw new Error('bad module');`,
		"unknown module": `const x = require('left-pad-not-bundled'); module.exports = () => x;`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := testEngine.Load(context.Background(), runtime.Bundle{Image: "node-bt", Code: []byte(code)})
			var ce *runtime.CodeError
			if !errors.As(err, &ce) || ce.Message == "" {
				t.Fatalf("err = %v, want a CodeError", err)
			}
			t.Log(ce.Message)
		})
	}
	_, err := testEngine.Load(context.Background(), runtime.Bundle{Image: "node99", Code: []byte(`module.exports = () => 1`)})
	if err == nil || !strings.Contains(err.Error(), "node-bt") {
		t.Errorf("unknown image error %v does not list the known images", err)
	}
}

func TestConsoleCaptured(t *testing.T) {
	code := `module.exports = async () => { console.log('hello', 42, { a: 1 }); console.error('bad'); console.warn('careful'); return { raw: 1 }; };`
	r := invoke(t, "node-bt", code, `{}`, standard(t))
	if len(r.Logs) != 3 {
		t.Fatalf("logs %+v", r.Logs)
	}
	if r.Logs[0].Level != "log" || !strings.Contains(r.Logs[0].Message, "hello 42") || r.Logs[1].Level != "error" || r.Logs[2].Level != "warn" {
		t.Errorf("logs %+v", r.Logs)
	}
	if strings.Contains(string(r.Body), "hello") {
		t.Error("console output leaked into the response")
	}
}

func TestResultAndArgsCaps(t *testing.T) {
	l := standard(t)
	l.MaxResult = 1000
	l.MaxArgs = 2000
	r := invoke(t, "node-bt", `module.exports = async () => ({ raw: 'x'.repeat(5000) })`, `{}`, l)
	if r.Status != 500 || !strings.Contains(string(r.Body), "over the limit") {
		t.Errorf("big result: %d %s", r.Status, r.Body)
	}
	big, _ := json.Marshal(map[string]string{"s": strings.Repeat("y", 3000)})
	r = invoke(t, "node-bt", `module.exports = async (req) => ({ raw: req.args.s.length })`, string(big), l)
	if r.Status != 413 || r.Outcome != runtime.Rejected {
		t.Errorf("big args: %d %s", r.Status, r.Body)
	}
}

func TestResetAndWarmReuse(t *testing.T) {
	ctx := context.Background()
	code := `let count = 0; globalThis.leak = globalThis.leak || [];
module.exports = async () => { count++; leak.push(count); return { raw: { count, leak: leak.length, r: Math.random() } }; };`
	in := newInstance(t, "", code, standard(t))
	type raw struct {
		Count, Leak int
		R           float64
	}
	get := func() raw {
		r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{}`)})
		if err != nil || r.Status != 200 {
			t.Fatalf("invoke: %v %d %s", err, r.Status, r.Body)
		}
		var out struct{ Raw raw }
		json.Unmarshal(r.Body, &out)
		return out.Raw
	}
	first, second := get(), get()
	if first.Count != 1 || second.Count != 2 {
		t.Errorf("warm reuse: counts %d, %d, want 1, 2", first.Count, second.Count)
	}
	if err := in.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	third := get()
	if third.Count != 1 || third.Leak != 1 {
		t.Errorf("after reset: count %d leak %d, want 1, 1", third.Count, third.Leak)
	}
	if third.R == first.R {
		t.Error("Math.random repeated its sequence after a reset: it is not reseeded")
	}
}

func TestCopyMemoryFallback(t *testing.T) {
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.Config{CopyMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	snap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(`let n = 0; module.exports = async (req) => ({ raw: { n: ++n, v: req.args.v } })`)})
	if err != nil {
		t.Fatal(err)
	}
	in, err := snap.NewInstance(ctx, standard(t))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(ctx)
	for i, want := range []string{`{"tokens":null,"raw":{"n":1,"v":7}}`, `{"tokens":null,"raw":{"n":2,"v":7}}`, "reset", `{"tokens":null,"raw":{"n":1,"v":7}}`} {
		if want == "reset" {
			if err := in.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"v":7}`)})
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Body) != want {
			t.Errorf("step %d: %s, want %s", i, r.Body, want)
		}
	}
}

func TestTimeoutIsMeasuredFromTheLimit(t *testing.T) {
	l := standard(t)
	l.Timeout = time.Second
	start := time.Now()
	r := invoke(t, "node-bt", `module.exports = async () => { while (true) {} }`, `{}`, l)
	if r.Outcome != runtime.Timeout {
		t.Fatalf("outcome %s: %s", r.Outcome, r.Body)
	}
	if !strings.Contains(string(r.Body), "1s") {
		t.Errorf("timeout detail does not name the limit: %s", r.Body)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("stopped after %v, before the limit", el)
	}
}

// TestLoadIsSideEffectFree: code that calls fetch at module level cannot reach the
// network while it is snapshotted; the same fetch in the handler does.
func TestLoadIsSideEffectFree(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int32
	eng, err := runtime.NewEngine(ctx, runtime.Config{Async: map[string]runtime.AsyncHandler{
		"fetch": func(ctx context.Context, arg []byte) (any, error) {
			calls.Add(1)
			return map[string]any{"status": 204, "headers": map[string]string{}, "body_base64": ""}, nil
		}}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	snap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(`let atLoad; fetch('https://example.com/').then(() => { atLoad = 'fetched'; }, (e) => { atLoad = e.message; });
module.exports = async () => ({ raw: { atLoad: atLoad || 'pending', now: (await fetch('https://example.com/')).status } });`)})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if n := calls.Load(); n != 0 {
		t.Fatalf("the load called fetch %d times", n)
	}
	in, _ := snap.NewInstance(ctx, standard(t))
	defer in.Close(ctx)
	r, _ := in.Invoke(ctx, runtime.Event{})
	if calls.Load() != 1 || !strings.Contains(string(r.Body), `"now":204`) || !strings.Contains(string(r.Body), "cannot run while the reactor code loads") {
		t.Errorf("calls %d, body %s", calls.Load(), r.Body)
	}
}
