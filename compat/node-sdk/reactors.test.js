// The official SDK against a running reactord: REACTORD_URL and REACTORD_KEY say where.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { BasisTheoryClient, BasisTheory } = require('@basis-theory/node-sdk');

const environment = process.env.REACTORD_URL;
const client = new BasisTheoryClient({ apiKey: process.env.REACTORD_KEY, environment });

// react needs token:use, which only private applications hold: the management client
// creates one, as a user of the platform would.
let privateClient;
async function caller() {
  if (!privateClient) {
    const app = await client.applications.create({ name: 'sdk caller', type: 'private', permissions: ['token:use', 'token:create', 'token:read', 'token:delete'] });
    privateClient = new BasisTheoryClient({ apiKey: app.key, environment });
  }
  return privateClient;
}

test('reactors: create, get, list, react, update, patch, delete', async () => {
  const created = await client.reactors.create({
    name: 'sdk reactor',
    code: 'module.exports = async (req) => ({ raw: { hello: req.args.name, key: req.configuration.SERVICE_API_KEY } })',
    configuration: { SERVICE_API_KEY: 'key_abcd1234' },
  });
  assert.match(created.id, /^[0-9a-f-]{36}$/);
  assert.equal(created.name, 'sdk reactor');
  assert.ok(created.createdAt instanceof Date || typeof created.createdAt === 'string');

  const got = await client.reactors.get(created.id);
  assert.equal(got.name, 'sdk reactor');
  assert.deepEqual(got.configuration, { SERVICE_API_KEY: 'key_abcd1234' });

  const page = await client.reactors.list({ name: 'sdk reactor' });
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0].id, created.id);
  // name is a wildcard search: a part of the name, in any case.
  const partial = await client.reactors.list({ name: 'K REAC' });
  assert.deepEqual(partial.data.map((r) => r.id), [created.id]);

  const res = await (await caller()).reactors.react(created.id, { args: { name: 'sdk' } });
  assert.deepEqual(res.raw, { hello: 'sdk', key: 'key_abcd1234' });

  const updated = await client.reactors.update(created.id, { name: 'sdk reactor v2', code: 'module.exports = async () => ({ raw: "v2" })' });
  assert.equal(updated.name, 'sdk reactor v2');

  await client.reactors.patch(created.id, { name: 'sdk reactor v3' });
  assert.equal((await client.reactors.get(created.id)).name, 'sdk reactor v3');

  await client.reactors.delete(created.id);
  await assert.rejects(client.reactors.get(created.id), (e) => e.statusCode === 404);
});

test('reactors: error cases parse as the SDK expects', async () => {
  const bad = new BasisTheoryClient({ apiKey: 'key_wrong', environment });
  await assert.rejects(bad.reactors.list(), (e) => e.statusCode === 401 && e instanceof BasisTheory.UnauthorizedError);
  await assert.rejects(client.reactors.get('00000000-0000-0000-0000-000000000000'), (e) => e.statusCode === 404 && e instanceof BasisTheory.NotFoundError);
  await assert.rejects(client.reactors.create({ name: 'no export', code: 'const a = 1' }), (e) => e.statusCode === 422 && /export a function/.test(JSON.stringify(e.body)));
  await assert.rejects(client.reactors.create({ name: '', code: 'module.exports = () => 1' }), (e) => e.statusCode === 400 && e.body.errors.name.length === 1);
  const thrower = await client.reactors.create({ name: 'thrower', code: "module.exports = async () => { throw new (require('@basis-theory/basis-theory-reactor-formulas-sdk-js').BadRequestError)('card expired') }" });
  await assert.rejects((await caller()).reactors.react(thrower.id, { args: {} }), (e) => e.statusCode === 400 && e.body.detail === 'card expired');
});
