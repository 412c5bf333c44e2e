'use strict';
// fetch with Headers, Request and Response. The request goes to the host as the async
// operation {"op": "fetch", "arg": {url, method, headers, body, body_base64}}; its
// completion {status, status_text, headers, body_base64} settles the promise during
// __reactor.tick. Bodies are buffered (no streaming): res.body is a minimal one-chunk
// ReadableStream-like object.

const asyncOps = require('../internal/async');
const encoding = require('./encoding');
const { URLSearchParams, URL } = require('./url');

const kState = Symbol('state');
const kInternal = Symbol('internal');

function normalizeName(name) {
  name = String(name);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw new TypeError(`Header name must be a valid HTTP token ["${name}"]`);
  return name.toLowerCase();
}

function normalizeValue(value) {
  value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(value)) throw new TypeError(`Invalid header value: "${value}"`);
  return value;
}

class Headers {
  constructor(init) {
    Object.defineProperty(this, kState, { value: new Map() });
    if (init === undefined || init === null) return;
    if (init instanceof Headers) {
      for (const [k, v] of init[kState]) this[kState].set(k, v.slice());
    } else if (typeof init === 'object' && typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const p = [...pair];
        if (p.length !== 2) throw new TypeError('Header pair must contain exactly two items');
        this.append(p[0], p[1]);
      }
    } else if (typeof init === 'object') {
      for (const key of Object.keys(init)) {
        const v = init[key];
        if (Array.isArray(v)) for (const item of v) this.append(key, item);
        else this.append(key, v);
      }
    } else {
      throw new TypeError("Failed to construct 'Headers': The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'");
    }
  }
  append(name, value) {
    const k = normalizeName(name);
    const v = normalizeValue(value);
    const list = this[kState].get(k);
    if (list) list.push(v);
    else this[kState].set(k, [v]);
  }
  set(name, value) {
    this[kState].set(normalizeName(name), [normalizeValue(value)]);
  }
  get(name) {
    const list = this[kState].get(normalizeName(name));
    return list ? list.join(', ') : null;
  }
  getSetCookie() {
    return (this[kState].get('set-cookie') || []).slice();
  }
  has(name) {
    return this[kState].has(normalizeName(name));
  }
  delete(name) {
    this[kState].delete(normalizeName(name));
  }
  forEach(callback, thisArg) {
    for (const [k, v] of this.entries()) Reflect.apply(callback, thisArg, [v, k, this]);
  }
  *entries() {
    const keys = [...this[kState].keys()].sort();
    for (const k of keys) {
      if (k === 'set-cookie') for (const v of this[kState].get(k)) yield [k, v];
      else yield [k, this[kState].get(k).join(', ')];
    }
  }
  *keys() {
    for (const [k] of this.entries()) yield k;
  }
  *values() {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  // node-fetch v2 API
  raw() {
    const out = {};
    for (const [k, v] of this[kState]) out[k] = v.slice();
    return out;
  }
  get [Symbol.toStringTag]() {
    return 'Headers';
  }
  [Symbol.for('nodejs.util.inspect.custom')](depth, options, inspect) {
    return `Headers ${inspect(Object.fromEntries(this.entries()), options)}`;
  }
}

function toHeaderObject(headers) {
  const out = {};
  for (const [k, list] of headers[kState]) out[k] = list.join(', ');
  return out;
}

// extractBody returns {bytes, type} for a body init value.
function extractBody(body) {
  if (body === undefined || body === null) return { bytes: null, type: null };
  if (typeof body === 'string') return { bytes: encoding.utf8Encode(body), type: 'text/plain;charset=UTF-8' };
  if (body instanceof URLSearchParams) return { bytes: encoding.utf8Encode(body.toString()), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), type: null };
  if (ArrayBuffer.isView(body)) return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice(), type: null };
  if (body instanceof Body) return { bytes: body[kState].bytes, type: body.headers.get('content-type') };
  if (typeof body === 'object' && typeof body.pipe === 'function') {
    throw new TypeError('fetch in reactors does not accept a stream as request body: pass a string, Buffer or ArrayBuffer');
  }
  return { bytes: encoding.utf8Encode(String(body)), type: 'text/plain;charset=UTF-8' };
}

function consumed(body) {
  if (body[kState].used) throw new TypeError('Body is unusable: Body has already been read');
  body[kState].used = true;
  return body[kState].bytes || new Uint8Array(0);
}

class Body {
  get bodyUsed() {
    return this[kState].used;
  }
  get body() {
    const state = this[kState];
    if (state.bytes === null) return null;
    if (!state.stream) {
      const self = this;
      let done = false;
      const read = async () => {
        if (done || state.used) return { done: true, value: undefined };
        done = true;
        const bytes = consumed(self);
        return { done: false, value: bytes };
      };
      state.stream = {
        locked: false,
        getReader() {
          this.locked = true;
          return { read, releaseLock() {}, cancel: async () => {}, closed: Promise.resolve() };
        },
        cancel: async () => {},
        async *[Symbol.asyncIterator]() {
          for (;;) {
            const r = await read();
            if (r.done) return;
            yield r.value;
          }
        },
      };
    }
    return state.stream;
  }
  async arrayBuffer() {
    const bytes = consumed(this);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  }
  async bytes() {
    return new Uint8Array(consumed(this));
  }
  async text() {
    return encoding.utf8Decode(consumed(this));
  }
  async json() {
    return JSON.parse(encoding.utf8Decode(consumed(this)));
  }
  async blob() {
    throw new TypeError('Blob is not available in reactors: use arrayBuffer() or text()');
  }
  async formData() {
    throw new TypeError('FormData is not available in reactors: use text()');
  }
  // node-fetch v2 API
  async buffer() {
    const bytes = consumed(this);
    return globalThis.Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

function requestURL(input) {
  if (input instanceof URL) return input.href;
  try {
    return new URL(String(input)).href;
  } catch {
    throw new TypeError(`Failed to parse URL from ${String(input)}`);
  }
}

const METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

class Request extends Body {
  constructor(input, init = {}) {
    super();
    let base = null;
    if (input instanceof Request) base = input;
    const url = base ? base.url : requestURL(input);
    init = init || {};
    let method = init.method !== undefined ? String(init.method) : base ? base.method : 'GET';
    if (METHODS.has(method.toUpperCase())) method = method.toUpperCase();
    const headers = new Headers(init.headers !== undefined ? init.headers : base ? base.headers : undefined);
    let extracted = { bytes: null, type: null };
    if (init.body !== undefined && init.body !== null) {
      if (method === 'GET' || method === 'HEAD') throw new TypeError('Request with GET/HEAD method cannot have body.');
      extracted = extractBody(init.body);
    } else if (base) {
      extracted = { bytes: base[kState].bytes, type: null };
    }
    if (extracted.type && !headers.has('content-type')) headers.set('content-type', extracted.type);
    Object.defineProperty(this, kState, {
      value: {
        url,
        method,
        headers,
        bytes: extracted.bytes,
        used: false,
        signal: init.signal !== undefined ? init.signal : base ? base.signal : null,
        redirect: init.redirect || (base ? base.redirect : 'follow'),
        stream: null,
      },
    });
  }
  get url() {
    return this[kState].url;
  }
  get method() {
    return this[kState].method;
  }
  get headers() {
    return this[kState].headers;
  }
  get signal() {
    return this[kState].signal;
  }
  get redirect() {
    return this[kState].redirect;
  }
  get credentials() {
    return 'same-origin';
  }
  get mode() {
    return 'cors';
  }
  get cache() {
    return 'default';
  }
  get keepalive() {
    return false;
  }
  clone() {
    if (this.bodyUsed) throw new TypeError('Request.clone: Body has already been consumed.');
    return new Request(this);
  }
  get [Symbol.toStringTag]() {
    return 'Request';
  }
}

const STATUS_TEXT = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other',
  304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect', 400: 'Bad Request', 401: 'Unauthorized',
  402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict', 410: 'Gone',
  422: 'Unprocessable Entity', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout',
};

class Response extends Body {
  constructor(body = null, init = {}) {
    super();
    init = init || {};
    const status = init.status !== undefined ? Number(init.status) : 200;
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      if (!(init[kInternal] && status >= 0 && status < 1000)) {
        throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      }
    }
    const headers = new Headers(init.headers);
    const extracted = extractBody(body);
    if (extracted.type && !headers.has('content-type')) headers.set('content-type', extracted.type);
    Object.defineProperty(this, kState, {
      value: {
        status,
        statusText: init.statusText !== undefined ? String(init.statusText) : '',
        headers,
        bytes: extracted.bytes,
        used: false,
        url: init[kInternal] ? init.url : '',
        redirected: !!(init[kInternal] && init.redirected),
        type: init[kInternal] && init.type ? init.type : 'default',
        stream: null,
      },
    });
  }
  get status() {
    return this[kState].status;
  }
  get statusText() {
    return this[kState].statusText;
  }
  get ok() {
    return this[kState].status >= 200 && this[kState].status <= 299;
  }
  get headers() {
    return this[kState].headers;
  }
  get url() {
    return this[kState].url;
  }
  get redirected() {
    return this[kState].redirected;
  }
  get type() {
    return this[kState].type;
  }
  clone() {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    const s = this[kState];
    const r = new Response(null, { status: s.status, statusText: s.statusText, headers: s.headers, [kInternal]: true, url: s.url, redirected: s.redirected, type: s.type });
    r[kState].bytes = s.bytes;
    return r;
  }
  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init && init.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(text, { ...init, headers });
  }
  static error() {
    return new Response(null, { status: 0, [kInternal]: true, type: 'error' });
  }
  static redirect(url, status = 302) {
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`Invalid status code ${status}`);
    return new Response(null, { status, headers: { location: requestURL(url) } });
  }
  get [Symbol.toStringTag]() {
    return 'Response';
  }
}

function abortError(signal) {
  const reason = signal && signal.reason;
  if (reason !== undefined && !(reason instanceof DOMException && reason.name === 'AbortError')) return reason;
  return new DOMException('This operation was aborted', 'AbortError');
}

function fetch(input, init = undefined) {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = new Request(input, init);
    } catch (err) {
      reject(err);
      return;
    }
    const signal = request.signal;
    if (signal && signal.aborted) {
      reject(abortError(signal));
      return;
    }
    const state = request[kState];
    const bytes = state.bytes;
    let body = null;
    let bodyBase64 = null;
    if (bytes !== null) {
      // text when it is valid UTF-8, else base64
      try {
        body = new encoding.TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        bodyBase64 = encoding.bytesToBase64(bytes);
      }
    }
    const arg = { url: state.url, method: state.method, headers: toHeaderObject(state.headers), body, body_base64: bodyBase64 };
    if (state.redirect === 'manual' || state.redirect === 'error') arg.redirect = state.redirect;
    let settled = false;
    let onAbort = null;
    let op;
    try {
      op = asyncOps.start('fetch', arg, (ok, value, error) => {
        if (settled) return;
        settled = true;
        if (signal && onAbort) signal.removeEventListener('abort', onAbort);
        if (!ok) {
          reject(new TypeError(`fetch failed: ${error}`, { cause: new Error(String(error)) }));
          return;
        }
        try {
          resolve(toResponse(state.url, value));
        } catch (err) {
          reject(err);
        }
      });
    } catch (err) {
      // the host refused to start the request (for example: no egress configured)
      reject(new TypeError(`fetch failed: ${err && err.message}`, { cause: err }));
      return;
    }
    if (signal) {
      onAbort = () => {
        if (settled) return;
        settled = true;
        asyncOps.forget(op);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

function toResponse(url, value) {
  if (value === null || typeof value !== 'object') throw new TypeError('fetch failed: the host returned no response');
  const headers = new Headers();
  const h = value.headers || {};
  for (const key of Object.keys(h)) {
    const v = h[key];
    if (Array.isArray(v)) for (const item of v) headers.append(key, item);
    else headers.append(key, v);
  }
  const r = new Response(null, {
    status: Number(value.status),
    statusText: value.status_text !== undefined && value.status_text !== null ? String(value.status_text) : STATUS_TEXT[value.status] || '',
    headers,
    [kInternal]: true,
    url: value.url || url,
    redirected: !!value.redirected,
    type: 'basic',
  });
  const b64 = value.body_base64;
  r[kState].bytes = typeof b64 === 'string' ? encoding.base64ToBytes(b64, false) : typeof value.body === 'string' ? encoding.utf8Encode(value.body) : new Uint8Array(0);
  return r;
}

module.exports = { fetch, Headers, Request, Response };
