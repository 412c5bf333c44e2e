// Tokenize, list, update and search through the official SDK against a running
// reactord: REACTORD_URL and REACTORD_KEY say where.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const { BasisTheoryClient, BasisTheory } = require('@basis-theory/node-sdk');

const environment = process.env.REACTORD_URL;
const client = new BasisTheoryClient({ apiKey: process.env.REACTORD_KEY, environment });

test('tokens: tokenize, listV2, update, searchV2, deduplication', async () => {
  const app = await client.applications.create({ name: 'sdk tokens api', type: 'private',
    permissions: ['token:create', 'token:read', 'token:reveal', 'token:update', 'token:search', 'token:delete'] });
  const bt = new BasisTheoryClient({ apiKey: app.key, environment });
  const run = `sdk-${Date.now()}`;

  // Tokenize: a composite request mirrored with tokens and ids.
  const out = await bt.tokens.tokenize({
    first_name: 'John',
    primary_card: { type: 'card', data: { number: '4242424242424242', expiration_month: 12, expiration_year: 2025, cvc: '123' }, metadata: { run } },
    sensitive_tags: ['preferred', { type: 'token', data: 'vip', metadata: { run } }],
    ssn: { type: 'social_security_number', data: '123-45-6789', metadata: { run } },
  });
  assert.match(out.first_name, /^[0-9a-f-]{36}$/);
  assert.equal(out.primary_card.type, 'card');
  assert.equal(out.primary_card.data.number, 'XXXXXXXXXXXX4242');
  assert.match(out.sensitive_tags[0], /^[0-9a-f-]{36}$/);
  assert.equal(out.sensitive_tags[1].type, 'token');
  assert.equal(out.ssn.data, 'XXX-XX-6789');

  // listV2 with filters, paged by cursor.
  const page = await bt.tokens.listV2({ metadata: { run }, size: 2 });
  assert.equal(page.data.length, 2);
  assert.ok(page.hasNextPage());
  const ids = [];
  for await (const t of await bt.tokens.listV2({ metadata: { run }, size: 2 })) ids.push(t.id);
  assert.deepEqual(ids.sort(), [out.primary_card.id, out.sensitive_tags[1].id, out.ssn.id].sort());
  const cards = await bt.tokens.listV2({ type: 'card', metadata: { run } });
  assert.deepEqual(cards.data.map((t) => t.id), [out.primary_card.id]);
  assert.equal(cards.data[0].data.number, '4242424242424242', 'token:reveal shows plaintext');

  // update: merge patch of data and metadata, search indexes replaced.
  const updated = await bt.tokens.update(out.sensitive_tags[1].id, {
    data: 'very important', metadata: { run, tier: 'gold' }, searchIndexes: ['{{ data }}'], mask: '{{ data | reveal_last: 4 }}',
  });
  assert.equal(updated.data, 'XXXXXXXXXXtant');
  assert.deepEqual(updated.metadata, { run, tier: 'gold' });
  assert.ok(updated.modifiedAt instanceof Date);
  assert.equal((await bt.tokens.get(updated.id)).data, 'very important');
  await assert.rejects(bt.tokens.update(updated.id, { containers: ['not a container'] }),
    (e) => e.statusCode === 400 && e instanceof BasisTheory.BadRequestError);

  // searchV2: the documented query language over search indexes, metadata and types.
  const bySsn = await bt.tokens.searchV2({ query: `data:6789 AND type:social_security_number AND metadata.run:${run}` });
  assert.deepEqual(bySsn.data.map((t) => t.id), [out.ssn.id]);
  const byData = await bt.tokens.searchV2({ query: `data:"VERY IMPORTANT" AND metadata.tier:GOLD` });
  assert.deepEqual(byData.data.map((t) => t.id), [updated.id]);
  const none = await bt.tokens.searchV2({ query: `metadata.run:${run} AND NOT (type:card OR type:token)` });
  assert.deepEqual(none.data.map((t) => t.id), [out.ssn.id]);
  await assert.rejects(bt.tokens.searchV2({ query: 'data:6789 AND' }), (e) => e.statusCode === 400);

  // deduplicate_token gives back the token holding the same data.
  const a = await bt.tokens.create({ type: 'card_number', data: '5555555555554444', deduplicateToken: true });
  const b = await bt.tokens.create({ type: 'card_number', data: '5555555555554444', deduplicateToken: true });
  assert.equal(a.id, b.id);

  // Without token:search, search is refused.
  const reader = await client.applications.create({ name: 'sdk reader', type: 'private', permissions: ['token:read'] });
  const r = new BasisTheoryClient({ apiKey: reader.key, environment });
  await assert.rejects(r.tokens.searchV2({ query: 'type:card' }), (e) => e.statusCode === 403);
  const masked = await r.tokens.listV2({ type: 'card', metadata: { run } });
  assert.equal(masked.data[0].data.number, 'XXXXXXXXXXXX4242', 'without token:reveal data is masked');
});
