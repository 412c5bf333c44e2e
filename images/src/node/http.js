'use strict';
// The `http` and `https` client over the host's fetch (async op `fetch` with
// redirect "manual"), so the egress policy, body limits and timeouts apply exactly as
// they do to fetch. A request's body is buffered and sent when it ends; the response
// arrives whole and is pushed into an IncomingMessage stream. Agents are accepted for
// compatibility (connection pooling is the host's). Servers and raw sockets are not
// available in reactors.

const asyncOps = require('../internal/async');
const EventEmitter = require('./events');
const { Buffer } = require('./buffer');
const encoding = require('../web/encoding');
const timers = require('./timers');
const { Readable, Writable } = require('readable-stream/lib/stream.js');
const { URL } = require('../web/url');
const { urlToHttpOptions } = require('./url');

const STATUS_CODES = {"100":"Continue","101":"Switching Protocols","102":"Processing","103":"Early Hints","200":"OK","201":"Created","202":"Accepted","203":"Non-Authoritative Information","204":"No Content","205":"Reset Content","206":"Partial Content","207":"Multi-Status","208":"Already Reported","226":"IM Used","300":"Multiple Choices","301":"Moved Permanently","302":"Found","303":"See Other","304":"Not Modified","305":"Use Proxy","307":"Temporary Redirect","308":"Permanent Redirect","400":"Bad Request","401":"Unauthorized","402":"Payment Required","403":"Forbidden","404":"Not Found","405":"Method Not Allowed","406":"Not Acceptable","407":"Proxy Authentication Required","408":"Request Timeout","409":"Conflict","410":"Gone","411":"Length Required","412":"Precondition Failed","413":"Payload Too Large","414":"URI Too Long","415":"Unsupported Media Type","416":"Range Not Satisfiable","417":"Expectation Failed","418":"I'm a Teapot","421":"Misdirected Request","422":"Unprocessable Entity","423":"Locked","424":"Failed Dependency","425":"Too Early","426":"Upgrade Required","428":"Precondition Required","429":"Too Many Requests","431":"Request Header Fields Too Large","451":"Unavailable For Legal Reasons","500":"Internal Server Error","501":"Not Implemented","502":"Bad Gateway","503":"Service Unavailable","504":"Gateway Timeout","505":"HTTP Version Not Supported","506":"Variant Also Negotiates","507":"Insufficient Storage","508":"Loop Detected","509":"Bandwidth Limit Exceeded","510":"Not Extended","511":"Network Authentication Required"};
const METHODS = ["ACL","BIND","CHECKOUT","CONNECT","COPY","DELETE","GET","HEAD","LINK","LOCK","M-SEARCH","MERGE","MKACTIVITY","MKCALENDAR","MKCOL","MOVE","NOTIFY","OPTIONS","PATCH","POST","PROPFIND","PROPPATCH","PURGE","PUT","QUERY","REBIND","REPORT","SEARCH","SOURCE","SUBSCRIBE","TRACE","UNBIND","UNLINK","UNLOCK","UNSUBSCRIBE"];
const CHUNK = 16384;

function codedError(Ctor, message, code, extra) {
  const err = new Ctor(message);
  err.code = code;
  if (extra) Object.assign(err, extra);
  return err;
}

function notAvailable(what) {
  return function () {
    throw codedError(Error, `${what} is not available in reactors`, 'ERR_NOT_AVAILABLE_IN_REACTORS');
  };
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'function') return `function ${v.name}`;
  if (typeof v === 'object') return v.constructor && v.constructor.name ? `an instance of ${v.constructor.name}` : 'an instance of Object';
  return `type ${typeof v} (${typeof v === 'string' ? `'${v}'` : String(v)})`;
}

const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

function checkName(name) {
  if (typeof name !== 'string' || !TOKEN.test(name)) throw codedError(TypeError, `Header name must be a valid HTTP token ["${name}"]`, 'ERR_INVALID_HTTP_TOKEN');
}

function checkValue(name, value) {
  if (value === undefined) throw codedError(TypeError, `Invalid value "${value}" for header "${name}"`, 'ERR_HTTP_INVALID_HEADER_VALUE');
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) if (BAD_VALUE.test(String(v))) throw codedError(TypeError, `Invalid character in header content ["${name}"]`, 'ERR_INVALID_CHAR');
}

class Agent extends EventEmitter {
  constructor(options) {
    super();
    this.options = { __proto__: null, ...(options || {}), path: null };
    this.defaultPort = 80;
    this.protocol = 'http:';
    this.keepAlive = !!(options && options.keepAlive);
    this.keepAliveMsecs = (options && options.keepAliveMsecs) || 1000;
    this.maxSockets = (options && options.maxSockets) || Infinity;
    this.maxFreeSockets = (options && options.maxFreeSockets) || 256;
    this.maxTotalSockets = (options && options.maxTotalSockets) || Infinity;
    this.scheduling = (options && options.scheduling) || 'lifo';
    this.requests = { __proto__: null };
    this.sockets = { __proto__: null };
    this.freeSockets = { __proto__: null };
    this.totalSocketCount = 0;
  }
  getName(options = {}) {
    let name = options.host || 'localhost';
    name += ':';
    if (options.port) name += options.port;
    name += ':';
    if (options.localAddress) name += options.localAddress;
    if (options.family === 4 || options.family === 6) name += `:${options.family}`;
    return name;
  }
  destroy() {}
  createConnection() {
    notAvailable('http.Agent.createConnection')();
  }
  keepSocketAlive() {
    return true;
  }
  reuseSocket() {}
}

class HttpsAgent extends Agent {
  constructor(options) {
    super(options);
    this.defaultPort = 443;
    this.protocol = 'https:';
  }
}

// FakeSocket stands for the connection libraries look at ('socket' event,
// setTimeout/setKeepAlive/setNoDelay); there is no socket in a reactor.
class FakeSocket extends EventEmitter {
  constructor(req) {
    super();
    this._req = req;
    this.connecting = false;
    this.destroyed = false;
    this.readable = true;
    this.writable = true;
    this.remoteAddress = undefined;
    this.remotePort = undefined;
    this.encrypted = req.protocol === 'https:' ? true : undefined;
    this.authorized = req.protocol === 'https:' ? true : undefined;
  }
  setTimeout(ms, cb) {
    this._req.setTimeout(ms, cb);
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  address() {
    return {};
  }
  destroy(err) {
    this._req.destroy(err);
    return this;
  }
  end() {
    return this;
  }
}

class IncomingMessage extends Readable {
  constructor(req) {
    super();
    this.req = req;
    this.socket = req ? req.socket : null;
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.httpVersion = '1.1';
    this.complete = false;
    this.rawHeaders = [];
    this.rawTrailers = [];
    this.trailers = {};
    this.headers = {};
    this.headersDistinct = {};
    this.trailersDistinct = {};
    this.url = '';
    this.method = null;
    this.statusCode = null;
    this.statusMessage = null;
    this.aborted = false;
    this._body = null;
    this._offset = 0;
  }
  get connection() {
    return this.socket;
  }
  setTimeout(ms, cb) {
    if (this.req) this.req.setTimeout(ms, cb);
    return this;
  }
  _read() {
    const body = this._body;
    if (body === null) return;
    if (this._offset >= body.length) {
      this._body = null;
      this.complete = true;
      this.push(null);
      return;
    }
    const end = Math.min(body.length, this._offset + CHUNK);
    const chunk = Buffer.from(body.buffer, body.byteOffset + this._offset, end - this._offset);
    this._offset = end;
    this.push(chunk);
  }
  _destroy(err, cb) {
    if (!this.complete) this.aborted = true;
    cb(err);
  }
}

// Node keeps only the first value of these and joins the others with ', '
// (set-cookie is an array).
const SINGLE = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

function fillHeaders(res, value) {
  const list = Array.isArray(value.header_list) ? value.header_list : Object.keys(value.headers || {}).map((k) => [k, value.headers[k]]);
  for (const [name, v] of list) {
    res.rawHeaders.push(name, v);
    (res.headersDistinct[name] || (res.headersDistinct[name] = [])).push(v);
    if (name === 'set-cookie') {
      (res.headers[name] || (res.headers[name] = [])).push(v);
    } else if (res.headers[name] === undefined) {
      res.headers[name] = v;
    } else if (!SINGLE.has(name)) {
      res.headers[name] += (name === 'cookie' ? '; ' : ', ') + v;
    }
  }
}

// networkError turns the host's fetch failure into the error Node's socket would give.
function networkError(message, host, port) {
  let m = /connection refused/.exec(message);
  if (m) {
    const addr = /dial (?:tcp )?(\S+?):? connect/.exec(message);
    const where = addr ? addr[1] : `${host}:${port}`;
    const i = where.lastIndexOf(':');
    return codedError(Error, `connect ECONNREFUSED ${where}`, 'ECONNREFUSED', { errno: -111, syscall: 'connect', address: where.slice(0, i), port: Number(where.slice(i + 1)) });
  }
  m = /cannot resolve (\S+?):/.exec(message);
  if (m) return codedError(Error, `getaddrinfo ENOTFOUND ${m[1]}`, 'ENOTFOUND', { errno: -3008, syscall: 'getaddrinfo', hostname: m[1] });
  if (/connection reset|EOF/.test(message)) return codedError(Error, 'socket hang up', 'ECONNRESET');
  if (/timed out|did not complete|deadline/.test(message)) return codedError(Error, `connect ETIMEDOUT ${host}:${port}`, 'ETIMEDOUT', { errno: -110, syscall: 'connect' });
  if (/egress|not allowed|refused URL/.test(message)) return codedError(Error, message, 'ERR_REACTOR_EGRESS_REFUSED');
  return codedError(Error, message, 'ECONNRESET');
}

function abortError() {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  return err;
}

class ClientRequest extends Writable {
  constructor(input, options, cb, defaults) {
    super({ decodeStrings: false, emitClose: false, autoDestroy: false });
    if (typeof input === 'string' || input instanceof URL) {
      const u = typeof input === 'string' ? new URL(input) : input;
      input = urlToHttpOptions(u);
    } else if (typeof input === 'function') {
      cb = input;
      input = {};
      options = undefined;
    } else if (input === null || input === undefined || typeof input === 'object') {
      // request(options[, callback])
      input = input || {};
      cb = options;
      options = undefined;
    } else {
      throw codedError(TypeError, `The "options" argument must be of type object. Received ${describe(input)}`, 'ERR_INVALID_ARG_TYPE');
    }
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (cb !== undefined && typeof cb !== 'function') {
      throw codedError(TypeError, `The "listener" argument must be of type function. Received ${describe(cb)}`, 'ERR_INVALID_ARG_TYPE');
    }
    const opts = { ...input, ...(options || {}) };
    const agent = opts.agent === undefined || opts.agent === null ? defaults.globalAgent : opts.agent;
    const defaultPort = opts.defaultPort || (agent && agent.defaultPort) || defaults.defaultPort;
    const protocol = opts.protocol || defaults.protocol;
    if (protocol !== defaults.protocol) {
      throw codedError(TypeError, `Protocol "${protocol}" not supported. Expected "${defaults.protocol}"`, 'ERR_INVALID_PROTOCOL');
    }
    if (opts.socketPath) notAvailable('http.request with socketPath')();
    const path = opts.path === undefined || opts.path === null ? '/' : String(opts.path);
    if (/[\u0000-\u0020]/.test(path)) throw codedError(TypeError, 'Request path contains unescaped characters', 'ERR_UNESCAPED_CHARACTERS');
    let method = opts.method === undefined || opts.method === null ? 'GET' : opts.method;
    if (typeof method !== 'string') throw codedError(TypeError, `The "options.method" property must be of type string. Received ${describe(method)}`, 'ERR_INVALID_ARG_TYPE');
    if (!TOKEN.test(method)) throw codedError(TypeError, `Method must be a valid HTTP token ["${method}"]`, 'ERR_INVALID_HTTP_TOKEN');
    method = method.toUpperCase();
    let host = opts.hostname || opts.host || 'localhost';
    if (typeof host === 'string' && host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    const port = opts.port === undefined || opts.port === null || opts.port === '' ? defaultPort : Number(opts.port);
    this.agent = agent;
    this.method = method;
    this.path = path;
    this.host = host;
    this.protocol = protocol;
    this.port = port;
    this.aborted = false;
    this._destroyed = false;
    this._ended = false;
    this.finished = false;
    this.reusedSocket = false;
    this.maxHeadersCount = null;
    this.timeout = undefined;
    this.res = null;
    this._headers = { __proto__: null }; // lowercase name -> [name, value]
    this._chunks = [];
    this._size = 0;
    this._op = null;
    this._timer = null;
    this._sent = false;
    this._closed = false;
    if (opts.headers) {
      if (Array.isArray(opts.headers)) {
        for (let i = 0; i + 1 < opts.headers.length; i += 2) this.appendHeader(opts.headers[i], opts.headers[i + 1]);
      } else {
        for (const k of Object.keys(opts.headers)) this.setHeader(k, opts.headers[k]);
      }
    }
    if (opts.auth && !this.hasHeader('authorization')) this.setHeader('Authorization', `Basic ${Buffer.from(String(opts.auth)).toString('base64')}`);
    if (opts.setHost !== false && !this.hasHeader('host')) {
      const hostHeader = host.includes(':') ? `[${host}]` : host;
      this.setHeader('Host', port === defaultPort ? hostHeader : `${hostHeader}:${port}`);
    }
    if (typeof cb === 'function') this.once('response', cb);
    if (opts.timeout !== undefined) this.setTimeout(opts.timeout);
    if (opts.signal) {
      const signal = opts.signal;
      if (signal.aborted) timers.nextTick(() => this.destroy(abortError()));
      else signal.addEventListener('abort', () => this.destroy(abortError()), { once: true });
    }
    this.socket = new FakeSocket(this);
    this.connection = this.socket;
    timers.nextTick(() => {
      if (!this.destroyed) this.emit('socket', this.socket);
    });
  }
  setHeader(name, value) {
    if (this._sent) throw codedError(Error, 'Cannot set headers after they are sent to the client', 'ERR_HTTP_HEADERS_SENT');
    checkName(name);
    checkValue(name, value);
    this._headers[name.toLowerCase()] = [name, value];
    return this;
  }
  appendHeader(name, value) {
    checkName(name);
    checkValue(name, value);
    const prev = this._headers[name.toLowerCase()];
    if (prev === undefined) this._headers[name.toLowerCase()] = [name, value];
    else prev[1] = [].concat(prev[1], value);
    return this;
  }
  getHeader(name) {
    const h = this._headers[String(name).toLowerCase()];
    return h === undefined ? undefined : h[1];
  }
  hasHeader(name) {
    return this._headers[String(name).toLowerCase()] !== undefined;
  }
  removeHeader(name) {
    if (this._sent) throw codedError(Error, 'Cannot remove headers after they are sent to the client', 'ERR_HTTP_HEADERS_SENT');
    delete this._headers[String(name).toLowerCase()];
  }
  getHeaders() {
    const out = { __proto__: null };
    for (const k of Object.keys(this._headers)) out[k] = this._headers[k][1];
    return out;
  }
  getHeaderNames() {
    return Object.keys(this._headers);
  }
  getRawHeaderNames() {
    return Object.keys(this._headers).map((k) => this._headers[k][0]);
  }
  get headersSent() {
    return this._sent;
  }
  flushHeaders() {}
  setNoDelay() {}
  setSocketKeepAlive() {}
  setTimeout(ms, cb) {
    if (typeof ms !== 'number' || !(ms >= 0)) throw codedError(TypeError, `The "msecs" argument must be of type number. Received ${describe(ms)}`, 'ERR_INVALID_ARG_TYPE');
    if (typeof cb === 'function') this.once('timeout', cb);
    this.timeout = ms;
    if (this._timer !== null) timers.clearTimeout(this._timer);
    this._timer = null;
    // Like Node's socket timeout: 'timeout' when nothing arrived for ms (here: the
    // response, which arrives whole); the request goes on unless it is destroyed.
    if (ms > 0 && !this._closed) this._timer = timers.setTimeout(() => {
      this._timer = null;
      if (!this._closed) this.emit('timeout');
    }, ms);
    return this;
  }
  _write(chunk, enc, cb) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, enc === 'buffer' ? 'utf8' : enc) : chunk;
    if (!ArrayBuffer.isView(bytes)) {
      cb(codedError(TypeError, `The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${describe(chunk)}`, 'ERR_INVALID_ARG_TYPE'));
      return;
    }
    this._chunks.push(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this._size += bytes.byteLength;
    cb();
  }
  _final(cb) {
    this.finished = true;
    this._ended = true;
    cb();
    this._send();
  }
  _send() {
    if (this.destroyed || this._sent) return;
    this._sent = true;
    const headers = {};
    for (const k of Object.keys(this._headers)) {
      const v = this._headers[k][1];
      headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    }
    let body = null;
    let bodyBase64 = null;
    if (this._size > 0) {
      const all = new Uint8Array(this._size);
      let off = 0;
      for (const c of this._chunks) {
        all.set(c, off);
        off += c.length;
      }
      this._chunks = [];
      try {
        body = new encoding.TextDecoder('utf-8', { fatal: true }).decode(all);
      } catch {
        bodyBase64 = encoding.bytesToBase64(all);
      }
    }
    const hostPart = this.host.includes(':') ? `[${this.host}]` : this.host;
    const url = `${this.protocol}//${hostPart}:${this.port}${this.path.startsWith('/') ? '' : '/'}${this.path}`;
    const arg = { url, method: this.method, headers, body, body_base64: bodyBase64, redirect: 'manual', raw_headers: true };
    try {
      this._op = asyncOps.start('fetch', arg, (ok, value, error) => {
        this._op = null;
        if (this.destroyed) return;
        if (!ok) {
          this.destroy(networkError(String(error), this.host, this.port));
          return;
        }
        this._respond(value);
      });
    } catch (err) {
      const message = String(err && err.message);
      timers.nextTick(() => this.destroy(networkError(message, this.host, this.port)));
    }
  }
  _respond(value) {
    const res = new IncomingMessage(this);
    res.statusCode = Number(value.status);
    res.statusMessage = value.status_text || STATUS_CODES[res.statusCode] || '';
    fillHeaders(res, value);
    const b64 = value.body_base64;
    res._body = typeof b64 === 'string' && b64 !== '' ? encoding.base64ToBytes(b64, false) : new Uint8Array(0);
    this.res = res;
    if (this._timer !== null) timers.clearTimeout(this._timer);
    this._timer = null;
    res.on('end', () => {
      timers.nextTick(() => this._close());
    });
    if (this.listenerCount('response') === 0) {
      // Node dumps a response nobody listens for
      res.resume();
    } else {
      this.emit('response', res);
    }
  }
  _close() {
    if (this._closed) return;
    this._closed = true;
    if (this._timer !== null) timers.clearTimeout(this._timer);
    this._timer = null;
    this.emit('close');
  }
  abort() {
    if (this.aborted) return;
    this.aborted = true;
    timers.nextTick(() => this.emit('abort'));
    this.destroy();
  }
  get destroyed() {
    return this._destroyed;
  }
  set destroyed(v) {
    this._destroyed = !!v;
  }
  get writableEnded() {
    return this._ended;
  }
  destroy(err) {
    if (this._destroyed) return this;
    this._destroyed = true;
    if (this._op !== null) {
      asyncOps.forget(this._op);
      this._op = null;
    }
    if (this._timer !== null) timers.clearTimeout(this._timer);
    this._timer = null;
    const res = this.res;
    timers.nextTick(() => {
      if (res && !res.complete && !res.destroyed) {
        res.destroy(err || codedError(Error, 'aborted', 'ECONNRESET'));
      } else if (!res) {
        if (err) this.emit('error', err);
        // after abort() too, as Node does (only when someone listens: abort() is how
        // code says it no longer cares)
        else if (!this.aborted || this.listenerCount('error') > 0) this.emit('error', codedError(Error, 'socket hang up', 'ECONNRESET'));
      }
      this._close();
    });
    return this;
  }
}

function createModule(defaults) {
  function request(url, options, cb) {
    return new ClientRequest(url, options, cb, defaults);
  }
  function get(url, options, cb) {
    const req = request(url, options, cb);
    req.end();
    return req;
  }
  return { request, get };
}

const httpDefaults = { protocol: 'http:', defaultPort: 80, globalAgent: new Agent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 }) };
const httpsDefaults = { protocol: 'https:', defaultPort: 443, globalAgent: new HttpsAgent({ keepAlive: true, scheduling: 'lifo', timeout: 5000 }) };

function Server() {
  notAvailable('http.Server')();
}

function validateHeaderName(name) {
  checkName(name);
}
function validateHeaderValue(name, value) {
  checkValue(name, value);
}

const http = {
  ...createModule(httpDefaults),
  Agent,
  globalAgent: httpDefaults.globalAgent,
  ClientRequest,
  IncomingMessage,
  OutgoingMessage: Writable,
  METHODS: METHODS.slice(),
  STATUS_CODES,
  maxHeaderSize: 16384,
  validateHeaderName,
  validateHeaderValue,
  setMaxIdleHTTPParsers() {},
  createServer: notAvailable('http.createServer'),
  Server,
  ServerResponse: notAvailable('http.ServerResponse'),
};

const https = {
  ...createModule(httpsDefaults),
  Agent: HttpsAgent,
  globalAgent: httpsDefaults.globalAgent,
  createServer: notAvailable('https.createServer'),
  Server: notAvailable('https.Server'),
};

module.exports = { http, https };
