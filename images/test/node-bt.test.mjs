// node-bt's curated packages: required without being declared, preloaded into the
// image, and behaving as the same packages do under Node (compared against the copies in
// images/node_modules).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Layer, run, value } from './harness.mjs';

const nodeRequire = createRequire(import.meta.url);
const AsyncFunction = (async () => {}).constructor;
async function inNode(body) {
  return JSON.parse(JSON.stringify(await new AsyncFunction('require', body)(nodeRequire)));
}

const layer = new Layer('node-bt');
after(() => layer.dispose());

const parity = {
  maskdata: `const MaskData = require('maskdata'); return [
    MaskData.maskCard('4242424242424242', { maskWith: '*', unmaskedStartDigits: 0, unmaskedEndDigits: 4 }),
    MaskData.maskCard('4242-4242-4242-4242', { maskWith: 'X', unmaskedStartDigits: 4, unmaskedEndDigits: 1 }),
    MaskData.maskEmail2('someone.special@example.com'), MaskData.maskPhone('+911234567890', { maskWith: '*', unmaskedStartDigits: 5, unmaskedEndDigits: 1 }),
    MaskData.maskPassword('secret-pass'), MaskData.maskJSON2({ card: '4242424242424242', email: 'a@b.co', other: 'kept' }, { cardFields: ['card'], emailFields: ['email'] }),
    MaskData.maskString('sensitive', { maskWith: '#', unmaskedStartCharacters: 2, unmaskedEndCharacters: 2 })]`,
  lodash: `const _ = require('lodash'); return [_.chunk([1, 2, 3, 4, 5], 2), _.get({ a: [{ b: 1 }] }, 'a[0].b'), _.set({}, 'x.y[1]', 'v'), _.merge({ a: { b: 1 } }, { a: { c: 2 } }),
    _.pick({ a: 1, b: 2 }, ['a']), _.omit({ a: 1, b: 2 }, 'a'), _.groupBy(['one', 'two', 'three'], 'length'), _.camelCase('Foo Bar-baz'), _.snakeCase('fooBar'),
    _.isEqual({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), _.uniqBy([{ id: 1 }, { id: 1 }, { id: 2 }], 'id'), _.template('hi <%= name %>')({ name: 'bob' }),
    _.sortBy([{ n: 3 }, { n: 1 }], 'n'), _.cloneDeep({ d: [1, { e: 2 }] }), _.VERSION]`,
  dayjs: `const dayjs = require('dayjs'); const d = dayjs('2024-02-29T13:45:30.123Z');
    return [d.isValid(), d.toISOString(), d.add(1, 'year').toISOString(), d.startOf('month').toISOString(), dayjs('2024-01-01').diff('2023-01-01', 'day'),
      dayjs('not a date').isValid(), d.valueOf(), dayjs(0).toJSON(), d.day(), dayjs('2020-01-15').format('YYYY-MM-DD')]`,
  'uuid v5 and validation': `const uuid = require('uuid'); return [uuid.v5('hello', uuid.v5.DNS), uuid.v3('hello', uuid.v3.URL), uuid.validate('not-a-uuid'),
    uuid.validate('6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b'), uuid.version('6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b'), uuid.NIL, Array.from(uuid.parse(uuid.NIL)).length,
    uuid.stringify(uuid.parse('6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b'))]`,
};

for (const [name, body] of Object.entries(parity)) {
  test(`node-bt curated: ${name} behaves as under Node`, async () => {
    assert.deepStrictEqual(await value(layer, body), await inNode(body));
  });
}

test('node-bt curated: the example reactor masks a card', async () => {
  const code = `const MaskData = require('maskdata');
module.exports = async function (req) {
  const { card_number } = req.args;
  return { raw: { masked_card: MaskData.maskCard(card_number, { maskWith: '*', unmaskedStartDigits: 0, unmaskedEndDigits: 4 }) } };
};`;
  const r = await run('node-bt', code, { args: { card_number: '4242424242424242' } });
  assert.deepStrictEqual(r.value, { raw: { masked_card: '************4242' } });
});

test('node-bt curated: uuid v4 and v1 formats', async () => {
  const got = await value(layer, `const { v4, v1, validate, version } = require('uuid'); const ids = Array.from({ length: 20 }, () => v4());
    return [ids.every((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)), new Set(ids).size, validate(v1()), version(v1())];`);
  assert.deepStrictEqual(got, [true, 20, true, 1]);
});

test('node-bt curated: dayjs format is deterministic in UTC', async () => {
  const body = `const dayjs = require('dayjs'); return dayjs(Date.UTC(2024, 0, 5, 7, 8, 9)).format('YYYY-MM-DD HH:mm:ss ddd MMM');`;
  // QuickJS runs in UTC: compare with Node's UTC rendering
  const got = await value(layer, body);
  const d = new Date(Date.UTC(2024, 0, 5, 7, 8, 9));
  assert.equal(got, `2024-01-05 07:08:09 ${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()]} Jan`);
});

test('node-bt curated: require returns the same cached objects', async () => {
  const got = await value(layer, `return ['maskdata', 'lodash', 'uuid', 'dayjs', 'node-fetch'].map((m) => [typeof require(m), require(m) === require(m)]);`);
  assert.deepStrictEqual(got, [['function', true], ['function', true], ['object', true], ['function', true], ['function', true]]);
});

test('node-bt curated: node-fetch wraps the global fetch', async () => {
  const requests = [];
  const l = new Layer('node-bt', {
    asyncHandler: async (op, arg) => {
      requests.push(arg);
      if (arg.url.includes('down')) throw new Error('connection reset');
      return { status: 200, headers: { 'content-type': 'application/json' }, body_base64: Buffer.from('{"hello":"world"}').toString('base64') };
    },
  });
  try {
    l.load(`const fetch = require('node-fetch'); const { Headers, Response, Request, FetchError } = require('node-fetch');
      module.exports = async () => {
        const res = await fetch('https://api.example/x', { method: 'POST', body: 'payload', headers: new Headers({ 'X-A': '1' }) });
        const out = [res.status, await res.json(), fetch.default === fetch, typeof Response, typeof Request, res.headers.raw()['content-type']];
        try { await fetch('https://down.example/'); } catch (e) { out.push([e.name, e instanceof FetchError, e.type, e.message]); }
        return out;
      };`);
    const r = await l.invoke();
    assert.deepStrictEqual(r.value, [200, { hello: 'world' }, true, 'function', 'function', ['application/json'],
      ['FetchError', true, 'system', 'request to https://down.example/ failed, reason: connection reset']]);
    assert.equal(requests[0].body, 'payload');
    assert.equal(requests[0].headers['x-a'], '1');
  } finally {
    l.dispose();
  }
});

test('node22 does not ship the curated packages', async () => {
  const got = await run('node22', `module.exports = async () => ['maskdata', 'lodash', 'uuid', 'dayjs', 'node-fetch'].map((m) => { try { require(m); return 'loaded'; } catch (e) { return e.code; } });`);
  assert.deepStrictEqual(got.value, ['MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'MODULE_NOT_FOUND']);
});
