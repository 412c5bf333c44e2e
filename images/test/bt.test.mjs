// req.bt / event.bt: the real @basis-theory/basis-theory-js SDK bundled into both
// images, its requests leaving through the layer's fetch to http://bt.internal with the
// placeholder key. A stand-in for the API answers the host's fetch operation; the same
// stand-in behind a real HTTP server answers the SDK running under Node, so the values
// and errors reactor code sees are compared with what the SDK gives under Node.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { Layer, run } from './harness.mjs';

const nodeRequire = createRequire(import.meta.url);
const IMAGES = ['node-bt', 'node22'];
const KEY = 'key_reactord_sandbox';

// fakeAPI is a small token API: POST /tokens, POST /tokenize, GET/PATCH/DELETE /tokens/{id}.
// It records every request it is asked to serve.
function fakeAPI() {
  const tokens = new Map();
  const requests = [];
  let n = 0;
  const json = (status, body) => ({ status, headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });
  const notFound = () => json(404, { errors: {}, title: 'Not Found', status: 404, detail: 'the token does not exist' });
  const newToken = (req) => {
    if (req.data === undefined || req.data === null) return null;
    const token = {
      id: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
      type: req.type || 'token',
      tenant_id: '11111111-1111-4111-8111-111111111111',
      data: req.data,
      metadata: req.metadata,
      search_indexes: req.search_indexes,
      fingerprint_expression: req.fingerprint_expression,
      created_by: 'app',
      created_at: '2024-05-01T12:00:00+00:00',
    };
    tokens.set(token.id, token);
    return token;
  };
  const invalid = () => json(400, { errors: { data: ['The data field is required.'], search_indexes: ['bad'] }, title: 'One or more validation errors occurred.', status: 400 });
  function serve({ method, url, headers, body }) {
    // the SDK under Node posts to /tokens/ (the layer sends /tokens); the API takes both
    const path = new URL(url).pathname.replace(/(.)\/$/, '$1');
    const parsed = body ? JSON.parse(body) : undefined;
    requests.push({ method, path, headers, body: parsed });
    if (headers['bt-api-key'] !== KEY) return json(401, { title: 'Unauthorized', status: 401, detail: 'bad key' });
    if (method === 'POST' && path === '/tokens') {
      const t = newToken(parsed);
      return t ? json(201, t) : invalid();
    }
    if (method === 'POST' && path === '/tokenize') {
      const out = {};
      for (const [k, v] of Object.entries(parsed)) out[k] = newToken(v);
      return json(201, out);
    }
    const m = /^\/tokens\/([^/]+)$/.exec(path);
    if (m && method === 'GET') return tokens.has(m[1]) ? json(200, tokens.get(m[1])) : notFound();
    if (m && method === 'DELETE') return tokens.delete(m[1]) ? json(204) : notFound();
    if (m && method === 'PATCH') {
      if (!tokens.has(m[1])) return notFound();
      const t = { ...tokens.get(m[1]), ...parsed, modified_at: '2024-05-02T12:00:00+00:00' };
      tokens.set(m[1], t);
      return json(200, t);
    }
    return json(404, { title: 'Not Found', status: 404, detail: `no such endpoint: ${method} ${path}` });
  }
  // the host's fetch operation: {url, method, headers, body} -> {status, headers, body_base64}
  async function fetchOp(op, arg) {
    if (op !== 'fetch') throw new Error(`unexpected op ${op}`);
    const res = serve(arg);
    return { status: res.status, headers: res.headers, body_base64: Buffer.from(res.body).toString('base64') };
  }
  return { serve, fetchOp, requests, tokens };
}

// underNode runs body with `bt`, an SDK instance under Node pointed at a real HTTP server
// serving a fresh fakeAPI (localhost: the SDK keeps http for it).
async function underNode(body) {
  const api = fakeAPI();
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const out = api.serve({ method: req.method, url: `http://localhost${req.url}`, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(out.status, out.headers);
      res.end(out.body);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { BasisTheory } = nodeRequire('@basis-theory/basis-theory-js');
    const bt = await new BasisTheory().init(KEY, { apiBaseUrl: `http://localhost:${server.address().port}`, disableTelemetry: true });
    const AsyncFunction = (async () => {}).constructor;
    const value = await new AsyncFunction('bt', 'require', body)(bt, nodeRequire);
    return { value: JSON.parse(JSON.stringify(value)), requests: api.requests };
  } finally {
    server.close();
  }
}

// inLayer runs body as the handler of image with bt granted, against a fresh fakeAPI.
async function inLayer(image, body, bt = {}) {
  const api = fakeAPI();
  const param = image === 'node22' ? 'event' : 'req';
  const code = `module.exports = async function (${param}) { const bt = ${param}.bt;\n${body}\n};`;
  const r = await run(image, code, { args: {}, bt }, { asyncHandler: api.fetchOp });
  return { ...r, api };
}

const flows = {
  'create, retrieve, update, delete': `
    const created = await bt.tokens.create({ type: 'token', data: { cardNumber: '4242', nested: { someKey: 1 } }, metadata: { orderId: 'o1' }, searchIndexes: ['{{ data.cardNumber }}'], fingerprintExpression: '{{ data }}' });
    const got = await bt.tokens.retrieve(created.id);
    const updated = await bt.tokens.update(created.id, { metadata: { orderId: 'o2' } });
    const deleted = await bt.tokens.delete(created.id);
    let after;
    try { await bt.tokens.retrieve(created.id); } catch (e) { after = { name: e.name, status: e.status, data: e.data, message: e.message }; }
    return { created, got, updated, deleted: deleted === undefined ? 'undefined' : deleted, after };`,
  'validation error from create': `
    try { await bt.tokens.create({ type: 'token', searchIndexes: [] }); return 'no error'; }
    catch (e) { return { name: e.name, status: e.status, data: e.data, message: e.message, keys: Object.keys(e).sort() }; }`,
  tokenize: `return await bt.tokenize({ card: { type: 'card_number', data: '4242424242424242' }, ssn: { type: 'social_security_number', data: '123-45-6789' } });`,
};

for (const [name, body] of Object.entries(flows)) {
  for (const image of IMAGES) {
    test(`${image} bt: ${name} gives what the SDK gives under Node`, async () => {
      const want = await underNode(body);
      const got = await inLayer(image, body);
      assert.equal(got.ok, true, JSON.stringify(got.error));
      assert.deepStrictEqual(got.value, want.value);
      // the same API calls, in the same order, with the same bodies
      const shape = (rs) => rs.map((r) => [r.method, r.path, r.body]);
      assert.deepStrictEqual(shape(got.api.requests), shape(want.requests));
    });
  }
}

test('bt requests carry method, path, JSON body and the placeholder key, and go only to bt.internal', async () => {
  for (const image of IMAGES) {
    const seen = [];
    const api = fakeAPI();
    const code = `module.exports = async function (r) {
      const t = await r.bt.tokens.create({ type: 'token', data: 'secret', searchIndexes: ['{{ data }}'] });
      await r.bt.tokens.retrieve(t.id);
      await r.bt.tokens.update(t.id, { metadata: { orderId: 'o1' } });
      await r.bt.tokens.delete(t.id);
      try { await r.bt.tokens.retrieve('nope'); } catch {}
      try { await r.bt.tokens.list({ size: 2 }); } catch {}
      return t.id;
    };`;
    const r = await run(image, code, { bt: {} }, { asyncHandler: (op, arg) => (seen.push(arg), api.fetchOp(op, arg)) });
    assert.equal(r.ok, true, JSON.stringify(r.error));
    const id = r.value;
    assert.deepStrictEqual(
      seen.map((a) => [a.method, a.url, a.headers['bt-api-key'], a.body === null ? null : JSON.parse(a.body)]),
      [
        ['POST', 'http://bt.internal/tokens', KEY, { type: 'token', data: 'secret', search_indexes: ['{{ data }}'] }],
        ['GET', `http://bt.internal/tokens/${id}`, KEY, null],
        ['PATCH', `http://bt.internal/tokens/${id}`, KEY, { metadata: { orderId: 'o1' } }],
        ['DELETE', `http://bt.internal/tokens/${id}`, KEY, null],
        ['GET', 'http://bt.internal/tokens/nope', KEY, null],
        ['GET', 'http://bt.internal/tokens?size=2', KEY, null],
      ],
      image,
    );
    assert.equal(seen[0].headers['content-type'], 'application/json', image);
    assert.equal(seen[2].headers['content-type'], 'application/merge-patch+json', image);
    // the error paths did not try to send telemetry anywhere
  }
});

test('an uncaught SDK error fails the invocation with its status', async () => {
  for (const image of IMAGES) {
    const r = await inLayer(image, `await bt.tokens.retrieve('missing');`);
    assert.equal(r.ok, false, image);
    assert.equal(r.error.name, 'BasisTheoryApiError', image);
    assert.equal(r.error.status, 404, image);
    assert.equal(r.error.message, 'Request failed with status code 404', image);
  }
});

test('a host refusal surfaces as the SDK error with status -1', async () => {
  for (const image of IMAGES) {
    const code = `module.exports = async function (r) {
      try { await r.bt.tokens.retrieve('x'); return 'no error'; }
      catch (e) { return { name: e.name, status: e.status, data: e.data === undefined ? 'undefined' : e.data, message: e.message }; }
    };`;
    const r = await run(image, code, { bt: {} }, { asyncHandler: async () => { throw new Error('bt.internal is not granted to this invocation'); } });
    assert.deepStrictEqual(r.value, { name: 'BasisTheoryApiError', status: -1, data: 'undefined', message: 'Network Error' }, image);
  }
});

test('bt is null when the event has no client, and the instance is not reachable globally', async () => {
  for (const image of IMAGES) {
    const param = image === 'node22' ? 'event' : 'req';
    const l = new Layer(image, { asyncHandler: fakeAPI().fetchOp });
    try {
      l.load(`module.exports = async function (${param}) {
        const { BasisTheory } = require('@basis-theory/basis-theory-js');
        const globals = Object.getOwnPropertyNames(globalThis).filter((k) => { try { return globalThis[k] instanceof BasisTheory; } catch { return false; } });
        return { bt: ${param}.bt, isInstance: ${param}.bt instanceof BasisTheory, globals, keys: Object.keys(${param}).sort() };
      };`);
      const keys = image === 'node22' ? ['bt', 'configuration', 'logger', 'req'] : ['args', 'bt', 'configuration'];
      for (const bt of [null, undefined]) {
        const r = await l.invoke(bt === undefined ? {} : { bt });
        assert.deepStrictEqual(r.value, { bt: null, isInstance: false, globals: [], keys }, `${image} bt=${bt}`);
      }
      const granted = await l.invoke({ bt: {} });
      assert.equal(granted.value.isInstance, true, image);
      assert.deepStrictEqual(granted.value.globals, [], image);
      // the grant is per invocation: the next one without a client gets null again
      const again = await l.invoke({ bt: null });
      assert.equal(again.value.bt, null, image);
    } finally {
      l.dispose();
    }
  }
});

test('one SDK instance per image, created with the image: same object on every invocation', async () => {
  const l = new Layer('node-bt', { asyncHandler: fakeAPI().fetchOp });
  try {
    l.load(`let first; module.exports = async function (req) { if (!first) first = req.bt; return [first === req.bt, req.bt._initStatus]; };`);
    assert.deepStrictEqual((await l.invoke({ bt: {} })).value, [true, 'done']);
    assert.deepStrictEqual((await l.invoke({ bt: {} })).value, [true, 'done']);
  } finally {
    l.dispose();
  }
});

test('the SDK keeps working when reactor code replaces globalThis.fetch', async () => {
  const r = await inLayer('node22', `globalThis.fetch = async () => { throw new Error('hijacked'); };
    const t = await bt.tokens.create({ type: 'token', data: 'x' });
    return t.type;`);
  assert.equal(r.value, 'token');
});

test('require("@basis-theory/basis-theory-js") works as a module in reactor code', async () => {
  for (const image of IMAGES) {
    const seen = [];
    const code = `const { BasisTheory } = require('@basis-theory/basis-theory-js');
    module.exports = async function () {
      const bt = await new BasisTheory().init('key_from_configuration', { apiBaseUrl: 'https://api.example.test' });
      try { await bt.tokens.retrieve('t1'); } catch (e) { return [e.name, e.status, e.data]; }
    };`;
    const r = await run(image, code, { bt: null }, {
      asyncHandler: async (op, arg) => {
        seen.push(arg);
        return { status: 403, headers: { 'content-type': 'application/json' }, body_base64: Buffer.from('{"title":"Forbidden","status":403}').toString('base64') };
      },
    });
    assert.deepStrictEqual(r.value, ['BasisTheoryApiError', 403, { title: 'Forbidden', status: 403 }], image);
    assert.deepStrictEqual(seen.map((a) => [a.method, a.url, a.headers['bt-api-key']]), [['GET', 'https://api.example.test/tokens/t1', 'key_from_configuration']], image);
  }
});
