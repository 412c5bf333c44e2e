// The host ABI (docs/host-abi.md) as the layers implement it: load, the two handler
// contracts, result and error reporting, the module system, and robustness against
// reactor code tampering with intrinsics.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Layer, run, value } from './harness.mjs';

const IMAGES = ['node-bt', 'node22'];
const SDK = '@basis-theory/basis-theory-reactor-formulas-sdk-js';

const shared = Object.fromEntries(IMAGES.map((i) => [i, new Layer(i)]));
after(() => Object.values(shared).forEach((l) => l.dispose()));

test('__host is gone and __reactor is locked down', async () => {
  for (const image of IMAGES) {
    const l = shared[image];
    const got = l.eval(`JSON.stringify([typeof __host, typeof globalThis.__host, Object.keys(globalThis).includes('__reactor'),
      Object.isFrozen(__reactor), (() => { const d = Object.getOwnPropertyDescriptor(globalThis, '__reactor'); return [d.writable, d.configurable, d.enumerable]; })(),
      (() => { try { globalThis.__reactor = null; } catch (e) {} return typeof __reactor.invoke; })(), Object.keys(__reactor).sort()])`);
    assert.deepStrictEqual(JSON.parse(got), ['undefined', 'undefined', false, true, [false, false, false], 'function', ['invoke', 'load', 'tick', 'warm']], image);
  }
});

test('contracts: node-bt gets {args, configuration, bt}; node22 gets {req, configuration, bt, logger}', async () => {
  const code = `module.exports = async function (input) { return { raw: { keys: Object.keys(input).sort(), input } }; };`;
  const inv = { args: { card: '4242' }, configuration: { KEY: 'value' } };
  const bt = await run('node-bt', code, inv);
  assert.deepStrictEqual(bt.value, { raw: { keys: ['args', 'bt', 'configuration'], input: { args: { card: '4242' }, configuration: { KEY: 'value' }, bt: null } } });
  const n22 = await run('node22', code, inv);
  assert.deepStrictEqual(n22.value, { raw: { keys: ['bt', 'configuration', 'logger', 'req'], input: { req: { card: '4242' }, configuration: { KEY: 'value' }, bt: null, logger: {} } } });
});

const exportCases = [
  { name: 'module.exports function', code: `module.exports = async () => 'a';`, want: 'a' },
  { name: 'sync function', code: `module.exports = () => ({ sync: true });`, want: { sync: true } },
  { name: 'exports.default', code: `exports.default = async () => 'default';`, want: 'default' },
  { name: 'exports.handler', code: `exports.handler = async function () { return this.helper(); }; exports.helper = () => 'handler with this';`, want: 'handler with this' },
  { name: 'returns undefined', code: `module.exports = async () => {};`, want: null },
  { name: 'returns a string', code: `module.exports = async () => 'text';`, want: 'text' },
  { name: 'returns a thenable', code: `module.exports = () => ({ then(r) { r(42); } });`, want: 42 },
];

for (const tc of exportCases) {
  test(`load and invoke: ${tc.name}`, async () => {
    for (const image of IMAGES) {
      const r = await run(image, tc.code);
      assert.equal(r.ok, true, `${image}: ${JSON.stringify(r)}`);
      assert.deepStrictEqual(r.value, tc.want, image);
    }
  });
}

const loadFailures = [
  { name: 'no export', code: `const x = 1;` },
  { name: 'exports an object', code: `module.exports = { notAFunction: true };` },
  { name: 'exports a string', code: `module.exports = 'nope';` },
];

for (const tc of loadFailures) {
  test(`load message: ${tc.name}`, async () => {
    for (const image of IMAGES) {
      const r = await run(image, tc.code);
      assert.match(r.loadMessage, /^reactor code must export a function \(module\.exports = async function \((req|event)\) \{\.\.\.\}\)$/, image);
    }
  });
}

test('load: an exception in the module body propagates', () => {
  const l = new Layer('node22');
  try {
    assert.throws(() => l.load(`throw new Error('bad module');`), /bad module/);
    assert.throws(() => l.load(`require('left-pad-not-bundled');`), /Cannot find module 'left-pad-not-bundled'/);
  } finally {
    l.dispose();
  }
});

test('load: module, exports, require, __filename, __dirname', async () => {
  const r = await run('node22', `const info = [typeof module, module.exports === exports, typeof require, typeof require.resolve, __filename, __dirname, this === module.exports, require.main === module];
    module.exports = async () => info;`);
  assert.deepStrictEqual(r.value, ['object', true, 'function', 'function', '/reactor/index.js', '/reactor', true, true]);
});

const sdkErrors = [
  ['AuthenticationError', 401],
  ['AuthorizationError', 403],
  ['BadRequestError', 400],
  ['InvalidPaymentMethodError', 402],
  ['RateLimitError', 429],
  ['ReactorRuntimeError', 500],
  ['ServiceUnavailableError', 503],
];

for (const [name, status] of sdkErrors) {
  test(`SDK error ${name} is reported with status ${status}`, async () => {
    for (const image of IMAGES) {
      const l = shared[image];
      l.load(`const E = require('node:${SDK}'); module.exports = async () => { throw new E.${name}('went wrong'); };`);
      const r = await l.invoke();
      assert.equal(r.ok, false);
      assert.equal(r.error.name, name);
      assert.equal(r.error.message, 'went wrong');
      assert.equal(r.error.status, status);
      assert.deepStrictEqual(r.error.errors, { error: ['went wrong'] });
      assert.match(r.error.stack, new RegExp(`^${name}: went wrong\\n    at `));
      // errors object and instance checks
      l.load(`const E = require('${SDK}'); module.exports = async () => {
        const e = new E.${name}({ card: ['is expired'], cvc: 'missing' });
        return [e instanceof Error, e instanceof E.${name}, e.status, e.errors, e.name, typeof e.message];
      };`);
      const r2 = await l.invoke();
      assert.deepStrictEqual(r2.value, [true, true, status, { card: ['is expired'], cvc: ['missing'] }, name, 'string']);
    }
  });
}

const thrownCases = [
  {
    name: 'errors object',
    code: `const { BadRequestError } = require('${SDK}'); throw new BadRequestError({ card: ['is expired'] });`,
    want: { name: 'BadRequestError', message: 'Bad Request', status: 400, errors: { card: ['is expired'] } },
  },
  {
    name: 'CustomHttpResponseError',
    code: `const { CustomHttpResponseError } = require('${SDK}'); throw new CustomHttpResponseError({ status: 418, headers: { 'X-Vendor': 'teapot' }, body: { brewed: false } });`,
    want: { name: 'CustomHttpResponseError', message: '', status: 418, custom: { status: 418, headers: { 'X-Vendor': 'teapot' }, body: { brewed: false } } },
  },
  {
    name: 'CustomHttpResponseError with a text body',
    code: `const { CustomHttpResponseError } = require('${SDK}'); throw new CustomHttpResponseError({ status: 302, headers: { Location: '/x' }, body: 'moved' });`,
    want: { name: 'CustomHttpResponseError', message: '', status: 302, custom: { status: 302, headers: { Location: '/x' }, body: 'moved' } },
  },
  {
    name: 'a plain error named CustomHttpResponseError (own copy of the SDK)',
    code: `const e = new Error(); e.name = 'CustomHttpResponseError'; e.status = 409; e.headers = { a: 'b' }; e.body = { conflict: true }; throw e;`,
    want: { name: 'CustomHttpResponseError', message: '', status: 409, custom: { status: 409, headers: { a: 'b' }, body: { conflict: true } } },
  },
  { name: 'plain Error with status', code: `throw Object.assign(new Error('vendor said no'), { status: 422 });`, want: { name: 'Error', message: 'vendor said no', status: 422 } },
  { name: 'non-numeric status is dropped', code: `throw Object.assign(new Error('x'), { status: '400' });`, want: { name: 'Error', message: 'x' } },
  { name: 'TypeError', code: `null.x;`, want: { name: 'TypeError', message: "cannot read property 'x' of null" } },
  { name: 'thrown string', code: `throw 'just a string';`, want: { name: 'Error', message: 'just a string' } },
  { name: 'thrown number', code: `throw 42;`, want: { name: 'Error', message: '42' } },
  { name: 'thrown undefined', code: `throw undefined;`, want: { name: 'Error', message: 'undefined' } },
  { name: 'thrown symbol', code: `throw Symbol('s');`, want: { name: 'Error', message: 'Symbol(s)' } },
  { name: 'rejected promise', code: `await Promise.reject(new RangeError('async fail'));`, want: { name: 'RangeError', message: 'async fail' } },
  { name: 'error-like object', code: `throw { name: 'VendorError', message: 'declined', status: 402 };`, want: { name: 'VendorError', message: 'declined', status: 402 } },
  { name: 'circular errors are dropped', code: `const e = new Error('c'); e.errors = {}; e.errors.self = e.errors; throw e;`, want: { name: 'Error', message: 'c' } },
  { name: 'throwing getters', code: `const e = new Error('g'); Object.defineProperty(e, 'status', { get() { throw new Error('no'); } }); throw e;`, want: { name: 'Error', message: 'g' } },
  { name: 'result with a cycle', code: `const o = {}; o.o = o; return o;`, want: { name: 'TypeError' }, message: /^reactor result cannot be serialized to JSON: / },
  { name: 'result with a BigInt', code: `return { n: 1n };`, want: { name: 'TypeError' }, message: /^reactor result cannot be serialized to JSON: / },
  { name: 'error in a timer callback', code: `await new Promise(() => setTimeout(() => { throw new Error('from a timer'); }, 1));`, want: { name: 'Error', message: 'from a timer' } },
  { name: 'error in a microtask', code: `await new Promise(() => queueMicrotask(() => { throw new SyntaxError('from a microtask'); }));`, want: { name: 'SyntaxError', message: 'from a microtask' } },
  { name: 'error in process.nextTick', code: `await new Promise(() => process.nextTick(() => { throw new Error('from nextTick'); }));`, want: { name: 'Error', message: 'from nextTick' } },
  { name: 'process.exit', code: `process.exit(1);`, want: { name: 'Error' }, message: /process\.exit\(1\)/ },
  { name: 'unhandled emitter error', code: `const E = require('events'); new E().emit('error', new Error('nobody listens'));`, want: { name: 'Error', message: 'nobody listens' } },
];

for (const tc of thrownCases) {
  test(`fail: ${tc.name}`, async () => {
    for (const image of IMAGES) {
      const l = shared[image];
      l.load(`module.exports = async () => { ${tc.code} };`);
      const r = await l.invoke();
      assert.equal(r.ok, false, `${image}: ${JSON.stringify(r)}`);
      const { stack, ...rest } = r.error;
      if (stack !== undefined) assert.equal(typeof stack, 'string');
      if (tc.message) {
        assert.match(rest.message, tc.message);
        delete rest.message;
      }
      assert.deepStrictEqual(rest, tc.want, image);
    }
  });
}

test('results: JSON of the returned value, undefined becomes null, toJSON honored', async () => {
  const cases = [
    [`return { raw: { a: [1, 'two', null], d: new Date(0) } };`, '{"raw":{"a":[1,"two",null],"d":"1970-01-01T00:00:00.000Z"}}'],
    [`return undefined;`, 'null'],
    [`return () => 1;`, 'null'],
    [`return { toJSON() { return 'custom'; } };`, '"custom"'],
    [`return 'line\\u0000nul';`, '"line\\u0000nul"'],
    [`return { s: '\\ud800' };`, '{"s":"\\ud800"}'],
  ];
  for (const [body, want] of cases) {
    const r = await run('node-bt', `module.exports = async () => { ${body} };`);
    assert.equal(r.text, want, body);
  }
});

const unavailable = ['fs', 'child_process', 'dgram', 'dns', 'cluster', 'worker_threads', 'vm', 'v8', 'os', 'module', 'http2', 'inspector', 'perf_hooks', 'readline', 'repl', 'tty', 'fs/promises'];

test('unavailable modules throw ERR_NOT_AVAILABLE_IN_REACTORS, with and without node:', async () => {
  for (const image of IMAGES) {
    const got = await value(shared[image], `return ${JSON.stringify(unavailable)}.flatMap((m) => [m, 'node:' + m]).map((m) => { try { require(m); return 'loaded ' + m; } catch (e) { return [e.message, e.code]; } });`);
    const want = unavailable.flatMap((m) => [m, m]).map((m) => [`Module '${m}' is not available in reactors`, 'ERR_NOT_AVAILABLE_IN_REACTORS']);
    assert.deepStrictEqual(got, want, image);
  }
});

test('unknown modules throw MODULE_NOT_FOUND', async () => {
  for (const image of IMAGES) {
    const got = await value(shared[image], `return ['left-pad', './local', '../up', '/abs/path', 'node:nope', '@scope/pkg', 'lodash/fp'].map((m) => { try { require(m); return 'loaded'; } catch (e) { return [e.message, e.code]; } });`);
    assert.deepStrictEqual(got, [
      ["Cannot find module 'left-pad'", 'MODULE_NOT_FOUND'],
      ["Cannot find module './local'", 'MODULE_NOT_FOUND'],
      ["Cannot find module '../up'", 'MODULE_NOT_FOUND'],
      ["Cannot find module '/abs/path'", 'MODULE_NOT_FOUND'],
      ["Cannot find module 'node:nope'", 'MODULE_NOT_FOUND'],
      ["Cannot find module '@scope/pkg'", 'MODULE_NOT_FOUND'],
      ["Cannot find module 'lodash/fp'", 'MODULE_NOT_FOUND'],
    ], image);
  }
});

const builtins = ['buffer', 'crypto', 'events', 'stream', 'stream/promises', 'util', 'util/types', 'url', 'querystring', 'string_decoder', 'path', 'path/posix', 'assert', 'assert/strict', 'timers', 'timers/promises', 'process', 'console', 'punycode', SDK];

test('built-in modules load, node: prefixed or not, and are cached', async () => {
  for (const image of IMAGES) {
    const got = await value(shared[image], `return ${JSON.stringify(builtins)}.map((m) => { const a = require(m); const b = require(m.startsWith('@') ? m : 'node:' + m); return [m, typeof a, a === b]; });`);
    assert.deepStrictEqual(got, builtins.map((m) => [m, m === 'assert' || m === 'assert/strict' || m === 'events' || m === 'stream' ? 'function' : 'object', true]), image);
  }
});

test('globals and modules agree', async () => {
  const got = await value(shared.node22, `return [require('buffer').Buffer === Buffer, require('process') === process, require('console') === console,
    require('timers').setTimeout === setTimeout, require('url').URL === URL, require('util').TextEncoder === TextEncoder, require('crypto').webcrypto === crypto,
    require('events') === require('events').EventEmitter, require('stream').Readable === require('stream').Stream.Readable]`);
  assert.deepStrictEqual(got, [true, true, true, true, true, true, true, true, true]);
});

test('console: levels, util.format formatting, one host line per call', async () => {
  const l = new Layer('node22');
  try {
    l.load(`module.exports = async () => {
      console.log('hello %s, you are %d', 'ann', 42, { a: 1 });
      console.info('info'); console.warn('warn'); console.error(new Error('boom').message); console.debug('debug %j', { j: [1] });
      console.log([1, 2, 3], null, undefined, 'str', 5n);
      console.group('group'); console.log('inside'); console.groupEnd(); console.log('outside');
      console.count(); console.count(); console.assert(false, 'assertion %s', 'text'); console.assert(true, 'not shown');
      console.dir({ deep: { deeper: { deepest: {} } } }, { depth: 0 });
      console.table([{ a: 1, b: 'x' }, { a: 2 }]);
      process.stdout.write('raw stdout\\n');
      const { log } = console; log('detached');
      return 1;
    };`);
    const r = await l.invoke();
    assert.deepStrictEqual(r.logs, [
      { level: 'log', text: 'hello ann, you are 42 { a: 1 }' },
      { level: 'info', text: 'info' },
      { level: 'warn', text: 'warn' },
      { level: 'error', text: 'boom' },
      { level: 'debug', text: 'debug {"j":[1]}' },
      { level: 'log', text: "[ 1, 2, 3 ] null undefined str 5n" },
      { level: 'log', text: 'group' },
      { level: 'log', text: '  inside' },
      { level: 'log', text: 'outside' },
      { level: 'info', text: 'default: 1' },
      { level: 'info', text: 'default: 2' },
      { level: 'warn', text: 'Assertion failed: assertion text' },
      { level: 'log', text: '{ deep: [Object] }' },
      {
        level: 'log',
        text: '┌─────────┬───┬─────┐\n│ (index) │ a │  b  │\n├─────────┼───┼─────┤\n│    0    │ 1 │ \'x\' │\n│    1    │ 2 │     │\n└─────────┴───┴─────┘',
      },
      { level: 'log', text: 'raw stdout' },
      { level: 'log', text: 'detached' },
    ]);
  } finally {
    l.dispose();
  }
});

test('console: an error prints with its Node-style stack', async () => {
  const r = await run('node22', `module.exports = async () => { const e = new TypeError('bad input'); e.code = 'E_BAD'; console.error(e); return 1; };`);
  assert.match(r.logs[0].text, /^TypeError: bad input\n    at .*reactor\.js:1:\d+.* \{\n  code: 'E_BAD'\n\}$/s);
});

const tamperings = {
  'JSON.stringify and JSON.parse': `JSON.stringify = () => '"hijacked"'; JSON.parse = () => ({ hijacked: true });`,
  'Promise.prototype.then': `Promise.prototype.then = function () { throw new Error('no then'); };`,
  'Promise.resolve and Promise': `Promise.resolve = () => { throw new Error('nope'); }; globalThis.Promise = function () { throw new Error('no promises'); };`,
  console: `globalThis.console = null;`,
  'Array.prototype methods': `Array.prototype.push = () => 0; Array.prototype.splice = () => []; Array.prototype[Symbol.iterator] = function* () {};`,
  'Map.prototype methods': `Map.prototype.get = () => undefined; Map.prototype.set = () => { throw new Error('no set'); }; Map.prototype.delete = () => false;`,
  'Function.prototype.call/apply and Reflect': `Function.prototype.call = () => 'x'; Function.prototype.apply = () => 'x'; Reflect.apply = () => 'x';`,
  'Object.prototype pollution': `Object.prototype.polluted = 'yes'; Object.defineProperty(Object.prototype, 'name', { set() { throw new Error('setter'); }, configurable: true });`,
  '__reactor and Math.random': `try { globalThis.__reactor = null; } catch (e) {} Math.random = () => 4;`,
  'Error.prepareStackTrace': `Error.prepareStackTrace = () => { throw new Error('no stacks'); };`,
  'String.prototype': `String.prototype.slice = () => ''; String.prototype.startsWith = () => false; String.prototype.charCodeAt = () => 0;`,
};

for (const [name, tamper] of Object.entries(tamperings)) {
  test(`tampering with ${name} does not break reporting`, async () => {
    for (const image of IMAGES) {
      const l = new Layer(image);
      try {
        l.load(`module.exports = async (input) => {
          const args = input.args || input.req;
          if (args && args.tamper) { ${tamper} return { raw: 'tampered' }; }
          if (args && args.fail) { ${tamper} throw new Error('failed after tampering'); }
          return { raw: 'clean' };
        };`);
        const r1 = await l.invoke({ args: { tamper: true } });
        assert.equal(r1.text, '{"raw":"tampered"}', `${image}: ${JSON.stringify(r1)}`);
        // the same (warm) instance keeps working
        const r2 = await l.invoke({ args: { fail: true } });
        assert.equal(r2.ok, false, `${image}: ${JSON.stringify(r2)}`);
        assert.equal(r2.error.message, 'failed after tampering');
        const r3 = await l.invoke({ args: {} });
        assert.equal(r3.text, '{"raw":"clean"}', `${image}: ${JSON.stringify(r3)}`);
      } finally {
        l.dispose();
      }
    }
  });
}

test('report exactly once: a late rejection after the result is ignored', async () => {
  const l = new Layer('node22');
  try {
    l.load(`module.exports = async () => { setTimeout(() => { throw new Error('late'); }, 1); return 'early'; };`);
    const r = await l.invoke();
    assert.equal(r.text, '"early"');
    // the next invocation drops the old timer
    l.load(`module.exports = async () => { await new Promise((r) => setTimeout(r, 10)); return 'second'; };`);
    const r2 = await l.invoke();
    assert.equal(r2.text, '"second"');
  } finally {
    l.dispose();
  }
});

test('out of memory is reported as InternalError: out of memory', async () => {
  const l = new Layer('node22', { memoryLimit: 48 * 1024 * 1024 });
  try {
    l.load(`module.exports = async () => { const a = []; for (;;) a.push('x'.repeat(1 << 20) + a.length); };`);
    const r = await l.invoke();
    assert.equal(r.ok, false);
    assert.equal(r.error.name, 'InternalError');
    assert.equal(r.error.message, 'out of memory');
  } finally {
    l.dispose();
  }
});

test('stack overflow is reported as a RangeError', async () => {
  const r = await run('node22', `module.exports = async () => { const f = (n) => f(n + 1) + 1; return f(0); };`);
  assert.equal(r.ok, false);
  assert.equal(r.error.name, 'RangeError');
  assert.match(r.error.message, /stack/);
});
