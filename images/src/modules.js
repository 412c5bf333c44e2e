'use strict';
// The require() reactor code gets: built-in modules by name (with or without `node:`),
// the Basis Theory SDK, and the image's curated packages. Modules are created on first
// use (or up front, see preload) and cached, so require returns the same object.

const { ObjectPrototypeHasOwnProperty, StringPrototypeStartsWith, StringPrototypeSlice, String, Error, TypeError } = require('./internal/primordials');

const UNAVAILABLE = [
  'fs',
  'fs/promises',
  'child_process',
  'dgram',
  'dns',
  'dns/promises',
  'cluster',
  'worker_threads',
  'vm',
  'v8',
  'os',
  'module',
  'http2',
  'inspector',
  'inspector/promises',
  'perf_hooks',
  'readline',
  'readline/promises',
  'repl',
  'tty',
  'async_hooks',
  'diagnostics_channel',
  'trace_events',
  'wasi',
  'sea',
  'sqlite',
  'test',
  'test/reporters',
  'domain',
  'constants',
  'stream/web',
  'stream/consumers',
];

function createRegistry(factories) {
  const cache = Object.create(null);
  const unavailable = Object.create(null);
  for (let i = 0; i < UNAVAILABLE.length; i++) unavailable[UNAVAILABLE[i]] = true;

  function notAvailable(name) {
    const err = new Error(`Module '${name}' is not available in reactors`);
    err.code = 'ERR_NOT_AVAILABLE_IN_REACTORS';
    return err;
  }

  function notFound(name) {
    const err = new Error(`Cannot find module '${name}'`);
    err.code = 'MODULE_NOT_FOUND';
    err.requireStack = [];
    return err;
  }

  function load(id) {
    if (ObjectPrototypeHasOwnProperty(cache, id)) return cache[id];
    const factory = factories[id];
    const value = factory();
    cache[id] = value;
    return value;
  }

  function resolveId(request) {
    if (typeof request !== 'string') {
      const err = new TypeError(`The "id" argument must be of type string. Received ${request === null ? 'null' : typeof request}`);
      err.code = 'ERR_INVALID_ARG_TYPE';
      throw err;
    }
    if (request === '') {
      const err = new TypeError("The argument 'id' must be a non-empty string. Received ''");
      err.code = 'ERR_INVALID_ARG_VALUE';
      throw err;
    }
    const prefixed = StringPrototypeStartsWith(request, 'node:');
    const id = prefixed ? StringPrototypeSlice(request, 5) : request;
    if (ObjectPrototypeHasOwnProperty(factories, id)) return id;
    if (unavailable[id] === true) throw notAvailable(id);
    throw notFound(request);
  }

  function require(request) {
    return load(resolveId(request));
  }
  require.resolve = function resolve(request) {
    const id = resolveId(request);
    return StringPrototypeStartsWith(String(request), 'node:') ? String(request) : id;
  };
  require.resolve.paths = () => null;
  require.cache = Object.create(null);
  require.extensions = Object.create(null);

  return {
    require,
    load,
    has: (id) => ObjectPrototypeHasOwnProperty(factories, id),
    ids: () => Object.keys(factories),
  };
}

module.exports = { createRegistry };
