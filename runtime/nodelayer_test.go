package runtime_test

import (
	"encoding/json"
	"testing"
)

// TestNodeLayer checks every item the images promise, through the real runtime, on
// both images. Each case is an expression (inside an async function) whose value
// must equal want; expected values are what Node.js 22 gives.
func TestNodeLayer(t *testing.T) {
	tests := []struct {
		name, expr string
		want       any
	}{
		{"console exists", `typeof console.log + typeof console.error`, "functionfunction"},
		{"setTimeout", `await new Promise(r => setTimeout(() => r('fired'), 5))`, "fired"},
		{"setInterval and clearInterval", `await new Promise(r => { let n = 0; const id = setInterval(() => { if (++n === 3) { clearInterval(id); r(n); } }, 1); })`, 3.0},
		{"setImmediate", `await new Promise(r => setImmediate(r, 'imm'))`, "imm"},
		{"clearTimeout", `await new Promise(r => { const id = setTimeout(() => r('bad'), 1); clearTimeout(id); setTimeout(() => r('ok'), 5); })`, "ok"},
		{"ordering", `await new Promise(r => { const o = []; setTimeout(() => o.push('timeout'), 0); setImmediate(() => { o.push('immediate'); setTimeout(() => r(o.join()), 2); }); queueMicrotask(() => o.push('micro')); process.nextTick(() => o.push('tick')); })`, "tick,micro,immediate,timeout"}, // as in a Node I/O callback: immediates before timers
		{"structuredClone", `(() => { const a = { d: new Date(0), m: new Map([[1, 2]]) }; const b = structuredClone(a); return b.d.getTime() === 0 && b.m.get(1) === 2 && b !== a; })()`, true},
		{"TextEncoder/TextDecoder", `new TextDecoder().decode(new TextEncoder().encode('héllo €'))`, "héllo €"},
		{"URL", `(() => { const u = new URL('https://user@example.com:8443/a/../b?x=1&y=2#h'); return [u.hostname, u.port, u.pathname, u.searchParams.get('y'), u.hash].join('|'); })()`, "example.com|8443|/b|2|#h"},
		{"URLSearchParams", `new URLSearchParams({ a: '1 2', b: 'é' }).toString()`, "a=1+2&b=%C3%A9"},
		{"atob/btoa", `atob(btoa('hello'))`, "hello"},
		{"crypto.getRandomValues", `crypto.getRandomValues(new Uint8Array(16)).length`, 16.0},
		{"crypto.randomUUID", `/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID())`, true},
		{"Buffer", `Buffer.from('hello').toString('base64') + Buffer.from('68656c6c6f', 'hex').toString()`, "aGVsbG8=hello"},
		{"process.env empty", `JSON.stringify(process.env)`, "{}"},
		{"process.nextTick", `await new Promise(r => process.nextTick(r, 'nt'))`, "nt"},
		{"require buffer", `require('buffer').Buffer === Buffer`, true},
		{"sha256", `require('crypto').createHash('sha256').update('abc').digest('hex')`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"md5", `require('node:crypto').createHash('md5').update('abc').digest('hex')`, "900150983cd24fb0d6963f7d28e17f72"},
		{"sha1 base64", `require('crypto').createHash('sha1').update(Buffer.from('abc')).digest('base64')`, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="},
		{"sha512", `require('crypto').createHash('sha512').update('abc').digest('hex').slice(0, 16)`, "ddaf35a193617aba"},
		{"hmac sha256", `require('crypto').createHmac('sha256', 'key').update('The quick brown fox jumps over the lazy dog').digest('hex')`, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		{"randomBytes", `require('crypto').randomBytes(24).length`, 24.0},
		{"timingSafeEqual", `require('crypto').timingSafeEqual(Buffer.from('a'), Buffer.from('a'))`, true},
		{"events", `(() => { const E = require('events'); const e = new E(); let v; e.once('x', (a) => { v = a; }); e.emit('x', 7); return v; })()`, 7.0},
		{"stream", `await new Promise((r) => { const { Readable, Writable } = require('stream'); const out = []; Readable.from(['a', 'b', 'c']).pipe(new Writable({ write(c, e, cb) { out.push(String(c)); cb(); }, final(cb) { r(out.join('')); cb(); } })); })`, "abc"},
		{"util.format", `require('util').format('%s=%d %j', 'a', 42, { b: 1 })`, `a=42 {"b":1}`},
		{"util.promisify", `await require('util').promisify((x, cb) => cb(null, x * 2))(21)`, 42.0},
		{"url", `require('url').parse('http://a.com/p?q=1').pathname`, "/p"},
		{"querystring", `require('querystring').stringify({ a: [1, 2], b: 'x y' })`, "a=1&a=2&b=x%20y"},
		{"string_decoder", `new (require('string_decoder').StringDecoder)('utf8').write(Buffer.from([0xe2, 0x82, 0xac]))`, "€"},
		{"path", `require('path').join('/a/b', '../c', 'd.txt')`, "/a/c/d.txt"},
		{"assert", `(() => { try { require('assert').deepStrictEqual({ a: 1 }, { a: 2 }); return 'no'; } catch (e) { return e.name; } })()`, "AssertionError"},
		{"errors module", `(() => { const E = require('@basis-theory/basis-theory-reactor-formulas-sdk-js'); return [new E.BadRequestError('x').status, new E.RateLimitError('x').status, typeof E.CustomHttpResponseError].join(); })()`, "400,429,function"},
		{"fs unavailable", `(() => { try { require('fs'); } catch (e) { return e.message; } })()`, "Module 'fs' is not available in reactors"},
		{"net sockets unavailable", `(() => { try { require('node:net').connect(80, 'example.com'); } catch (e) { return e.code; } })()`, "ERR_NOT_AVAILABLE_IN_REACTORS"},
		{"tls sockets unavailable", `(() => { try { require('tls').connect(443, 'example.com'); } catch (e) { return e.message; } })()`, "tls.connect is not available in reactors"},
		{"http servers unavailable", `(() => { try { require('http').createServer(); } catch (e) { return [e.code, e.message].join(); } })()`, "ERR_NOT_AVAILABLE_IN_REACTORS,http.createServer is not available in reactors"},
		{"https servers unavailable", `(() => { try { require('node:https').createServer(); } catch (e) { return e.code; } })()`, "ERR_NOT_AVAILABLE_IN_REACTORS"},
		{"net.isIP", `[require('net').isIP('1.2.3.4'), require('net').isIP('::1'), require('net').isIP('fe80::1%eth0'), require('net').isIP('1.2.3'), require('net').isIPv6('1::2::3')].join()`, "4,6,6,0,false"},
		{"unknown module", `(() => { try { require('nope-not-here'); } catch (e) { return e.code; } })()`, "MODULE_NOT_FOUND"},
	}
	for _, image := range []string{"node-bt", "node22"} {
		for _, tc := range tests {
			t.Run(image+"/"+tc.name, func(t *testing.T) {
				code := `module.exports = async () => ({ raw: await (async () => ` + tc.expr + `)() });`
				if image == "node22" {
					code = `module.exports = async () => ({ res: { body: await (async () => ` + tc.expr + `)() } });`
				}
				r := invoke(t, image, code, `{}`, standard(t))
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				var out struct {
					Raw  any `json:"raw"`
					Body any `json:"body"`
				}
				json.Unmarshal(r.Body, &out)
				got := out.Raw
				if image == "node22" {
					got = out.Body
				}
				if got != tc.want {
					t.Errorf("got %#v, want %#v", got, tc.want)
				}
			})
		}
	}
}

// TestCuratedPackages checks node-bt's curated packages and their absence on node22.
func TestCuratedPackages(t *testing.T) {
	code := `module.exports = async () => {
  const MaskData = require('maskdata'), _ = require('lodash'), { v4 } = require('uuid'), dayjs = require('dayjs'), fetch = require('node-fetch');
  return { raw: [MaskData.maskCard('4242424242424242', { maskWith: '*', unmaskedStartDigits: 0, unmaskedEndDigits: 4 }),
    _.chunk([1, 2, 3], 2).length, /^[0-9a-f-]{36}$/.test(v4()), dayjs('2024-01-02T00:00:00Z').format('YYYY'), typeof fetch] };
};`
	r := invoke(t, "node-bt", code, `{}`, standard(t))
	jsonEq(t, r.Body, `{"tokens": null, "raw": ["************4242", 2, true, "2024", "function"]}`)
	r = invoke(t, "node22", `module.exports = async () => { try { require('lodash'); return { raw: 'found' }; } catch (e) { return { raw: e.code }; } }`, `{}`, standard(t))
	jsonEq(t, r.Body, `{"tokens": null, "raw": "MODULE_NOT_FOUND"}`)
}
