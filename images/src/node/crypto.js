'use strict';
// The `crypto` module and the Web Crypto global, backed by the host: random bytes come
// from the host CSPRNG (op `random`), digests and MACs from Go (ops `hash`, `hmac`).
// Ciphers, signatures and key generation are not available.

const host = require('../internal/host');
const { Buffer } = require('./buffer');
const encoding = require('../web/encoding');
const timers = require('./timers');

const HOST_RANDOM_MAX = 65536;

function codedError(Ctor, message, code) {
  const err = new Ctor(message);
  err.code = code;
  return err;
}

function notAvailable(name) {
  return function () {
    throw codedError(Error, `crypto.${name} is not available in reactors`, 'ERR_NOT_AVAILABLE_IN_REACTORS');
  };
}

function invalidArgType(name, expected, actual) {
  const received = actual === null ? 'null' : typeof actual === 'object' ? `an instance of ${(actual.constructor && actual.constructor.name) || 'Object'}` : `type ${typeof actual} (${String(actual)})`;
  return codedError(TypeError, `The "${name}" argument must be ${expected}. Received ${received}`, 'ERR_INVALID_ARG_TYPE');
}

// fillRandom fills a Uint8Array view from the host CSPRNG.
function fillRandom(bytes) {
  for (let off = 0; off < bytes.length; off += HOST_RANDOM_MAX) {
    const n = Math.min(HOST_RANDOM_MAX, bytes.length - off);
    const chunk = encoding.base64ToBytes(host.call('random', String(n)), false);
    bytes.set(chunk, off);
  }
  return bytes;
}

function asBytes(data, enc, name = 'data') {
  if (typeof data === 'string') return Buffer.from(data, enc === undefined || enc === 'buffer' ? 'utf8' : enc);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw invalidArgType(name, 'of type string or an instance of Buffer, TypedArray, or DataView', data);
}

function concat(chunks, total) {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function encodeOutput(bytes, enc) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (enc === undefined || enc === 'buffer') return buf;
  return buf.toString(enc);
}

// --- hashes ---

const ALGS = { md5: 'md5', sha1: 'sha1', sha256: 'sha256', sha512: 'sha512' };
const DIGEST_SIZE = { md5: 16, sha1: 20, sha256: 32, sha512: 64 };

function normalizeAlg(alg) {
  if (typeof alg !== 'string') return undefined;
  let a = alg.toLowerCase().replace(/^rsa-/, '');
  a = a.replace(/-/g, '');
  return ALGS[a];
}

function hostDigest(alg, data, key) {
  const payload =
    key === undefined
      ? { alg, data: encoding.bytesToBase64(data) }
      : { alg, key: encoding.bytesToBase64(key), data: encoding.bytesToBase64(data) };
  return encoding.base64ToBytes(host.callJSON(key === undefined ? 'hash' : 'hmac', payload), false);
}

class Hash {
  #alg;
  #key;
  #chunks = [];
  #length = 0;
  #finalized = false;
  constructor(algorithm, key) {
    const alg = normalizeAlg(algorithm);
    if (!alg) {
      if (key !== undefined) throw codedError(TypeError, `Invalid digest: ${algorithm}`, 'ERR_CRYPTO_INVALID_DIGEST');
      throw new Error('Digest method not supported');
    }
    this.#alg = alg;
    this.#key = key;
  }
  update(data, inputEncoding) {
    if (this.#finalized) throw codedError(Error, 'Digest already called', 'ERR_CRYPTO_HASH_FINALIZED');
    const bytes = asBytes(data, inputEncoding);
    // copy: the caller may reuse its buffer before digest()
    this.#chunks.push(new Uint8Array(bytes));
    this.#length += bytes.length;
    return this;
  }
  digest(outputEncoding) {
    if (this.#finalized) throw codedError(Error, 'Digest already called', 'ERR_CRYPTO_HASH_FINALIZED');
    this.#finalized = true;
    const out = hostDigest(this.#alg, concat(this.#chunks, this.#length), this.#key);
    this.#chunks = [];
    return encodeOutput(out, outputEncoding);
  }
  copy() {
    if (this.#finalized) throw codedError(Error, 'Digest already called', 'ERR_CRYPTO_HASH_FINALIZED');
    const h = new Hash(this.#alg, this.#key);
    h.#chunks = this.#chunks.slice();
    h.#length = this.#length;
    return h;
  }
}

class Hmac extends Hash {}

class KeyObject {
  #bytes;
  constructor(bytes) {
    this.#bytes = bytes;
  }
  get type() {
    return 'secret';
  }
  get symmetricKeySize() {
    return this.#bytes.length;
  }
  export() {
    return Buffer.from(this.#bytes);
  }
  equals(other) {
    return other instanceof KeyObject && timingSafeEqual(this.#bytes, other.export());
  }
  static bytes(k) {
    return k.#bytes;
  }
}

function keyBytes(key, name = 'key') {
  if (key instanceof KeyObject) return KeyObject.bytes(key);
  if (key && typeof key === 'object' && !ArrayBuffer.isView(key) && !(key instanceof ArrayBuffer) && 'key' in key) {
    return asBytes(key.key, key.encoding, name);
  }
  return new Uint8Array(asBytes(key, undefined, name));
}

function createHash(algorithm, options) {
  void options;
  return new Hash(algorithm);
}

function createHmac(algorithm, key, options) {
  void options;
  return new Hmac(algorithm, keyBytes(key));
}

function hash(algorithm, data, outputEncoding = 'hex') {
  return new Hash(algorithm).update(data).digest(outputEncoding);
}

function createSecretKey(key, enc) {
  return new KeyObject(new Uint8Array(asBytes(key, enc, 'key')));
}

// --- random ---

function validateSize(size) {
  if (typeof size !== 'number') throw invalidArgType('size', 'of type number', size);
  if (!(size >= 0 && size <= 2 ** 31 - 1) || !Number.isInteger(size)) {
    throw codedError(RangeError, `The value of "size" is out of range. It must be >= 0 && <= 2147483647. Received ${size}`, 'ERR_OUT_OF_RANGE');
  }
}

function randomBytes(size, callback) {
  validateSize(size);
  const buf = Buffer.alloc(size);
  fillRandom(buf);
  if (typeof callback === 'function') {
    timers.nextTick(callback, null, buf);
    return undefined;
  }
  return buf;
}

function randomFillSync(buf, offset = 0, size) {
  if (!ArrayBuffer.isView(buf) && !(buf instanceof ArrayBuffer)) throw invalidArgType('buf', 'an instance of ArrayBuffer or ArrayBufferView', buf);
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (size === undefined) size = bytes.length - offset;
  if (offset < 0 || size < 0 || offset + size > bytes.length) {
    throw codedError(RangeError, 'The value of "offset + size" is out of range.', 'ERR_OUT_OF_RANGE');
  }
  fillRandom(bytes.subarray(offset, offset + size));
  return buf;
}

function randomFill(buf, offset, size, callback) {
  if (typeof offset === 'function') {
    callback = offset;
    offset = 0;
    size = undefined;
  } else if (typeof size === 'function') {
    callback = size;
    size = undefined;
  }
  randomFillSync(buf, offset, size);
  timers.nextTick(callback, null, buf);
}

const RAND_MAX = 0xffffffffffff; // 2^48 - 1

function randomInt(min, max, callback) {
  const minNotSpecified = typeof max === 'undefined' || typeof max === 'function';
  if (minNotSpecified) {
    callback = max;
    max = min;
    min = 0;
  }
  if (!Number.isSafeInteger(min)) throw invalidArgType('min', 'a safe integer', min);
  if (!Number.isSafeInteger(max)) throw invalidArgType('max', 'a safe integer', max);
  if (max <= min) {
    throw codedError(RangeError, `The value of "max" is out of range. It must be greater than the value of "min" (${min}). Received ${max}`, 'ERR_OUT_OF_RANGE');
  }
  const range = max - min;
  if (!(range <= RAND_MAX)) {
    throw codedError(RangeError, `The value of "max - min" is out of range. It must be <= ${RAND_MAX}. Received ${range}`, 'ERR_OUT_OF_RANGE');
  }
  const randLimit = RAND_MAX - (RAND_MAX % range);
  const bytes = new Uint8Array(6);
  for (;;) {
    fillRandom(bytes);
    const x = bytes[0] * 2 ** 40 + bytes[1] * 2 ** 32 + bytes[2] * 2 ** 24 + bytes[3] * 2 ** 16 + bytes[4] * 2 ** 8 + bytes[5];
    if (x < randLimit) {
      const n = (x % range) + min;
      if (typeof callback === 'function') {
        timers.nextTick(callback, null, n);
        return undefined;
      }
      return n;
    }
  }
}

const hex = [];
for (let i = 0; i < 256; i++) hex.push((i + 0x100).toString(16).slice(1));

function randomUUID(options) {
  void options;
  const b = fillRandom(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return (
    hex[b[0]] + hex[b[1]] + hex[b[2]] + hex[b[3]] + '-' + hex[b[4]] + hex[b[5]] + '-' + hex[b[6]] + hex[b[7]] + '-' +
    hex[b[8]] + hex[b[9]] + '-' + hex[b[10]] + hex[b[11]] + hex[b[12]] + hex[b[13]] + hex[b[14]] + hex[b[15]]
  );
}

function getRandomValues(array) {
  if (
    !ArrayBuffer.isView(array) ||
    array instanceof DataView ||
    array instanceof Float32Array ||
    array instanceof Float64Array ||
    (typeof Float16Array === 'function' && array instanceof Float16Array)
  ) {
    throw new DOMException("The data argument must be an integer-type TypedArray", 'TypeMismatchError');
  }
  if (array.byteLength > 65536) {
    throw new DOMException(
      `The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`,
      'QuotaExceededError',
    );
  }
  fillRandom(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return array;
}

function timingSafeEqual(a, b) {
  if (!ArrayBuffer.isView(a) && !(a instanceof ArrayBuffer)) throw invalidArgType('buf1', 'an instance of ArrayBuffer, Buffer, TypedArray, or DataView', a);
  if (!ArrayBuffer.isView(b) && !(b instanceof ArrayBuffer)) throw invalidArgType('buf2', 'an instance of ArrayBuffer, Buffer, TypedArray, or DataView', b);
  const x = asBytes(a);
  const y = asBytes(b);
  if (x.length !== y.length) throw codedError(RangeError, 'Input buffers must have the same byte length', 'ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH');
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

// --- key derivation on top of the host's HMAC ---

function hmacBytes(alg, key, data) {
  return hostDigest(alg, data, key);
}

function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  const alg = normalizeAlg(digest);
  if (!alg) throw codedError(TypeError, `Invalid digest: ${digest}`, 'ERR_CRYPTO_INVALID_DIGEST');
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw codedError(RangeError, `The value of "iterations" is out of range. It must be >= 1 && <= 2147483647. Received ${iterations}`, 'ERR_OUT_OF_RANGE');
  }
  if (!Number.isInteger(keylen) || keylen < 0) {
    throw codedError(RangeError, `The value of "keylen" is out of range. It must be >= 0 && <= 2147483647. Received ${keylen}`, 'ERR_OUT_OF_RANGE');
  }
  const p = keyBytes(password, 'password');
  const s = asBytes(salt, undefined, 'salt');
  const hLen = DIGEST_SIZE[alg];
  const out = new Uint8Array(keylen);
  const block = new Uint8Array(s.length + 4);
  block.set(s);
  for (let i = 1, off = 0; off < keylen; i++, off += hLen) {
    block[s.length] = i >>> 24;
    block[s.length + 1] = (i >>> 16) & 255;
    block[s.length + 2] = (i >>> 8) & 255;
    block[s.length + 3] = i & 255;
    let u = hmacBytes(alg, p, block);
    const t = new Uint8Array(u);
    for (let j = 1; j < iterations; j++) {
      u = hmacBytes(alg, p, u);
      for (let k = 0; k < hLen; k++) t[k] ^= u[k];
    }
    out.set(t.subarray(0, Math.min(hLen, keylen - off)), off);
  }
  return Buffer.from(out.buffer, 0, keylen);
}

function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  if (typeof callback !== 'function') throw invalidArgType('callback', 'of type function', callback);
  let result;
  try {
    result = pbkdf2Sync(password, salt, iterations, keylen, digest);
  } catch (err) {
    timers.nextTick(callback, err);
    return;
  }
  timers.nextTick(callback, null, result);
}

function hkdfSync(digest, ikm, salt, info, keylen) {
  const alg = normalizeAlg(digest);
  if (!alg) throw codedError(TypeError, `Invalid digest: ${digest}`, 'ERR_CRYPTO_INVALID_DIGEST');
  const hLen = DIGEST_SIZE[alg];
  if (keylen > 255 * hLen) throw codedError(RangeError, `Invalid key length`, 'ERR_CRYPTO_INVALID_KEYLEN');
  let s = asBytes(salt, undefined, 'salt');
  if (s.length === 0) s = new Uint8Array(hLen);
  const prk = hmacBytes(alg, s, keyBytes(ikm, 'ikm'));
  const inf = asBytes(info, undefined, 'info');
  const out = new Uint8Array(keylen);
  let prev = new Uint8Array(0);
  for (let i = 1, off = 0; off < keylen; i++, off += hLen) {
    const input = new Uint8Array(prev.length + inf.length + 1);
    input.set(prev);
    input.set(inf, prev.length);
    input[input.length - 1] = i;
    prev = hmacBytes(alg, prk, input);
    out.set(prev.subarray(0, Math.min(hLen, keylen - off)), off);
  }
  return out.buffer;
}

function hkdf(digest, ikm, salt, info, keylen, callback) {
  let result;
  try {
    result = hkdfSync(digest, ikm, salt, info, keylen);
  } catch (err) {
    timers.nextTick(callback, err);
    return;
  }
  timers.nextTick(callback, null, result);
}

// --- Web Crypto: getRandomValues, randomUUID, and subtle digest/HMAC ---

const WEB_ALGS = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512', MD5: 'md5' };

function webAlg(algorithm) {
  const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name;
  const alg = typeof name === 'string' ? WEB_ALGS[name.toUpperCase()] : undefined;
  if (!alg) throw new DOMException(`Unrecognized algorithm name: ${name}`, 'NotSupportedError');
  return alg;
}

const kKeyData = Symbol('kKeyData');

class CryptoKey {
  constructor(data, algorithm, extractable, usages) {
    Object.defineProperty(this, kKeyData, { value: data });
    this.type = 'secret';
    this.extractable = extractable;
    this.algorithm = algorithm;
    this.usages = usages;
  }
  get [Symbol.toStringTag]() {
    return 'CryptoKey';
  }
}

function bufferSourceBytes(data) {
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  throw new TypeError('The provided value is not of type (ArrayBuffer or ArrayBufferView)');
}

function toArrayBuffer(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

const subtleMethods = {
  async digest(algorithm, data) {
    return toArrayBuffer(hostDigest(webAlg(algorithm), bufferSourceBytes(data)));
  },
  async importKey(format, keyData, algorithm, extractable, usages) {
    const name = typeof algorithm === 'string' ? algorithm : algorithm && algorithm.name;
    if (String(name).toUpperCase() !== 'HMAC') throw new DOMException(`Unrecognized algorithm name: ${name}`, 'NotSupportedError');
    if (format !== 'raw') throw new DOMException(`Unsupported key format: ${format}`, 'NotSupportedError');
    const hashName = typeof algorithm.hash === 'string' ? algorithm.hash : algorithm.hash && algorithm.hash.name;
    webAlg(hashName);
    const bytes = bufferSourceBytes(keyData);
    return new CryptoKey(bytes, { name: 'HMAC', hash: { name: String(hashName).toUpperCase() }, length: bytes.length * 8 }, !!extractable, [...usages]);
  },
  async exportKey(format, key) {
    if (format !== 'raw' || !(key instanceof CryptoKey)) throw new DOMException(`Unsupported key format: ${format}`, 'NotSupportedError');
    if (!key.extractable) throw new DOMException('key is not extractable', 'InvalidAccessError');
    return toArrayBuffer(key[kKeyData]);
  },
  async sign(algorithm, key, data) {
    if (!(key instanceof CryptoKey)) throw new TypeError('key is not a CryptoKey');
    return toArrayBuffer(hmacBytes(webAlg(key.algorithm.hash), key[kKeyData], bufferSourceBytes(data)));
  },
  async verify(algorithm, key, signature, data) {
    const mac = new Uint8Array(await subtleMethods.sign(algorithm, key, data));
    const sig = bufferSourceBytes(signature);
    return sig.length === mac.length && timingSafeEqual(sig, mac);
  },
};
for (const name of ['encrypt', 'decrypt', 'generateKey', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey']) {
  subtleMethods[name] = {
    async [name]() {
      throw new DOMException(`crypto.subtle.${name} is not available in reactors`, 'NotSupportedError');
    },
  }[name];
}

// SubtleCrypto and Crypto are classes so that they print like Node's (`Crypto {}`).
class SubtleCrypto {}
for (const name of Object.keys(subtleMethods)) {
  Object.defineProperty(SubtleCrypto.prototype, name, { value: subtleMethods[name], writable: true, configurable: true, enumerable: true });
}
Object.defineProperty(SubtleCrypto.prototype, Symbol.toStringTag, { value: 'SubtleCrypto', configurable: true });
const subtle = new SubtleCrypto();

class Crypto {
  get subtle() {
    return subtle;
  }
  getRandomValues(array) {
    return getRandomValues(array);
  }
  randomUUID() {
    return randomUUID();
  }
}
Object.defineProperty(Crypto.prototype, Symbol.toStringTag, { value: 'Crypto', configurable: true });
const webcrypto = new Crypto();

const crypto = {
  createHash,
  createHmac,
  hash,
  createSecretKey,
  KeyObject,
  Hash,
  Hmac,
  randomBytes,
  pseudoRandomBytes: randomBytes,
  prng: randomBytes,
  rng: randomBytes,
  randomFillSync,
  randomFill,
  randomInt,
  randomUUID,
  getRandomValues,
  timingSafeEqual,
  pbkdf2,
  pbkdf2Sync,
  hkdf,
  hkdfSync,
  getHashes: () => ['md5', 'sha1', 'sha256', 'sha512'],
  getCiphers: () => [],
  getCurves: () => [],
  getFips: () => 0,
  setFips: notAvailable('setFips'),
  constants: {},
  webcrypto,
  subtle,
  CryptoKey,
  SubtleCrypto,
  Crypto,
};
for (const name of [
  'createCipheriv',
  'createDecipheriv',
  'createSign',
  'createVerify',
  'sign',
  'verify',
  'publicEncrypt',
  'privateDecrypt',
  'privateEncrypt',
  'publicDecrypt',
  'generateKeyPair',
  'generateKeyPairSync',
  'generateKey',
  'generateKeySync',
  'createPrivateKey',
  'createPublicKey',
  'createDiffieHellman',
  'createDiffieHellmanGroup',
  'getDiffieHellman',
  'createECDH',
  'diffieHellman',
  'scrypt',
  'scryptSync',
  'generatePrime',
  'generatePrimeSync',
  'checkPrime',
  'checkPrimeSync',
  'X509Certificate',
  'Certificate',
  'secureHeapUsed',
  'setEngine',
]) {
  crypto[name] = notAvailable(name);
}

module.exports = crypto;
