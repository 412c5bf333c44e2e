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

test('proxies: an anonymous proxy acts as its application; legacy transform fields are echoed', async () => {
  // Only public and private applications can be a proxy's.
  const mgmt = await client.applications.create({ name: 'sdk mgmt', type: 'management', permissions: ['proxy:read'] });
  await assert.rejects(
    client.proxies.create({ name: 'sdk anon', destinationUrl: 'https://example.com', requireAuth: false, application: { id: mgmt.id } }),
    (e) => e.statusCode === 400 && Boolean(e.body.errors['application.id']),
  );

  // A require_auth:false proxy without an application detokenizes nothing.
  const writer = await client.applications.create({ name: 'sdk writer', type: 'private', permissions: ['token:create'] });
  const token = await new BasisTheoryClient({ apiKey: writer.key, environment }).tokens.create({ type: 'token', data: 'secret' });
  const anon = await client.proxies.create({ name: 'sdk anon', destinationUrl: 'https://example.com', requireAuth: false });
  const res = await fetch(`${environment}/proxy?bt-proxy-key=${anon.key}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ v: `{{ ${token.id} }}` }),
  });
  assert.equal(res.status, 403);
  assert.equal((await res.json()).proxy_error.status, 403);

  const legacy = await client.proxies.create({
    name: 'sdk legacy', destinationUrl: 'https://example.com',
    requestTransform: { code: 'module.exports = async (req) => ({ body: req.args.body, headers: req.args.headers })' },
  });
  assert.equal(typeof legacy.requestTransform.code, 'string');
  assert.equal(legacy.requestTransforms.length, 1);
  assert.equal((await client.proxies.get(legacy.id)).requestTransform.code, legacy.requestTransform.code);
});
