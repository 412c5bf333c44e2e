package runtime_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/runtime"
)

// TestFetch runs fetch and node-fetch from reactor code against a local server, with
// the egress allowance on, and shows the refusal with it off.
func TestFetch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
		w.WriteHeader(201)
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "body": string(body), "path": r.URL.Path})
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, allow := range []bool{true, false} {
		eng, err := runtime.NewEngine(ctx, runtime.Config{Async: map[string]runtime.AsyncHandler{
			"fetch": egress.New(egress.Policy{AllowPrivate: allow}, egress.Options{}).Handle}})
		if err != nil {
			t.Fatal(err)
		}
		code := `module.exports = async (req) => {
  const r = await fetch(req.args.url + '/a', { method: 'POST', body: JSON.stringify({ card: 'last4' }), headers: { Authorization: 'Bearer t' } });
  const j = await r.json();
  const nf = require('node-fetch');
  const r2 = await nf(req.args.url + '/b');
  return { raw: { status: r.status, auth: r.headers.get('x-seen-auth'), echoed: j, second: (await r2.json()).path } };
};`
		snap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(code)})
		if err != nil {
			t.Fatal(err)
		}
		l, _ := runtime.TierLimits(runtime.Standard)
		in, err := snap.NewInstance(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"url":"` + srv.URL + `"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if allow {
			jsonEq(t, r.Body, `{"tokens": null, "raw": {"status": 201, "auth": "Bearer t", "echoed": {"method": "POST", "body": "{\"card\":\"last4\"}", "path": "/a"}, "second": "/b"}}`)
		} else if r.Status != 500 || !strings.Contains(string(r.Body), "loopback") {
			t.Errorf("egress to loopback was not refused: %d %s", r.Status, r.Body)
		}
		in.Close(ctx)
		eng.Close(ctx)
	}
}

// TestFetchCountsAgainstTimeout: time waiting on fetch is the reactor's time.
func TestFetchCountsAgainstTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(1500 * time.Millisecond) }))
	defer srv.Close()
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.Config{Async: map[string]runtime.AsyncHandler{
		"fetch": egress.New(egress.Policy{AllowPrivate: true}, egress.Options{}).Handle}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	snap, err := eng.Load(ctx, runtime.Bundle{Code: []byte(`module.exports = async (req) => ({ raw: (await fetch(req.args.url)).status })`)})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := runtime.TierLimits(runtime.Standard)
	l.Timeout = time.Second
	in, _ := snap.NewInstance(ctx, l)
	defer in.Close(ctx)
	r, _ := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(`{"url":"` + srv.URL + `"}`)})
	if r.Outcome != runtime.Timeout || r.Duration > 1100*time.Millisecond {
		t.Errorf("outcome %s after %v: %s", r.Outcome, r.Duration, r.Body)
	}
}
