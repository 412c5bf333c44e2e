// Event loop, randomness and host-backed operations: timers driven by tick, the seeded
// Math.random, crypto random bytes, hashes checked against Node's crypto, and fetch over
// the host's async operation.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { Layer, run, value, seedFor } from './harness.mjs';

const layer = new Layer('node22');
after(() => layer.dispose());

test('timers: microtasks, nextTick, immediates and timeouts run in Node order', async () => {
  const got = await value(layer, `const order = [];
    setTimeout(() => order.push('timeout 0'), 0);
    setTimeout(() => order.push('timeout 5'), 5);
    setImmediate(() => { order.push('immediate'); process.nextTick(() => order.push('tick in immediate')); Promise.resolve().then(() => order.push('promise in immediate')); });
    setImmediate(() => order.push('immediate 2'));
    Promise.resolve().then(() => order.push('promise'));
    process.nextTick(() => order.push('nextTick'));
    queueMicrotask(() => order.push('microtask'));
    order.push('sync');
    await new Promise((r) => setTimeout(r, 20));
    return order;`);
  assert.deepStrictEqual(got, ['sync', 'nextTick', 'promise', 'microtask', 'immediate', 'tick in immediate', 'promise in immediate', 'immediate 2', 'timeout 0', 'timeout 5']);
});

test('timers: setTimeout delays are honored and ordered', async () => {
  const got = await value(layer, `const start = Date.now(); const out = [];
    await Promise.all([30, 10, 20].map((ms) => new Promise((r) => setTimeout(() => { out.push(ms); r(); }, ms))));
    return [out, Date.now() - start >= 30];`);
  assert.deepStrictEqual(got, [[10, 20, 30], true]);
});

test('timers: setInterval runs until clearInterval', async () => {
  const got = await value(layer, `let n = 0; const seen = [];
    await new Promise((resolve) => { const id = setInterval((a, b) => { seen.push(a + b); if (++n === 4) { clearInterval(id); setTimeout(resolve, 15); } }, 2, 'x', 'y'); });
    return [n, seen];`);
  assert.deepStrictEqual(got, [4, ['xy', 'xy', 'xy', 'xy']]);
});

test('timers: clearTimeout, clearImmediate, refresh and sequential awaits', async () => {
  const got = await value(layer, `const out = [];
    const t = setTimeout(() => out.push('cleared timeout ran'), 1); clearTimeout(t);
    const i = setImmediate(() => out.push('cleared immediate ran')); clearImmediate(i);
    const byNumber = setTimeout(() => out.push('cleared by number ran'), 1); clearTimeout(Number(byNumber));
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    for (let k = 0; k < 5; k++) { await sleep(1); out.push(k); }
    await new Promise((r) => setImmediate(r)); await sleep(2); await new Promise((r) => setImmediate(r));
    return out;`);
  assert.deepStrictEqual(got, [0, 1, 2, 3, 4]);
});

test('timers: a promise that can no longer settle is detected', async () => {
  const l = new Layer('node-bt');
  try {
    l.load(`module.exports = () => new Promise(() => {});`);
    assert.deepStrictEqual((await l.invoke()).neverReturned, true);
    l.load(`module.exports = async () => { await new Promise((r) => setTimeout(r, 1)); await new Promise(() => {}); };`);
    assert.deepStrictEqual((await l.invoke()).neverReturned, true);
  } finally {
    l.dispose();
  }
});

test('tick returns -1 with nothing pending and the delay to the next timer otherwise', () => {
  const l = new Layer('node22');
  try {
    l.load(`module.exports = () => new Promise((r) => setTimeout(r, 500));`);
    l.settled = null;
    l.allowAsync = true;
    l.call('invoke', JSON.stringify({ args: null, configuration: {}, seed: seedFor(1), bt: null }));
    l.runJobs();
    const d = l.call('tick', '[]');
    assert.ok(d > 400 && d <= 500, `delay ${d}`);
    l.load(`module.exports = async () => 1;`);
    l.settled = null;
    l.call('invoke', JSON.stringify({ args: null, configuration: {}, seed: seedFor(1), bt: null }));
    l.runJobs();
    assert.equal(l.settled.op, 'done');
    assert.equal(l.call('tick', '[]'), -1, 'invoke dropped the earlier timer');
  } finally {
    l.dispose();
  }
});

test('process.on(uncaughtException) receives errors thrown outside the handler', async () => {
  const got = await value(layer, `const seen = []; const listener = (err, origin) => seen.push([err.message, origin]);
    process.on('uncaughtException', listener);
    setTimeout(() => { throw new Error('from a timer'); }, 1);
    queueMicrotask(() => { throw new Error('from a microtask'); });
    await new Promise((r) => setTimeout(r, 10));
    process.removeListener('uncaughtException', listener);
    return seen;`);
  assert.deepStrictEqual(got, [['from a microtask', 'uncaughtException'], ['from a timer', 'uncaughtException']]);
});

test('Math.random: reseeded from the seed words when the host sends them, continuing otherwise', async () => {
  const l = new Layer('node-bt');
  try {
    l.load(`module.exports = async () => [Math.random(), Math.random(), Math.random()];`);
    const a1 = (await l.invoke({ seed: seedFor(1) })).value;
    const a2 = (await l.invoke({ seed: seedFor(1) })).value;
    const b = (await l.invoke({ seed: seedFor(2) })).value;
    const next = (await l.invoke()).value;
    assert.deepStrictEqual(a1, a2);
    assert.notDeepStrictEqual(a1, b);
    assert.notDeepStrictEqual(next, b, 'without a seed the sequence continues');
    for (const x of [...a1, ...b, ...next]) assert.ok(x >= 0 && x < 1);
    l.load(`module.exports = async () => { let s = 0; const n = 20000; const buckets = new Array(10).fill(0); for (let i = 0; i < n; i++) { const r = Math.random(); s += r; buckets[Math.floor(r * 10)]++; } return [s / n, Math.min(...buckets), Math.max(...buckets)]; };`);
    const [mean, min, max] = (await l.invoke({ seed: seedFor(3) })).value;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
    assert.ok(min > 1800 && max < 2200, `buckets ${min}..${max}`);
  } finally {
    l.dispose();
  }
});

test('Math.random: two instances restored from one snapshot diverge once seeded', async () => {
  const seqs = [];
  for (const seed of [seedFor(10), seedFor(11)]) {
    const l = new Layer('node22');
    try {
      l.load(`const atLoad = Math.random(); module.exports = async () => [atLoad, Math.random()];`);
      seqs.push((await l.invoke({ seed })).value);
    } finally {
      l.dispose();
    }
  }
  assert.equal(seqs[0][0], seqs[1][0], 'before the seed both start from the image state');
  assert.notEqual(seqs[0][1], seqs[1][1]);
});

test('crypto random: bytes, UUIDs, integers, getRandomValues', async () => {
  const got = await value(layer, `const c = require('crypto');
    const ids = new Set(Array.from({ length: 50 }, () => c.randomUUID()));
    const ints = Array.from({ length: 200 }, () => c.randomInt(10, 20));
    const big = c.randomBytes(70000);
    const u32 = crypto.getRandomValues(new Uint32Array(8));
    const errs = []; try { crypto.getRandomValues(new Float64Array(1)); } catch (e) { errs.push(e.name); } try { crypto.getRandomValues(new Uint8Array(65537)); } catch (e) { errs.push(e.name); }
    const cb = await new Promise((r) => c.randomBytes(8, (e, b) => r([e, b.length])));
    return [ids.size, [...ids].every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)),
      Math.min(...ints) >= 10 && Math.max(...ints) < 20, new Set(ints).size > 5, big.length, new Set(big.subarray(0, 1000)).size > 100,
      u32.some((x) => x !== 0), errs, cb, c.randomBytes(16).toString('hex') !== c.randomBytes(16).toString('hex'), crypto.randomUUID().length,
      c.webcrypto.getRandomValues(new Uint8Array(4)).length];`);
  assert.deepStrictEqual(got, [50, true, true, true, 70000, true, true, ['TypeMismatchError', 'QuotaExceededError'], [null, 8], true, 36, 4]);
});

test('hashes and HMACs match Node crypto for every algorithm and encoding', async () => {
  const data = ['', 'hello', 'héllo wörld 😀', 'x'.repeat(100000)];
  for (const alg of ['md5', 'sha1', 'sha256', 'sha512']) {
    for (const enc of ['hex', 'base64', 'base64url', 'latin1']) {
      const got = await value(layer, `const c = require('crypto'); return ${JSON.stringify(data)}.map((d) => [c.createHash('${alg}').update(d).digest('${enc}'), c.createHmac('${alg}', 'key').update(d, 'utf8').digest('${enc}')]);`);
      const want = data.map((d) => [createHash(alg).update(d).digest(enc), createHmac(alg, 'key').update(d, 'utf8').digest(enc)]);
      assert.deepStrictEqual(got, want, `${alg} ${enc}`);
    }
  }
});

// --- fetch over the host's async operation ---

function fetchLayer(image, handler) {
  const requests = [];
  const l = new Layer(image, {
    asyncHandler: async (op, arg) => {
      requests.push({ op, arg });
      if (op !== 'fetch') throw new Error(`unexpected op ${op}`);
      return handler(arg);
    },
  });
  l.requests = requests;
  return l;
}

test('fetch: request shape, response body, status and headers', async () => {
  const l = fetchLayer('node22', async (req) => {
    await new Promise((r) => setTimeout(r, 5));
    const body = JSON.stringify({ echo: req.body, method: req.method });
    return { status: 201, status_text: 'Created', headers: { 'content-type': 'application/json', 'x-multi': ['a', 'b'] }, body_base64: Buffer.from(body).toString('base64') };
  });
  try {
    l.load(`module.exports = async () => {
      const res = await fetch('https://api.example/v1/items?x=1', { method: 'post', headers: { 'Content-Type': 'application/json', 'X-Key': 'k' }, body: JSON.stringify({ a: 1 }) });
      const clone = res.clone();
      return [res.status, res.ok, res.statusText, res.headers.get('content-type'), res.headers.get('X-Multi'), await res.json(), res.bodyUsed, await clone.text(), res.url];
    };`);
    const r = await l.invoke();
    assert.deepStrictEqual(r.value, [201, true, 'Created', 'application/json', 'a, b', { echo: '{"a":1}', method: 'POST' }, true, '{"echo":"{\\"a\\":1}","method":"POST"}', 'https://api.example/v1/items?x=1']);
    assert.deepStrictEqual(l.requests, [
      { op: 'fetch', arg: { url: 'https://api.example/v1/items?x=1', method: 'POST', headers: { 'content-type': 'application/json', 'x-key': 'k' }, body: '{"a":1}', body_base64: null } },
    ]);
  } finally {
    l.dispose();
  }
});

test('fetch: binary bodies travel as base64, arrayBuffer and concurrent requests', async () => {
  const l = fetchLayer('node22', async (req) => ({
    status: 200,
    headers: {},
    body_base64: req.body_base64 !== null ? req.body_base64 : Buffer.from(req.body !== null ? req.body : `got ${req.url}`).toString('base64'),
  }));
  try {
    l.load(`module.exports = async () => {
      const bin = await fetch(new Request('https://h.example/bin', { method: 'PUT', body: new Uint8Array([0, 255, 1]) }));
      const [a, b] = await Promise.all([fetch('https://h.example/a').then((r) => r.text()), fetch(new URL('https://h.example/b')).then((r) => r.text())]);
      const form = await fetch('https://h.example/f', { method: 'POST', body: new URLSearchParams({ q: 'a b' }) });
      return [Array.from(new Uint8Array(await bin.arrayBuffer())), a, b, await form.text()];
    };`);
    const r = await l.invoke();
    assert.deepStrictEqual(r.value, [[0, 255, 1], 'got https://h.example/a', 'got https://h.example/b', 'q=a+b']);
    assert.equal(l.requests[0].arg.body_base64, 'AP8B');
    assert.equal(l.requests[0].arg.body, null);
    assert.equal(l.requests[3].arg.headers['content-type'], 'application/x-www-form-urlencoded;charset=UTF-8');
  } finally {
    l.dispose();
  }
});

test('fetch: host failures reject, and abort signals reject with AbortError', async () => {
  const l = fetchLayer('node22', async (req) => {
    if (req.url.includes('fail')) throw new Error('connection refused');
    await new Promise((r) => setTimeout(r, 200));
    return { status: 200, headers: {}, body_base64: '' };
  });
  try {
    l.load(`module.exports = async () => {
      const out = [];
      try { await fetch('https://h.example/fail'); } catch (e) { out.push([e.name, e.message, e.cause && e.cause.message]); }
      const ac = new AbortController(); const p = fetch('https://h.example/slow', { signal: ac.signal }); setTimeout(() => ac.abort(), 5);
      try { await p; } catch (e) { out.push(e.name); }
      try { await fetch('https://h.example/slow', { signal: AbortSignal.timeout(5) }); } catch (e) { out.push(e.name); }
      try { await fetch('not a url'); } catch (e) { out.push(e.name); }
      try { await fetch('https://h.example/', { method: 'GET', body: 'x' }); } catch (e) { out.push(e.name); }
      return out;
    };`);
    const r = await l.invoke();
    assert.deepStrictEqual(r.value, [['TypeError', 'fetch failed: connection refused', 'connection refused'], 'AbortError', 'TimeoutError', 'TypeError', 'TypeError']);
  } finally {
    l.dispose();
  }
});

test('fetch: without an async fetch operation the host refusal rejects the promise', async () => {
  const r = await run('node22', `module.exports = async () => { await fetch('http://169.254.169.254/latest/meta-data/'); };`);
  assert.equal(r.ok, false);
  assert.equal(r.error.name, 'TypeError');
  assert.match(r.error.message, /fetch is not available/);
});

test('Headers, Request and Response classes', async () => {
  const got = await value(layer, `const h = new Headers([['A', '1'], ['b', '2']]); h.append('a', '3'); h.set('C', 'x'); h.delete('b');
    const res = new Response('{"k":1}', { status: 404, headers: { 'X-Y': 'z' } });
    const j = Response.json({ ok: true }, { status: 202 });
    const rq = new Request('https://h.example/p', { method: 'DELETE', headers: h });
    let bad; try { new Headers({ 'bad name': 'x' }); } catch (e) { bad = e.name; }
    return [[...h], h.get('a'), h.has('B'), res.status, res.ok, res.headers.get('x-y'), await res.json(), j.status, j.headers.get('content-type'), await j.text(),
      rq.method, rq.url, rq.headers.get('c'), bad, Object.prototype.toString.call(h), new Response(null, { status: 204 }).body, typeof new Response('x').body.getReader];`);
  assert.deepStrictEqual(got, [[['a', '1, 3'], ['c', 'x']], '1, 3', false, 404, false, 'z', { k: 1 }, 202, 'application/json', '{"ok":true}', 'DELETE', 'https://h.example/p', 'x', 'TypeError', '[object Headers]', null, 'function']);
});

test('events, AbortController and EventTarget globals', async () => {
  const got = await value(layer, `const et = new EventTarget(); const seen = [];
    et.addEventListener('ping', (e) => seen.push(['ping', e.type, e instanceof Event]), { once: true });
    et.dispatchEvent(new Event('ping')); et.dispatchEvent(new Event('ping'));
    const ac = new AbortController(); ac.signal.onabort = () => seen.push('onabort'); ac.signal.addEventListener('abort', () => seen.push('listener'));
    ac.abort(new Error('why')); ac.abort();
    const any = AbortSignal.any([AbortSignal.abort('r')]);
    let thrown; try { ac.signal.throwIfAborted(); } catch (e) { thrown = e.message; }
    const ce = new CustomEvent('c', { detail: { d: 1 } });
    return [seen, ac.signal.aborted, ac.signal.reason.message, thrown, any.aborted, any.reason, ce.detail, AbortSignal.abort().reason.name];`);
  assert.deepStrictEqual(got, [[['ping', 'ping', true], 'onabort', 'listener'], true, 'why', 'why', true, 'r', { d: 1 }, 'AbortError']);
});

test('layer evaluation: both images evaluate and expose __reactor', () => {
  for (const image of ['node-bt', 'node22']) {
    const l = new Layer(image);
    try {
      assert.equal(l.eval(`typeof __reactor.load + typeof __reactor.invoke + typeof __reactor.tick`), 'functionfunctionfunction');
    } finally {
      l.dispose();
    }
  }
});
