// Proxies through the official SDK against a running reactord (REACTORD_URL,
// REACTORD_KEY): the proxies resource and a call through /proxy.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { BasisTheoryClient, BasisTheory } = require('@basis-theory/node-sdk');

const environment = process.env.REACTORD_URL;
const client = new BasisTheoryClient({ apiKey: process.env.REACTORD_KEY, environment });

test('proxies: create, get, list, update, patch, delete', async () => {
  const created = await client.proxies.create({
    name: 'sdk proxy',
    destinationUrl: 'https://example.com/api',
    requestTransforms: [{ type: 'code', code: 'module.exports = async (req) => ({ body: req.args.body, headers: req.args.headers })' }],
    responseTransforms: [{ type: 'mask', matcher: 'regex', expression: '(\\d{4})', replacement: '*' }],
    configuration: { SERVICE_API_KEY: 'key_abcd1234' },
    requireAuth: false,
  });
  assert.match(created.id, /^[0-9a-f-]{36}$/);
  assert.equal(typeof created.key, 'string');
  assert.equal(created.destinationUrl, 'https://example.com/api');
  assert.equal(created.requireAuth, false);
  assert.equal(created.requestTransforms.length, 1);

  const got = await client.proxies.get(created.id);
  assert.equal(got.name, 'sdk proxy');
  assert.deepEqual(got.configuration, { SERVICE_API_KEY: 'key_abcd1234' });

  const page = await client.proxies.list({ name: 'sdk proxy' });
  assert.equal(page.data.length, 1);
  assert.equal(page.data[0].id, created.id);

  const updated = await client.proxies.update(created.id, { name: 'sdk proxy 2', destinationUrl: 'https://example.com/v2' });
  assert.equal(updated.name, 'sdk proxy 2');
  assert.equal(updated.destinationUrl, 'https://example.com/v2');

  await client.proxies.patch(created.id, { name: 'sdk proxy 3' });
  assert.equal((await client.proxies.get(created.id)).name, 'sdk proxy 3');

  await client.proxies.delete(created.id);
  await assert.rejects(client.proxies.get(created.id), (e) => e.statusCode === 404 && e instanceof BasisTheory.NotFoundError);
  await assert.rejects(client.proxies.create({ name: '', destinationUrl: 'not a url' }), (e) => e.statusCode === 400 && Boolean(e.body.errors.destination_url));
});
