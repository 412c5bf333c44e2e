'use strict';
// The `process` object: an EventEmitter with what reactor code and npm packages read
// from it. Nothing here reaches the machine: env is empty, there is no argv, exit throws.

const EventEmitter = require('events');
const timers = require('./timers');
const host = require('../internal/host');
const { NODE_VERSION } = require('../internal/version');

function notAvailable(what) {
  const err = new Error(`${what} is not available in reactors`);
  err.code = 'ERR_NOT_AVAILABLE_IN_REACTORS';
  return err;
}

function log(level, text) {
  try {
    host.callJSON('console', [level, String(text)]);
  } catch {
    // the host refused (e.g. no invocation): drop the line
  }
}

// A minimal writable standard stream: each write becomes one console line.
function stdStream(fd, level) {
  const stream = new EventEmitter();
  stream.fd = fd;
  stream.isTTY = false;
  stream.writable = true;
  stream.columns = 80;
  stream.write = function (chunk, encoding, cb) {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    let text = typeof chunk === 'string' ? chunk : globalThis.Buffer && globalThis.Buffer.isBuffer(chunk) ? chunk.toString(encoding || 'utf8') : String(chunk);
    if (text.endsWith('\n')) text = text.slice(0, -1);
    log(level, text);
    if (typeof cb === 'function') timers.nextTick(cb);
    return true;
  };
  stream.end = function (chunk, encoding, cb) {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') stream.write(chunk, encoding);
    const done = typeof chunk === 'function' ? chunk : typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') timers.nextTick(done);
    return stream;
  };
  stream.cork = stream.uncork = stream.setDefaultEncoding = () => stream;
  stream.getColorDepth = () => 1;
  stream.hasColors = () => false;
  return stream;
}

const startTime = performance.now();

function hrtime(time) {
  const now = performance.now();
  let sec = Math.floor(now / 1000);
  let nsec = Math.floor((now - sec * 1000) * 1e6);
  if (time !== undefined) {
    if (!Array.isArray(time) || time.length !== 2) {
      const err = new TypeError('The "time" argument must be an instance of Array of length 2');
      err.code = 'ERR_INVALID_ARG_TYPE';
      throw err;
    }
    sec -= time[0];
    nsec -= time[1];
    if (nsec < 0) {
      sec--;
      nsec += 1e9;
    }
  }
  return [sec, nsec];
}
hrtime.bigint = () => BigInt(Math.floor(performance.now() * 1e6));

function memoryUsage() {
  return { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
}
memoryUsage.rss = () => 0;

const warned = new Set();

function emitWarning(warning, type, code) {
  let detail;
  if (type !== null && typeof type === 'object' && !Array.isArray(type)) {
    code = type.code;
    detail = type.detail;
    type = type.type || 'Warning';
  } else if (typeof type === 'function') {
    type = 'Warning';
  }
  if (typeof warning === 'string') {
    const w = new Error(warning);
    w.name = String(type || 'Warning');
    if (code !== undefined) w.code = code;
    if (detail !== undefined) w.detail = detail;
    warning = w;
  }
  if (warning.name === 'DeprecationWarning' && process.noDeprecation) return;
  process.emit('warning', warning);
  const key = `${warning.name}:${warning.code}:${warning.message}`;
  if (warned.has(key) && warning.name === 'DeprecationWarning') return;
  warned.add(key);
  log('warn', `(node:${process.pid}) ${warning.code ? `[${warning.code}] ` : ''}${warning.name}: ${warning.message}${warning.detail ? `\n${warning.detail}` : ''}`);
}

const process = new EventEmitter();
Object.assign(process, {
  title: 'node',
  version: `v${NODE_VERSION}`,
  versions: {
    node: NODE_VERSION,
    acorn: '8.14.0',
    ada: '2.9.2',
    ares: '1.34.5',
    brotli: '1.1.0',
    cjs_module_lexer: '1.4.1',
    icu: '76.1',
    llhttp: '9.2.1',
    modules: '127',
    napi: '10',
    nghttp2: '1.64.0',
    openssl: '3.0.15+quic',
    simdjson: '3.10.1',
    simdutf: '6.0.3',
    tz: '2024b',
    undici: '6.21.1',
    unicode: '16.0',
    uv: '1.49.2',
    uvwasi: '0.0.21',
    v8: '12.4.254.21-node.22',
    zlib: '1.3.0.1-motley',
  },
  arch: 'x64',
  platform: 'linux',
  release: { name: 'node', lts: 'Jod' },
  argv: [],
  argv0: 'node',
  execArgv: [],
  execPath: '/usr/local/bin/node',
  env: {},
  pid: 1,
  ppid: 0,
  exitCode: undefined,
  features: { inspector: false, debug: false, uv: false, ipv6: false, tls_alpn: false, tls_sni: false, tls_ocsp: false, tls: false, cached_builtins: true },
  config: { target_defaults: {}, variables: {} },
  noDeprecation: false,
  throwDeprecation: false,
  traceDeprecation: false,
  allowedNodeEnvironmentFlags: new Set(),
  cwd: () => '/',
  chdir() {
    throw notAvailable('process.chdir()');
  },
  umask: () => 0o22,
  uptime: () => (performance.now() - startTime) / 1000,
  hrtime,
  memoryUsage,
  cpuUsage: () => ({ user: 0, system: 0 }),
  resourceUsage: () => ({ userCPUTime: 0, systemCPUTime: 0, maxRSS: 0 }),
  availableMemory: () => 0,
  constrainedMemory: () => 0,
  nextTick: timers.nextTick,
  emitWarning,
  exit(code) {
    const err = notAvailable(`process.exit(${code === undefined ? '' : code})`);
    err.message = `process.exit(${code === undefined ? '' : code}) was called: reactors return a result or throw instead of exiting`;
    throw err;
  },
  reallyExit(code) {
    process.exit(code);
  },
  abort() {
    throw notAvailable('process.abort()');
  },
  kill() {
    throw notAvailable('process.kill()');
  },
  binding(name) {
    throw notAvailable(`process.binding('${name}')`);
  },
  dlopen() {
    throw notAvailable('process.dlopen()');
  },
  getuid: () => 1000,
  geteuid: () => 1000,
  getgid: () => 1000,
  getegid: () => 1000,
  getgroups: () => [1000],
  setUncaughtExceptionCaptureCallback() {},
  hasUncaughtExceptionCaptureCallback: () => false,
  stdout: stdStream(1, 'log'),
  stderr: stdStream(2, 'error'),
  stdin: Object.assign(new EventEmitter(), { fd: 0, isTTY: false, readable: false }),
  report: { getReport: () => ({}) },
});
process.mainModule = undefined;
Object.defineProperty(process, Symbol.toStringTag, { value: 'process', enumerable: false, writable: true, configurable: true });

module.exports = process;
