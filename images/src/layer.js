'use strict';
// The Node layer shared by every image: installs the Node/web globals, the module
// registry, and globalThis.__reactor = {load, invoke, warm, tick} (docs/host-abi.md).

// Order matters: intrinsics and the host bridge are captured before anything else runs.
const P = require('./internal/primordials');
const host = require('./internal/host');
const stack = require('./internal/stack');
const prng = require('./internal/prng');
const asyncOps = require('./internal/async');
const timers = require('./node/timers');
const bufferModule = require('./node/buffer');
const encoding = require('./web/encoding');
const EventEmitter = require('./node/events');
const process = require('./node/process');
const console = require('./node/console');
const util = require('./node/util');
const { structuredClone } = require('./web/structured-clone');
const abort = require('./web/abort');
const webURL = require('./web/url');
const crypto = require('./node/crypto');
const fetchModule = require('./web/fetch');
const { sdk, isCustomHttpResponseError } = require('./bt/sdk');
const { createRegistry } = require('./modules');
const intl = require('./intl/lazy');

const { apply, JSONStringify, JSONParse, ObjectDefineProperty, ObjectFreeze, ObjectCreate, String, Error, TypeError } = P;

const SDK_NAME = '@basis-theory/basis-theory-reactor-formulas-sdk-js';
const BT_SDK_NAME = '@basis-theory/basis-theory-js';
const FILENAME = '/reactor/index.js';
const DIRNAME = '/reactor';

// --- globals ---

function defineGlobal(name, value, enumerable = false) {
  ObjectDefineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable });
}

function installGlobals() {
  stack.install();
  prng.seedBytes(new Uint8Array(0));
  ObjectDefineProperty(Math, 'random', { value: prng.random, writable: true, configurable: true, enumerable: false });

  defineGlobal('global', globalThis, true);
  defineGlobal('process', process);
  defineGlobal('Buffer', bufferModule.Buffer);
  defineGlobal('console', console);
  for (const name of ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask']) {
    defineGlobal(name, timers[name], true);
  }
  defineGlobal('structuredClone', structuredClone, true);
  defineGlobal('atob', encoding.atob, true);
  defineGlobal('btoa', encoding.btoa, true);
  defineGlobal('TextEncoder', encoding.TextEncoder);
  defineGlobal('TextDecoder', encoding.TextDecoder);
  defineGlobal('URL', webURL.URL);
  defineGlobal('URLSearchParams', webURL.URLSearchParams);
  defineGlobal('Event', abort.Event);
  defineGlobal('EventTarget', abort.EventTarget);
  defineGlobal('CustomEvent', abort.CustomEvent);
  defineGlobal('AbortController', abort.AbortController);
  defineGlobal('AbortSignal', abort.AbortSignal);
  defineGlobal('crypto', crypto.webcrypto, true);
  defineGlobal('Crypto', crypto.Crypto);
  defineGlobal('CryptoKey', crypto.CryptoKey);
  defineGlobal('SubtleCrypto', crypto.SubtleCrypto);
  defineGlobal('fetch', fetchModule.fetch, true);
  defineGlobal('Headers', fetchModule.Headers);
  defineGlobal('Request', fetchModule.Request);
  defineGlobal('Response', fetchModule.Response);
  intl.install();
}

// --- modules ---

function builtinFactories() {
  const timersModule = {
    setTimeout: timers.setTimeout,
    clearTimeout: timers.clearTimeout,
    setInterval: timers.setInterval,
    clearInterval: timers.clearInterval,
    setImmediate: timers.setImmediate,
    clearImmediate: timers.clearImmediate,
    promises: timers.promises,
  };
  return {
    assert: () => require('./node/assert'),
    'assert/strict': () => require('./node/assert').strict,
    buffer: () => bufferModule,
    console: () => console,
    crypto: () => crypto,
    events: () => EventEmitter,
    path: () => require('path-browserify'),
    'path/posix': () => require('path-browserify'),
    process: () => process,
    punycode: () => require('punycode'),
    querystring: () => require('./node/querystring'),
    stream: () => require('readable-stream/lib/stream.js'),
    'stream/promises': () => require('readable-stream/lib/stream/promises.js'),
    string_decoder: () => require('string_decoder/'),
    sys: () => util,
    timers: () => timersModule,
    'timers/promises': () => timers.promises,
    url: () => require('./node/url'),
    util: () => util,
    'util/types': () => util.types,
    zlib: () => require('./node/zlib'),
    http: () => require('./node/http').http,
    https: () => require('./node/http').https,
    net: () => require('./node/net').net,
    tls: () => require('./node/net').tls,
    [SDK_NAME]: () => sdk,
    // the real SDK as an ordinary module: reactors may create their own instances
    [BT_SDK_NAME]: () => require('@basis-theory/basis-theory-js'),
  };
}

// --- results and errors ---

const OOM_FAIL = '{"name":"InternalError","message":"out of memory"}';
const GENERIC_FAIL = '{"name":"Error","message":"reactor threw a value that could not be reported"}';

let current = null; // the running invocation: {reported}

function report(inv, op, text) {
  if (inv !== current || inv.reported) return;
  inv.reported = true;
  try {
    host.call(op, text);
  } catch {
    // the host already has a result for this invocation
  }
}

function safeGet(obj, key) {
  try {
    return obj[key];
  } catch {
    return undefined;
  }
}

function safeString(v) {
  try {
    return String(v);
  } catch {
    try {
      return P.ObjectPrototypeToString(v);
    } catch {
      return 'a value that cannot be converted to a string';
    }
  }
}

function isErrorLike(v) {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return false;
  if (util.types.isNativeError(v)) return true;
  try {
    if (v instanceof Error) return true;
  } catch {}
  return typeof safeGet(v, 'message') === 'string';
}

function isSerializable(v) {
  try {
    return JSONStringify(v) !== undefined;
  } catch {
    return false;
  }
}

// serializeError builds the `fail` payload (docs/host-abi.md).
function serializeError(thrown) {
  if (!isErrorLike(thrown)) return { name: 'Error', message: safeString(thrown) };
  const name = safeGet(thrown, 'name');
  const message = safeGet(thrown, 'message');
  const out = {
    name: name === undefined || name === null || name === '' ? 'Error' : safeString(name),
    message: message === undefined || message === null ? '' : safeString(message),
  };
  const errStack = safeGet(thrown, 'stack');
  if (typeof errStack === 'string') out.stack = errStack;
  const status = safeGet(thrown, 'status');
  if (typeof status === 'number' && P.NumberIsFinite(status)) out.status = status;
  const errors = safeGet(thrown, 'errors');
  if (errors !== undefined && errors !== null && isSerializable(errors)) {
    out.errors = errors;
  }
  let custom = false;
  try {
    custom = isCustomHttpResponseError(thrown) || out.name === 'CustomHttpResponseError';
  } catch {}
  if (custom) {
    const c = { status: safeGet(thrown, 'status') };
    const headers = safeGet(thrown, 'headers');
    const body = safeGet(thrown, 'body');
    if (headers !== undefined && isSerializable(headers)) c.headers = headers;
    if (body !== undefined && isSerializable(body)) c.body = body;
    out.custom = c;
  }
  return out;
}

function isOutOfMemory(err) {
  try {
    return err !== null && typeof err === 'object' && err.name === 'InternalError' && err.message === 'out of memory';
  } catch {
    return false;
  }
}

function fail(inv, thrown) {
  if (inv !== current || inv.reported) return;
  let text;
  try {
    text = JSONStringify(serializeError(thrown));
  } catch (err) {
    try {
      text = isOutOfMemory(thrown) || isOutOfMemory(err) ? OOM_FAIL : JSONStringify({ name: 'Error', message: safeString(thrown) });
    } catch {
      text = isOutOfMemory(thrown) ? OOM_FAIL : GENERIC_FAIL;
    }
  }
  report(inv, 'fail', text);
}

function succeed(inv, result) {
  if (inv !== current || inv.reported) return;
  let text;
  try {
    text = JSONStringify(result === undefined ? null : result);
  } catch (err) {
    if (isOutOfMemory(err)) {
      fail(inv, err);
      return;
    }
    let reason;
    try {
      reason = safeString(err && err.message);
    } catch {
      reason = 'unknown reason';
    }
    fail(inv, new TypeError(`reactor result cannot be serialized to JSON: ${reason}`));
    return;
  }
  report(inv, 'done', text === undefined ? 'null' : text);
}

// uncaught handles exceptions thrown outside the handler's promise chain (timers,
// microtasks, event listeners): like Node, an 'uncaughtException' listener gets it;
// otherwise the invocation fails with it.
const listenerCount = EventEmitter.prototype.listenerCount;
const emit = EventEmitter.prototype.emit;

function uncaught(err) {
  try {
    if (apply(listenerCount, process, ['uncaughtException']) > 0) {
      apply(emit, process, ['uncaughtException', err, 'uncaughtException']);
      return;
    }
  } catch (e) {
    err = e;
  }
  if (current !== null && !current.reported) {
    fail(current, err);
    return;
  }
  try {
    host.callJSON('console', ['error', `Uncaught ${util.inspect(err)}`]);
  } catch {}
}

// --- the reactor ---

function createReactor(options) {
  const registry = createRegistry(options.modules);
  const contract = options.contract;
  const bt = options.bt; // the SDK instance handed out when the event asks for one
  const exportHint = contract === 'node22' ? 'event' : 'req';
  // node22's event.logger, shared by every invocation (it holds no state)
  const logger = contract === 'node22' ? require('./node/logger').createLogger() : undefined;
  let handler = null;
  let handlerThis;
  // warm's handler: async, like most reactors', so that the promise path is warmed too.
  const idle = async () => null;

  timers.setUncaughtHandler(uncaught);
  asyncOps.setUncaughtHandler(uncaught);

  function load(wrapper) {
    if (typeof wrapper !== 'function') throw new TypeError('__reactor.load expects the compiled reactor module function');
    const module = {
      id: '.',
      path: DIRNAME,
      exports: {},
      filename: FILENAME,
      loaded: false,
      children: [],
      paths: [],
      parent: null,
      require: registry.require,
    };
    registry.require.main = module;
    intl.preloadFor(wrapper);
    apply(wrapper, module.exports, [module.exports, registry.require, module, FILENAME, DIRNAME]);
    module.loaded = true;
    const exp = module.exports;
    handler = null;
    handlerThis = undefined;
    if (typeof exp === 'function') {
      handler = exp;
    } else if (exp !== null && typeof exp === 'object') {
      if (typeof exp.default === 'function') handler = exp.default;
      else if (typeof exp.handler === 'function') handler = exp.handler;
      handlerThis = exp;
    }
    if (handler === null) return `reactor code must export a function (module.exports = async function (${exportHint}) {...})`;
    return '';
  }

  // run calls the handler and reports its result: at once for a plain value, when it
  // settles for a promise (through the captured Promise.prototype.then, so that reactor
  // code replacing `then` cannot break reporting), like `await` for other thenables.
  function run(inv, fn, self, req) {
    let result;
    try {
      result = apply(fn, self, [req]);
    } catch (err) {
      fail(inv, err);
      return;
    }
    if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
      succeed(inv, result);
      return;
    }
    const ok = (value) => succeed(inv, value);
    const ko = (err) => fail(inv, err);
    try {
      if (result instanceof P.Promise) {
        P.PromisePrototypeThen(result, ok, ko);
        return;
      }
      const then = result.then;
      if (typeof then !== 'function') {
        succeed(inv, result);
        return;
      }
      P.PromisePrototypeThen(P.PromiseResolve(result), ok, ko);
    } catch (err) {
      fail(inv, err);
    }
  }

  function invoke(eventJSON) {
    start(eventJSON, handler, handlerThis);
    return undefined;
  }

  // warm runs an invocation's whole path (event, request, a settled promise, report)
  // with a no-op handler in place of the reactor's: it touches what an invocation
  // touches, once, before a request waits on it, and runs none of the reactor's code.
  function warm(eventJSON) {
    start(eventJSON, idle, undefined);
    return undefined;
  }

  function start(eventJSON, fn, self) {
    const inv = { reported: false };
    current = inv;
    timers.reset();
    asyncOps.reset();
    let ev;
    try {
      ev = JSONParse(eventJSON);
    } catch (err) {
      fail(inv, err);
      return;
    }
    if (ev === null || typeof ev !== 'object') ev = {};
    // The host sends a seed only after a restore; otherwise the PRNG simply continues.
    if (P.ArrayIsArray(ev.seed)) prng.seedWords(ev.seed);
    if (handler === null) {
      fail(inv, new Error('reactor code is not loaded'));
      return;
    }
    // ev.bt is null (no client) or an object (the host granted one); the instance is
    // reachable only through the request object, never globally.
    const reqBt = ev.bt !== null && typeof ev.bt === 'object' ? bt : null;
    const configuration = ev.configuration === undefined || ev.configuration === null ? {} : ev.configuration;
    const req = contract === 'node22' ? { req: ev.args, configuration, bt: reqBt, logger } : { args: ev.args, configuration, bt: reqBt };
    const outer = timers.enterMacrotask();
    try {
      run(inv, fn, self, req);
    } finally {
      timers.leaveMacrotask(outer);
    }
  }

  function tick(completionsJSON) {
    let list = null;
    if (typeof completionsJSON === 'string' && completionsJSON !== '[]' && completionsJSON !== '') {
      try {
        list = JSONParse(completionsJSON);
      } catch {
        list = null;
      }
    }
    // After settling operations or running a callback, answer 0: the host runs the
    // promise jobs that follow, and those may set timers this answer cannot know about
    // yet; the next tick (with nothing to run) reports the real delay.
    if (P.ArrayIsArray(list) && list.length > 0) {
      timers.macrotask(() => asyncOps.complete(list));
      return 0;
    }
    if (timers.runOne()) return 0;
    return timers.nextDelay();
  }

  return ObjectFreeze({ load, invoke, warm, tick, registry });
}

// install evaluates the layer for one image. options: {image, contract ('node-bt' |
// 'node22'), curated: {name: factory}, preload: [names] or 'all'}.
function install(options) {
  installGlobals();
  const modules = ObjectCreate(null);
  const builtins = builtinFactories();
  for (const k of Object.keys(builtins)) modules[k] = builtins[k];
  const curated = options.curated || {};
  for (const k of Object.keys(curated)) modules[k] = curated[k];
  // The SDK instance is created once, here, so that it is part of the image snapshot;
  // required only now because axios probes the globals (fetch, URL, ...) as it loads.
  const bt = require('./bt/client').createClient();
  const reactor = createReactor({ modules, contract: options.contract, bt });
  // Modules created now are part of the image snapshot: every instance starts with them
  // ready, and require() hands out these same objects.
  const preload = options.preload === 'all' ? reactor.registry.ids() : options.preload || [];
  for (const name of preload) reactor.registry.load(name);
  const api = ObjectFreeze({ load: reactor.load, invoke: reactor.invoke, warm: reactor.warm, tick: reactor.tick });
  ObjectDefineProperty(globalThis, '__reactor', { value: api, writable: false, enumerable: false, configurable: false });
}

module.exports = { install };
