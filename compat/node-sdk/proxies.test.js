// The official SDK's proxies resource against a running reactord: REACTORD_URL and
// REACTORD_KEY say where.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { BasisTheoryClient, BasisTheory } = require('@basis-theory/node-sdk');

const environment = process.env.REACTORD_URL;
const client = new BasisTheoryClient({ apiKey: process.env.REACTORD_KEY, environment });

const transform = 'module.exports = async (req) => ({ body: req.args.body, headers: req.args.headers })';

test('proxies: create, get, list, update, patch, delete', async () => {
  const created = await client.proxies.create({
    name: 'sdk proxy',
    destinationUrl: 'https://example.com/api',
    requestTransforms: [{ type: 'code', code: transform }],
    responseTransforms: [{ type: 'mask', matcher: 'regex', expression: '(\\d{12})\\d{4}', replacement: '*' }],
    configuration: { SERVICE_API_KEY: 'key_abcd1234' },
    requireAuth: false,
  });
  assert.match(created.id, /^[0-9a-f-]{36}$/);
  assert.equal(created.name, 'sdk proxy');
  assert.equal(created.destinationUrl, 'https://example.com/api');
  assert.equal(created.requireAuth, false);
  assert.equal(created.disableDetokenization, false);
  assert.ok(created.key && created.key.length >= 16);
  assert.equal(created.requestTransforms[0].code, transform);
  assert.equal(created.responseTransforms[0].replacement, '*');

  const got = await client.proxies.get(created.id);
  assert.equal(got.key, created.key);
  assert.deepEqual(got.configuration, { SERVICE_API_KEY: 'key_abcd1234' });

  const page = await client.proxies.list({ name: 'sdk proxy' });
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0].id, created.id);

  const updated = await client.proxies.update(created.id, { name: 'sdk proxy v2', destinationUrl: 'https://example.com/v2' });
  assert.equal(updated.name, 'sdk proxy v2');
  assert.equal(updated.requireAuth, true);
  assert.equal(updated.key, created.key);

  await client.proxies.patch(created.id, { name: 'sdk proxy v3', disableDetokenization: true });
  const patched = await client.proxies.get(created.id);
  assert.equal(patched.name, 'sdk proxy v3');
  assert.equal(patched.destinationUrl, 'https://example.com/v2');
  assert.equal(patched.disableDetokenization, true);

  await client.proxies.delete(created.id);
  await assert.rejects(client.proxies.get(created.id), (e) => e.statusCode === 404 && e instanceof BasisTheory.NotFoundError);
});

test('proxies: validation errors parse as the SDK expects', async () => {
  await assert.rejects(client.proxies.create({ name: '', destinationUrl: 'https://example.com' }),
    (e) => e.statusCode === 400 && e.body.errors.name.length === 1);
  await assert.rejects(client.proxies.create({ name: 'bad code', destinationUrl: 'https://example.com', requestTransforms: [{ code: 'const a = 1' }] }),
    (e) => e.statusCode === 422);
});
