package runtime_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/reactord/reactord/egress"
	"github.com/reactord/reactord/runtime"
)

// httpTestServer answers what the http parity cases ask: an echo of the request, a
// redirect, repeated headers, a large body, a slow answer.
func httpTestServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/echo", http.StatusFound)
			return
		case "/cookies":
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			w.Header().Add("X-Multi", "one")
			w.Header().Add("X-Multi", "two")
			w.WriteHeader(204)
			return
		case "/large":
			w.Header().Set("Content-Type", "text/plain")
			for i := 0; i < 5000; i++ {
				io.WriteString(w, "0123456789abcdefghijklmnopqrstuvwxyz\n")
			}
			return
		case "/slow":
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
			w.Write([]byte("late"))
			return
		case "/missing":
			http.Error(w, "nothing here", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"method": r.Method, "path": r.URL.RequestURI(), "body": string(body),
			"auth": r.Header.Get("Authorization"), "custom": r.Header.Get("X-Custom"), "type": r.Header.Get("Content-Type")})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestHTTPClientParity runs Node's http client API against a local server in real
// Node and on both images (over the host fetch with the egress allowance on): the
// responses, headers, streams, events, errors and timeouts must match.
func TestHTTPClientParity(t *testing.T) {
	srv := httpTestServer(t)
	ctx := context.Background()
	eng, err := runtime.NewEngine(ctx, runtime.Config{Async: map[string]runtime.AsyncHandler{
		"fetch": egress.New(egress.Policy{AllowPrivate: true}, egress.Options{}).Handle}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	const helpers = `const http = require('http');
  const send = (url, opts, body) => new Promise((resolve, reject) => {
    const handle = (res) => { const chunks = []; res.on('data', (c) => chunks.push(c)); res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, message: res.statusMessage, type: res.headers['content-type'], body: Buffer.concat(chunks).toString() })); };
    const req = typeof url === 'object' && !(url instanceof URL) ? http.request({ ...url, ...opts }, handle) : http.request(url, opts || {}, handle);
    req.on('error', reject); if (body !== undefined) req.write(body); req.end(); });
  const json = (r) => ({ ...r, body: JSON.parse(r.body) });`
	cases := []parityCase{
		{"get and post", helpers + `
  return [json(await send(args.url + '/echo?x=1')), json(await send(args.url + '/echo', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Custom': 'c' } }, JSON.stringify({ a: 1 }))),
    json(await send({ hostname: '127.0.0.1', port: Number(new URL(args.url).port), path: '/echo/p?q=2', method: 'put', auth: 'user:pw' }, undefined, Buffer.from('bin'))),
    json(await send(new URL(args.url + '/echo'), { method: 'DELETE' }))]`},
		{"http.get and status", helpers + `
  const viaGet = await new Promise((resolve) => http.get(args.url + '/missing', (res) => { let s = ''; res.setEncoding('utf8'); res.on('data', (c) => { s += c; }); res.on('end', () => resolve([res.statusCode, res.statusMessage, s])); }));
  const redirect = await send(args.url + '/redirect');
  return [viaGet, redirect.status, redirect.body]`},
		{"headers", `const http = require('http');
  const res = await new Promise((resolve, reject) => http.get(args.url + '/cookies', resolve).on('error', reject)); res.resume();
  return [res.statusCode, res.headers['set-cookie'], res.headers['x-multi'], res.headersDistinct['x-multi'], res.httpVersion, typeof res.rawHeaders.length]`},
		{"stream reading", `const http = require('http'); const { pipeline, Writable } = require('stream');
  const res = await new Promise((resolve, reject) => http.get(args.url + '/large', resolve).on('error', reject));
  let n = 0, chunks = 0; await new Promise((resolve, reject) => pipeline(res, new Writable({ write(c, e, cb) { n += c.length; chunks++; cb(); } }), (err) => err ? reject(err) : resolve()));
  let m = 0; const res2 = await new Promise((resolve) => http.get(args.url + '/large', resolve)); for await (const c of res2) m += c.length;
  return [n, m, chunks > 0, res.complete]`},
		{"events order", `const http = require('http'); const order = [];
  await new Promise((resolve) => { const req = http.request(args.url + '/echo', { method: 'POST' }, (res) => { order.push('response'); res.on('data', () => {}); res.on('end', () => order.push('end')); });
    req.on('socket', () => order.push('socket')); req.on('finish', () => order.push('finish')); req.on('close', () => { order.push('close'); resolve(); }); req.end('x'); });
  return order`},
		{"errors", `const http = require('http'); const e = (f) => { try { f(); return 'no error'; } catch (err) { return [err.name, err.code, err.message]; } };
  const refused = await new Promise((resolve) => http.get('http://127.0.0.1:1/', () => resolve('answered')).on('error', (err) => resolve([err.code, err.message, err.syscall, err.address, err.port])));
  return [refused, e(() => http.request('https://example.com/')), e(() => http.request({ path: '/a b' })), e(() => http.request(args.url).setHeader('bad header', 'x')),
    e(() => http.request(args.url).setHeader('x', 'a\nb')), e(() => http.request({ method: 'G ET' })), e(() => require('https').request('http://example.com/'))]`},
		{"timeout and abort", `const http = require('http');
  const timedOut = await new Promise((resolve) => { const req = http.get(args.url + '/slow', () => resolve('answered')); req.setTimeout(50, () => { req.destroy(new Error('gave up')); }); req.on('error', (err) => resolve(['error', err.message])); });
  const viaOption = await new Promise((resolve) => { const req = http.get(args.url + '/slow', { timeout: 50 }, () => resolve('answered')); req.on('timeout', () => { req.destroy(); }); req.on('error', (err) => resolve(['error', err.code, err.message])); });
  const ac = new AbortController(); const aborted = await new Promise((resolve) => { const req = http.get(args.url + '/slow', { signal: ac.signal }, () => resolve('answered')); req.on('error', (err) => resolve([err.name, err.code, err.message])); setTimeout(() => ac.abort(), 20); });
  const events = []; await new Promise((resolve) => { const req = http.get(args.url + '/slow'); req.on('abort', () => events.push('abort')); req.on('error', (err) => events.push('error ' + err.message)); req.on('close', () => { events.push('close'); resolve(); }); setTimeout(() => req.abort(), 20); });
  return [timedOut, viaOption, aborted, events]`},
		{"agent and module surface", `const http = require('http'), https = require('https'); const a = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const r = await new Promise((resolve) => http.get(args.url + '/echo', { agent: a }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); }));
  return [r, a.keepAlive, a.maxSockets, http.globalAgent instanceof http.Agent, https.globalAgent.defaultPort, new https.Agent().protocol, http.STATUS_CODES[418], http.METHODS.includes('PATCH'),
    typeof http.request, typeof https.get, typeof http.IncomingMessage, typeof http.ClientRequest, http.maxHeaderSize]`},
	}
	args, _ := json.Marshal(map[string]string{"url": srv.URL})
	for _, image := range []string{"node22", "node-bt"} {
		runParityOn(t, eng, image, string(args), cases)
	}
}
