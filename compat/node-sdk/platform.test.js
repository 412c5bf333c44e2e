// Applications, permissions and react-async through the official SDK against a
// running reactord: REACTORD_URL and REACTORD_KEY say where.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { BasisTheoryClient, BasisTheory } = require('@basis-theory/node-sdk');

const environment = process.env.REACTORD_URL;
const client = new BasisTheoryClient({ apiKey: process.env.REACTORD_KEY, environment });

test('applications: create, get, list, update, delete; the key works once created', async () => {
  const app = await client.applications.create({ name: 'sdk private', type: 'private', permissions: ['token:use', 'token:create'] });
  assert.match(app.id, /^[0-9a-f-]{36}$/);
  assert.match(app.key, /^key_/);
  assert.equal(app.type, 'private');
  assert.deepEqual([...app.permissions].sort(), ['token:create', 'token:use']);
  assert.ok(app.createdAt instanceof Date);

  const got = await client.applications.get(app.id);
  assert.equal(got.name, 'sdk private');
  assert.equal(got.key, undefined, 'keys are shown only when created');

  const page = await client.applications.list({ type: 'private' });
  assert.ok(page.data.some((a) => a.id === app.id));

  const updated = await client.applications.update(app.id, { name: 'sdk private 2', permissions: ['token:use'] });
  assert.equal(updated.name, 'sdk private 2');
  assert.deepEqual(updated.permissions, ['token:use']);

  const own = new BasisTheoryClient({ apiKey: app.key, environment });
  await assert.rejects(own.applications.list(), (e) => e.statusCode === 403 && e instanceof BasisTheory.ForbiddenError);

  await client.applications.delete(app.id);
  await assert.rejects(client.applications.get(app.id), (e) => e.statusCode === 404 && e instanceof BasisTheory.NotFoundError);
});

test('permissions: the catalog by application type', async () => {
  const perms = await client.permissions.list({ applicationType: 'private' });
  const types = perms.map((p) => p.type);
  assert.ok(types.includes('token:use'));
  assert.ok(!types.includes('reactor:create'));
  assert.deepEqual(perms.find((p) => p.type === 'token:use').applicationTypes, ['private']);
});

test('reactors: reactAsync then results.get answers like react', async () => {
  const app = await client.applications.create({ name: 'sdk async caller', type: 'private', permissions: ['token:use'] });
  const caller = new BasisTheoryClient({ apiKey: app.key, environment });
  const reactor = await client.reactors.create({ name: 'sdk async', code: 'module.exports = async (req) => ({ raw: { doubled: req.args.n * 2 } })' });

  const accepted = await caller.reactors.reactAsync(reactor.id, { args: { n: 21 } });
  assert.match(accepted.asyncReactorRequestId, /^[0-9a-f-]{36}$/);
  let result;
  for (let i = 0; i < 300; i++) {
    const { data, rawResponse } = await caller.reactors.results.get(reactor.id, accepted.asyncReactorRequestId).withRawResponse();
    if (rawResponse.status === 200) { result = data; break; }
    assert.equal(rawResponse.status, 202);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(result.raw, { doubled: 42 });
  await assert.rejects(caller.reactors.results.get(reactor.id, '00000000-0000-0000-0000-000000000000'), (e) => e.statusCode === 404 && e instanceof BasisTheory.NotFoundError);
  await client.reactors.delete(reactor.id);
});

test('error cases: 403, 409, 415 in the error format', async () => {
  const reactor = await client.reactors.create({ name: 'sdk errors', code: 'module.exports = async () => ({ raw: 1 })' });
  // The management application lacks token:use.
  await assert.rejects(client.reactors.react(reactor.id, { args: {} }), (e) => e.statusCode === 403 && e instanceof BasisTheory.ForbiddenError && e.body.status === 403);
  // The deployment's own management application cannot be deleted.
  const self = await client.applications.getByKey();
  await assert.rejects(client.applications.delete(self.id), (e) => e.statusCode === 409 && e.body.status === 409 && /cannot be deleted/.test(e.body.detail));
  // PATCH takes application/merge-patch+json only.
  await assert.rejects(client.reactors.patch(reactor.id, { name: 'x' }, { headers: { 'Content-Type': 'application/json' } }),
    (e) => e.statusCode === 415 && e.body.title === 'Unsupported Media Type');
  await client.reactors.delete(reactor.id);
});

test('tokens: create, get, delete; detokenization and tokenize through react', async () => {
  const app = await client.applications.create({ name: 'sdk tokens', type: 'private', permissions: ['token:create', 'token:read', 'token:reveal', 'token:delete', 'token:use'] });
  const bt = new BasisTheoryClient({ apiKey: app.key, environment });
  const card = await bt.tokens.create({ type: 'card', data: { number: '4242424242424242', expiration_month: 12, expiration_year: 2030 } });
  assert.match(card.id, /^[0-9a-f-]{36}$/);
  assert.equal(card.type, 'card');
  assert.equal(card.data.number, 'XXXXXXXXXXXX4242');
  const got = await bt.tokens.get(card.id);
  assert.equal(got.data.number, '4242424242424242');

  const reactor = await client.reactors.create({ name: 'sdk detok', code: "module.exports = async (req) => ({ raw: { last4: req.args.number.slice(-4) }, tokenize: { type: 'social_security_number', data: '123-45-6789' } })" });
  const res = await bt.reactors.react(reactor.id, { args: { number: `{{ ${card.id} | json: '$.number' }}` } });
  assert.deepEqual(res.raw, { last4: '4242' });
  assert.equal(res.tokens.data, 'XXX-XX-6789');
  await assert.rejects(bt.reactors.react(reactor.id, { args: { n: '{{ 00000000-0000-0000-0000-000000000000 }}' } }), (e) => e.statusCode === 400);

  await bt.tokens.delete(card.id);
  await assert.rejects(bt.tokens.get(card.id), (e) => e.statusCode === 404 && e instanceof BasisTheory.NotFoundError);
  await client.reactors.delete(reactor.id);
});
