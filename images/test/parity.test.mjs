// Parity: each snippet runs as an async function body both in real Node (with Node's own
// modules) and in the node22 layer under QuickJS-NG; the JSON of the results must match.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Layer, value } from './harness.mjs';

const nodeRequire = createRequire(import.meta.url);
const AsyncFunction = (async () => {}).constructor;

async function inNode(body) {
  const fn = new AsyncFunction('require', 'Buffer', body);
  return JSON.parse(JSON.stringify(await fn(nodeRequire, Buffer)));
}

const layer = new Layer('node22');
after(() => layer.dispose());

const cases = {
  // util.format and util.inspect (console output is util.format)
  'format placeholders': `const u = require('util'); return [
    u.format('%s %d %i %f %j %%', 'a', 42.5, 42.5, '1.5', {x: 1}),
    u.format('%s', {a: {b: {c: 1}}}), u.format('%s', [1, [2, [3]]]), u.format('%d', '0x10'), u.format('%s', 12n), u.format('%d', 12n),
    u.format('%o', {y: [1]}), u.format('%O', {y: [1]}), u.format('%c%s', 'color: red', 'x'), u.format('no args %s'),
    u.format('extra', 1, 'two', {three: 3}), u.format(1, 2), u.format('%s', null, undefined), u.format('%s', Symbol('s')),
    u.format('%j', (() => { const o = {}; o.o = o; return o; })()), u.format('%s', -0), u.format('%i', 'abc')]`,
  'inspect primitives': `const u = require('util'); return [null, undefined, true, 1, -0, 1.5, NaN, 12n, Symbol('x'), 'str', "it's", 'say "hi" it\\'s', 'a\\nb', '\\x00\\x7f', '\\ud800'].map((v) => u.inspect(v))`,
  'inspect objects': `const u = require('util'); return [
    {a: 1, b: 'x', c: [1, 2, {d: 3}]}, {a: {b: {c: {d: 1}}}}, {'a-b': 1, 2: 'two', valid_id: true}, [], {}, [[]], [{}],
    [1, 2, 3, 4, 5, 6, 7], Array.from({length: 30}, (_, i) => i * 7), Array.from({length: 120}, (_, i) => i), ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'g'],
    [undefined, null, , 3], new Array(5), Object.assign([1, 2], {extra: true}), {s: Symbol('v'), [Symbol('k')]: 1},
    {long: 'x'.repeat(100), other: 'y'.repeat(30)}, Object.create(null), Object.assign(Object.create(null), {a: 1}),
    {f: function foo() {}, g: () => 1, h: async function bar() {}, i: function* gen() {}, k: class A {}, l: class B extends Error {}},
    {date: new Date(0), bad: new Date(NaN), re: /ab+c/gi}, {nested: [[1, [2, [3, [4, [5]]]]]]},
    new Map([['a', 1], [{k: 1}, [2]]]), new Set([1, 'two', {three: 3}]), new Map(), new Set(),
    new Uint8Array([1, 2, 3]), new Float64Array(2), new ArrayBuffer(3), new DataView(new ArrayBuffer(2)),
    Object.assign(new Number(3), {}), new String('abc'), new Boolean(false), Object(1n),
    new (class Foo { constructor() { this.x = 1; } })(), new (class Empty {})(), new (class extends Map {})(),
    {get a() { return 1; }, set b(v) {}, get c() { return 1; }, set c(v) {}},
    {arr: Array.from({length: 8}, (_, i) => ({id: i}))},
    'x'.repeat(200), ['x'.repeat(200)], {k: 'line1\\nline2\\nline3 is a bit longer than the others and goes on and on and on and on and on and on'},
  ].map((v) => u.inspect(v))`,
  'inspect options': `const u = require('util'); const o = {a: {b: {c: {d: {e: 1}}}}, arr: [1, 2, 3]}; return [
    u.inspect(o, {depth: 0}), u.inspect(o, {depth: Infinity}), u.inspect(o, {compact: false}), u.inspect(o, {breakLength: 20}),
    u.inspect(o, false, 1), u.inspect([3, 1, 2], {sorted: true}), u.inspect({b: 1, a: 2}, {sorted: true}),
    u.inspect(Array.from({length: 10}, (_, i) => i), {maxArrayLength: 3}), u.inspect('abcdef', {maxStringLength: 2}),
    u.inspect(1234567.891, {numericSeparator: true}), u.inspect({a: 1}, {showHidden: true}), u.inspect([1], {showHidden: true})]`,
  'inspect circular and custom': `const u = require('util'); const o = {name: 'o'}; o.self = o; o.list = [o, {o}];
    const c = {[u.inspect.custom](depth, opts) { return 'CUSTOM ' + depth; }};
    const c2 = {[u.inspect.custom]() { return {replaced: true}; }};
    return [u.inspect(o), u.inspect(c), u.inspect({nested: c}), u.inspect(c2), u.inspect(Buffer.from('hello'))]`,
  'util misc': `const u = require('util'); const p = u.promisify((a, cb) => cb(null, a * 2));
    function A() {} function B() {} u.inherits(A, B);
    const cbf = u.callbackify(async (x) => x + 1); const viaCb = await new Promise((r) => cbf(1, (e, v) => r([e, v])));
    return [await p(21), new A() instanceof B, A.super_ === B, viaCb,
      u.isDeepStrictEqual({a: [1, {b: 2}]}, {a: [1, {b: 2}]}), u.isDeepStrictEqual([1], ['1']), u.isDeepStrictEqual(new Set([1, {a: 1}]), new Set([{a: 1}, 1])),
      u.isDeepStrictEqual(new Map([[1, 'a']]), new Map([[1, 'b']])), u.isDeepStrictEqual(NaN, NaN), u.isDeepStrictEqual(0, -0),
      u.types.isDate(new Date()), u.types.isRegExp(/x/), u.types.isPromise(Promise.resolve()), u.types.isUint8Array(Buffer.alloc(1)),
      u.types.isAsyncFunction(async () => {}), u.types.isMap(new Map()), u.types.isNativeError(new TypeError()), u.types.isBoxedPrimitive(Object(1)),
      u.types.isTypedArray([]), u.types.isArrayBuffer(new ArrayBuffer(1)), u.stripVTControlCharacters('\\u001b[31mred\\u001b[0m'),
      typeof u.TextEncoder, typeof u.deprecate(() => 1, 'x')]`,
  // Buffer
  'buffer encodings': `const s = 'héllo wörld ✓ 😀'; const b = Buffer.from(s); return [
    b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString('latin1'), b.toString('ascii'), b.toString('utf16le').length,
    Buffer.from(b.toString('hex'), 'hex').toString(), Buffer.from(b.toString('base64'), 'base64').toString(),
    Buffer.from(b.toString('base64url'), 'base64url').toString(), Buffer.from('aGk', 'base64').toString(), Buffer.from('a+b/', 'base64').toString('hex'),
    Buffer.from('a-b_', 'base64url').toString('hex'), Buffer.byteLength(s), Buffer.byteLength('aGk=', 'base64'), Buffer.byteLength('aGk', 'base64url'),
    Buffer.from([0xff, 0xc3, 0x28, 0xe2, 0x82, 0x41, 0xf0, 0x9f, 0x98]).toString(), Buffer.from([0xed, 0xa0, 0x80, 0x41]).toString(),
    b.toString('utf8', 1, 5), b.toString(undefined, 3), b.subarray(0, 3).toString('hex'), Buffer.isEncoding('base64url'), Buffer.isEncoding('nope'),
    Buffer.from('ab').toString('ucs2'), Buffer.from('hi', 'utf16le').toString('hex'), Buffer.alloc(4, 'aGk=', 'base64').toString('hex')]`,
  'buffer methods': `const b = Buffer.alloc(8); b.writeUInt32BE(0xdeadbeef, 0); b.writeInt16LE(-2, 4); b.writeUInt8(7, 6);
    const c = Buffer.concat([Buffer.from('ab'), Buffer.from('cd')]);
    return [b.toString('hex'), b.readUInt32BE(0), b.readInt16LE(4), c.toString(), c.equals(Buffer.from('abcd')), Buffer.compare(Buffer.from('a'), Buffer.from('b')),
      c.indexOf('c'), c.includes('bc'), JSON.stringify(Buffer.from('hi')), Buffer.isBuffer(c), Buffer.isBuffer(new Uint8Array(1)), c.slice(1, 3).toString(),
      Buffer.from(c).fill('z', 1, 2).toString(), c.readBigUInt64BE ? typeof c.length : 0, Buffer.from('€').length, c.toString('base64', 1),
      Buffer.from('ffff', 'hex').readUInt16LE(0), Buffer.from([1, 2, 3]).reverse().toString('hex'), Buffer.from(new Uint16Array([1, 2]).buffer).toString('hex'),
      c.write('zz', 1, 'utf8'), c.toString(), Buffer.from('aGVsbG8', 'base64url').toString(), Buffer.alloc(2).fill('YQ', 'base64url').toString()]`,
  // crypto (host-backed digests)
  'crypto hashes': `const c = require('crypto'); const out = [];
    for (const alg of ['md5', 'sha1', 'sha256', 'sha512', 'SHA256', 'sha-256', 'RSA-SHA1']) {
      out.push(c.createHash(alg).update('hello ').update(Buffer.from('world')).digest('hex'));
      out.push(c.createHmac(alg, 'secret').update('data').digest('base64'));
    }
    const h = c.createHash('sha256').update('caf\\u00e9', 'latin1'); const h2 = h.copy();
    out.push(h.digest('base64url'), h2.update('x').digest('latin1'), c.createHash('md5').update('616263', 'hex').digest().toString('hex'),
      c.createHmac('sha512', Buffer.from([1, 2, 3])).update(new Uint8Array([4, 5])).digest('hex'), c.createHash('sha1').digest('hex'),
      c.createHmac('sha256', c.createSecretKey(Buffer.from('k'))).update('v').digest('hex'), c.getHashes().includes('sha256'));
    if (c.hash) out.push(c.hash('sha1', 'abc'), c.hash('md5', 'abc', 'base64'));
    else out.push(c.createHash('sha1').update('abc').digest('hex'), c.createHash('md5').update('abc').digest('base64'));
    return out;`,
  'crypto errors': `const c = require('crypto'); const msg = (f) => { try { f(); return 'no error'; } catch (e) { return [e.name, e.code, e.message]; } };
    const h = c.createHash('sha256'); h.digest();
    return [msg(() => c.createHash('nope')), msg(() => h.update('x')), msg(() => h.digest()), msg(() => c.createHmac('nope', 'k')),
      msg(() => c.timingSafeEqual(Buffer.from('a'), Buffer.from('ab'))), msg(() => c.createHash('sha256').update(42)),
      c.timingSafeEqual(Buffer.from('abc'), Buffer.from('abc')), c.timingSafeEqual(Buffer.from('abc'), Buffer.from('abd'))]`,
  'crypto kdf': `const c = require('crypto'); return [c.pbkdf2Sync('pw', 'salt', 1000, 48, 'sha256').toString('hex'), c.pbkdf2Sync('pw', 'salt', 1, 20, 'sha1').toString('hex'),
    await new Promise((r) => c.pbkdf2('pw', 'salt', 3, 70, 'sha512', (e, k) => r(k.toString('base64')))),
    Buffer.from(c.hkdfSync('sha256', 'key', 'salt', 'info', 42)).toString('hex'), Buffer.from(c.hkdfSync('sha512', 'key', '', '', 10)).toString('hex')]`,
  'webcrypto digest and hmac': `const s = globalThis.crypto.subtle; const enc = new TextEncoder();
    const d = Buffer.from(await s.digest('SHA-256', enc.encode('abc'))).toString('hex');
    const key = await s.importKey('raw', enc.encode('k'), {name: 'HMAC', hash: 'SHA-256'}, false, ['sign', 'verify']);
    const sig = await s.sign('HMAC', key, enc.encode('msg'));
    return [d, Buffer.from(sig).toString('hex'), await s.verify('HMAC', key, sig, enc.encode('msg')), await s.verify('HMAC', key, sig, enc.encode('other'))]`,
  // url and querystring
  'whatwg url': `const fields = (u) => [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port, u.pathname, u.search, u.hash];
    const out = ['https://user:pw@Example.COM:8080/a/../b/./c?x=1&y=2#h', 'http://example.com:80/', 'https://bücher.example/ä?q=ü#ß', 'http://[::1]:3000/x',
      'http://192.168.0.1.', 'file:///tmp/a%20b', 'mailto:someone@example.com', 'HTTP://EXAMPLE.com/%7Efoo', 'https://a.b/c d?e f#g h',
      'https://xn--bcher-kva.example/', 'http://0x7f.1/', 'https://example.com/?a=%zz'].map((s) => fields(new URL(s)));
    out.push(fields(new URL('../x?y#z', 'https://h.example/a/b/c')), fields(new URL('//other.example/p', 'https://h.example/')));
    const bad = []; for (const s of ['not a url', 'http://exa mple.com', 'https://[::1', 'http://a:99999']) { try { new URL(s); bad.push('ok'); } catch (e) { bad.push(e.name + ':' + (e.code || '')); } }
    const u = new URL('https://h.example/p'); u.searchParams.append('q', 'a b&c'); u.hash = 'frag'; u.pathname = '/new path'; u.port = '8443';
    out.push(bad, u.href, URL.canParse('https://x'), URL.canParse('nope'), String(new URL('https://h.example/p?b=2&a=1')));
    return out;`,
  'url search params': `const p = new URLSearchParams('a=1&b=2&a=3&c=%20x+y&d'); p.append('e', 'f g'); p.delete('b'); p.sort();
    const q = new URLSearchParams({x: '1', y: 'two words'}); const r = new URLSearchParams([['k', 'v'], ['k', 'w']]);
    return [p.toString(), p.getAll('a'), p.get('c'), p.get('d'), p.has('b'), [...p.keys()], [...p.entries()], q.toString(), r.toString(), p.size, new URLSearchParams('?x=1').get('x')]`,
  'legacy url': `const url = require('url'); const p = url.parse('https://user:pw@Host.com:8080/p/a/t/h?query=string&a=1#hash', true);
    return [p.protocol, p.auth, p.host, p.port, p.hostname, p.hash, p.search, JSON.stringify(p.query), p.pathname, p.path, p.href,
      url.format({protocol: 'https', hostname: 'example.com', pathname: '/some/path', query: {page: 1, format: 'json'}}),
      url.resolve('/one/two/three', 'four'), url.resolve('http://example.com/', '/one'), url.resolve('http://example.com/one', '/two'),
      url.format(new URL('https://a:b@h.example/p?q#f'), {auth: false, fragment: false}), url.fileURLToPath('file:///tmp/a%20b'),
      url.pathToFileURL('/tmp/a b#c').href, url.parse('/just/a/path?x=1').query, url.urlToHttpOptions(new URL('https://a:b@h.example:99/p?q')).path]`,
  querystring: `const qs = require('querystring'); return [
    JSON.stringify(qs.parse('a=1&b=2&a=3&c=%20x+y&d=&e')), JSON.stringify(qs.parse('a:1;b:2', ';', ':')), JSON.stringify(qs.parse('bad=%E0%A4%A&ok=1')),
    JSON.stringify(qs.parse('a=1&a=2&a=3', null, null, {maxKeys: 2})), qs.stringify({a: [1, 2], b: 'x y', c: true, d: null, e: undefined, f: 'é&='}),
    qs.stringify({a: 1, b: 2}, ';', ':'), qs.escape('a b&c/é'), qs.unescape('a%20b%2'), qs.unescape('%E0%A4%A'), qs.encode({x: 1}), JSON.stringify(qs.decode('x=1')),
    Object.getPrototypeOf(qs.parse('a=1')) === null]`,
  // path, string_decoder, events
  path: `const path = require('path'); return [path.join('/a/b', '../c', './d.txt'), path.resolve('/x', 'a', '../b'), path.basename('/x/y/file.tar.gz', '.gz'), path.extname('f.tar.gz'),
    path.dirname('/a/b/c'), path.relative('/a/b/c', '/a/d'), path.normalize('/a//b/../c/.'), path.isAbsolute('a/b'), path.sep, path.delimiter,
    JSON.stringify(path.parse('/home/u/file.txt')), path.format({dir: '/x', base: 'y.js'}), path.posix === path, path.join(), path.resolve('/')]`,
  string_decoder: `const { StringDecoder } = require('string_decoder'); const d = new StringDecoder('utf8'); const euro = Buffer.from('€😀');
    const parts = [d.write(euro.subarray(0, 1)), d.write(euro.subarray(1, 4)), d.write(euro.subarray(4, 6)), d.end(euro.subarray(6))];
    const h = new StringDecoder('hex'); const b = new StringDecoder('base64');
    return [parts, h.write(Buffer.from('ab')), b.write(Buffer.from('abcd')), b.end(), new StringDecoder('utf8').end(Buffer.from([0xe2, 0x82]))]`,
  events: `const EventEmitter = require('events'); const e = new EventEmitter(); const log = [];
    e.on('x', (a, b) => log.push(['on', a, b])); e.once('x', (a) => log.push(['once', a])); e.prependListener('x', () => log.push('first'));
    e.emit('x', 1, 2); e.emit('x', 3); let err; try { e.emit('error', new Error('unhandled')); } catch (x) { err = x.message; }
    const p = EventEmitter.once(e, 'later'); e.emit('later', 'v1', 'v2');
    return [log, err, e.listenerCount('x'), e.eventNames(), await p, EventEmitter.defaultMaxListeners, typeof EventEmitter.EventEmitter, e.emit('none')]`,
  stream: `const { Readable, Writable, Transform, PassThrough, pipeline, finished } = require('stream'); const sp = require('stream/promises');
    const collect = () => { const out = []; const w = new Writable({ write(c, e, cb) { out.push(String(c)); cb(); } }); w.out = out; return w; };
    const w1 = collect(); await new Promise((res, rej) => Readable.from(['a', 'b', 'c']).pipe(w1).on('finish', res).on('error', rej));
    const upper = () => new Transform({ transform(c, e, cb) { cb(null, String(c).toUpperCase()); } });
    const w2 = collect(); await sp.pipeline(Readable.from(['x', 'y']), upper(), new PassThrough(), w2);
    const w3 = collect(); const err = await new Promise((r) => pipeline(new Readable({ read() { this.destroy(new Error('boom')); } }), w3, (e) => r(e && e.message)));
    const chunks = []; for await (const c of Readable.from([1, 2, 3])) chunks.push(c);
    const r = new Readable({ objectMode: true, read() {} }); r.push({ n: 1 }); r.push(null); const objs = await r.toArray();
    const fin = await new Promise((res) => { const p = new PassThrough(); finished(p, (e) => res(e ? 'err' : 'done')); p.resume(); p.end('z'); });
    return [w1.out, w2.out, err, chunks, objs, fin, typeof require('stream').Stream, new Readable() instanceof require('stream')]`,
  assert: `const assert = require('assert'); const out = []; const t = (f) => { try { f(); out.push('pass'); } catch (e) { out.push([e.name, e.code, e.generatedMessage, e.operator]); } };
    t(() => assert.strictEqual(1, 1)); t(() => assert.strictEqual(1, 2)); t(() => assert.deepStrictEqual({a: [1]}, {a: [1]})); t(() => assert.deepStrictEqual({a: 1}, {a: '1'}));
    t(() => assert.deepEqual({a: 1}, {a: '1'})); t(() => assert.notStrictEqual(1, 2)); t(() => assert.ok(0)); t(() => assert(1)); t(() => assert.equal(1, '1'));
    t(() => assert.throws(() => { throw new TypeError('bad'); }, TypeError)); t(() => assert.throws(() => { throw new TypeError('bad'); }, /bad/));
    t(() => assert.throws(() => { throw new TypeError('bad'); }, { name: 'TypeError', message: 'bad' })); t(() => assert.throws(() => {}));
    t(() => assert.throws(() => { throw new Error('x'); }, (e) => e.message === 'x')); t(() => assert.doesNotThrow(() => {}));
    t(() => assert.match('abc', /b/)); t(() => assert.doesNotMatch('abc', /b/)); t(() => assert.fail('boom')); t(() => assert.ifError(null));
    t(() => assert.strict.equal(1, '1')); t(() => assert.strict.deepEqual([1], ['1'])); t(() => assert.notDeepStrictEqual({a: 1}, {a: 2}));
    t(() => assert.deepStrictEqual(new Map([[1, {a: 1}]]), new Map([[1, {a: 1}]]))); t(() => assert.deepStrictEqual(new Set([1]), new Set([2])));
    t(() => assert.deepStrictEqual([1, , 3], [1, undefined, 3])); t(() => assert.deepStrictEqual(new Date(1), new Date(1)));
    await assert.rejects(Promise.reject(new Error('r')), /r/).then(() => out.push('rejects ok'), (e) => out.push(e.message));
    await assert.rejects(Promise.resolve(1)).then(() => out.push('wrong'), (e) => out.push(e.message));
    await assert.doesNotReject(async () => 1).then(() => out.push('doesNotReject ok'));
    try { assert.strictEqual(1, 2); } catch (e) { out.push(e.message); }
    try { assert.throws(() => {}, TypeError, 'must throw'); } catch (e) { out.push(e.message); }
    try { assert.ok(false, 'custom message'); } catch (e) { out.push(e.message, e.actual, e.expected); }
    out.push(require('assert/strict') === assert.strict, assert.AssertionError.name);
    return out;`,
  // web globals
  'text encoding': `const te = new TextEncoder(); const td = new TextDecoder(); const s = 'a€😀\\ud800b';
    const bytes = te.encode(s); const into = new Uint8Array(5); const res = te.encodeInto('a€😀', into);
    const stream = new TextDecoder(); const euro = te.encode('€€');
    const fatal = (() => { try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])); return 'no'; } catch (e) { return e.name; } })();
    return [Array.from(bytes), td.decode(bytes), res, Array.from(into), stream.decode(euro.subarray(0, 2), { stream: true }) + stream.decode(euro.subarray(2)),
      new TextDecoder('utf-16le').decode(new Uint8Array([0x61, 0, 0x62, 0])), new TextDecoder('latin1').decode(new Uint8Array([0xe9, 0x80])),
      td.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length,
      fatal, td.encoding, new TextDecoder('UTF8').encoding, td.decode(), td.decode(new Uint8Array([0xf0, 0x9f]))]`,
  'atob btoa': `const out = [btoa('hello'), atob('aGVsbG8='), atob('aGVsbG8'), atob(' aGVs bG8= '), btoa('\\xff\\xfe'), atob('//4=').length];
    for (const bad of ['a', 'aGVsbG8=x', '***', 'aGk-']) { try { atob(bad); out.push('ok'); } catch (e) { out.push(e.name); } }
    try { btoa('€'); } catch (e) { out.push(e.name); } return out;`,
  structuredClone: `const d = new Date(5); const src = { d, re: /x/g, m: new Map([[1, { a: 1 }]]), s: new Set([1]), arr: [1, { b: 2 }], u8: new Uint8Array([1, 2]), big: 10n, e: new RangeError('r'), nested: { deep: [1] } };
    src.self = src; const c = structuredClone(src);
    const errs = []; for (const v of [() => 1, Symbol('s'), { f() {} }, new WeakMap(), Promise.resolve()]) { try { structuredClone(v); errs.push('ok'); } catch (e) { errs.push(e.name); } }
    return [c !== src, c.self === c, c.d instanceof Date && c.d.getTime(), c.re.source + c.re.flags, c.m.get(1), [...c.s], c.arr, Array.from(c.u8), String(c.big),
      c.e instanceof RangeError && c.e.message, c.nested.deep !== src.nested.deep, errs, structuredClone(new (class K { constructor() { this.x = 1; } })())]`,
  'process fields': `return [typeof process.nextTick, process.platform, typeof process.version, process.version.startsWith('v'), typeof process.versions.node, typeof process.cwd(),
    Array.isArray(process.hrtime()), typeof process.hrtime.bigint(), typeof process.memoryUsage().heapUsed, typeof process.env, typeof process.on, typeof process.emitWarning,
    typeof global, global === globalThis, typeof setImmediate, typeof structuredClone, typeof queueMicrotask, typeof fetch, typeof Headers, typeof Response,
    typeof AbortController, typeof TextEncoder, typeof URL, typeof crypto.getRandomValues, typeof crypto.randomUUID, typeof Buffer, typeof atob]`,
  'timers module': `const t = require('timers'); const tp = require('timers/promises'); const v = await tp.setTimeout(5, 'value'); const i = await tp.setImmediate('imm');
    const ticks = []; for await (const x of tp.setInterval(2, 'tick')) { ticks.push(x); if (ticks.length === 3) break; }
    const ac = new AbortController(); const aborted = tp.setTimeout(1000, null, { signal: ac.signal }).catch((e) => e.name); ac.abort();
    const tm = setTimeout(() => {}, 10); const n = +tm; clearTimeout(n);
    return [typeof t.setTimeout, typeof t.clearImmediate, v, i, ticks, await aborted, typeof n, tm.hasRef(), tm.unref().hasRef(), typeof tm.refresh]`,
};

for (const [name, body] of Object.entries(cases)) {
  test(`parity: ${name}`, async () => {
    const expected = await inNode(body);
    const got = await value(layer, body);
    assert.deepStrictEqual(got, expected);
  });
}
