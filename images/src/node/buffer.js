'use strict';
// The `buffer` module: the npm `buffer` package (feross, v6) plus what Node added since:
// the base64url encoding, faster UTF-8 conversion, atob/btoa, constants, isUtf8/isAscii.

const bufferModule = require('buffer');
const encoding = require('../web/encoding');

const { Buffer } = bufferModule;
const { apply } = Reflect;

const lower = (e) => (typeof e === 'string' ? (e.length < 12 ? e.toLowerCase() : '') : '');
const isLatin1 = (e) => {
  const l = lower(e);
  return l === 'latin1' || l === 'binary';
};
const isAscii = (e) => lower(e) === 'ascii';
const isHex = (e) => lower(e) === 'hex';
const isBase64 = (e) => e === 'base64' || (typeof e === 'string' && e.toLowerCase() === 'base64');
const isBase64url = (e) => typeof e === 'string' && (e === 'base64url' || e.toLowerCase() === 'base64url');
const isUtf8Name = (e) => e === 'utf8' || e === 'utf-8' || (typeof e === 'string' && (e.toLowerCase() === 'utf8' || e.toLowerCase() === 'utf-8'));

function fromBytes(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

// Replace 'base64url' string arguments (never the first) by 'base64': npm buffer decodes
// both alphabets under the name base64.
function mapEncodingArgs(args) {
  for (let i = 1; i < args.length; i++) if (isBase64url(args[i])) args[i] = 'base64';
  return args;
}

function toBase64url(b64) {
  let end = b64.length;
  while (end > 0 && b64.charCodeAt(end - 1) === 61) end--;
  return b64.slice(0, end).replace(/\+/g, '-').replace(/\//g, '_');
}

const origIsEncoding = Buffer.isEncoding;
Buffer.isEncoding = function isEncoding(enc) {
  return isBase64url(enc) || origIsEncoding(enc);
};

const origFrom = Buffer.from;
Buffer.from = function from(value, encodingOrOffset, length) {
  if (typeof value === 'string') {
    if (encodingOrOffset === undefined || isUtf8Name(encodingOrOffset)) return fromBytes(encoding.utf8Encode(value));
    if (isBase64(encodingOrOffset) || isBase64url(encodingOrOffset)) return fromBytes(encoding.base64ToBytes(value, false));
    if (isLatin1(encodingOrOffset) || isAscii(encodingOrOffset)) return fromBytes(encoding.latin1Encode(value));
    if (isHex(encodingOrOffset)) return fromBytes(encoding.hexToBytes(value));
  }
  return apply(origFrom, this, [value, encodingOrOffset, length]);
};

for (const name of ['byteLength', 'alloc']) {
  const orig = Buffer[name];
  Buffer[name] = {
    [name](...args) {
      return apply(orig, this, mapEncodingArgs(args));
    },
  }[name];
}

for (const name of ['write', 'fill', 'includes', 'indexOf', 'lastIndexOf']) {
  const orig = Buffer.prototype[name];
  Buffer.prototype[name] = {
    [name](...args) {
      return apply(orig, this, mapEncodingArgs(args));
    },
  }[name];
}

const origToString = Buffer.prototype.toString;
Buffer.prototype.toString = function toString(enc, start, end) {
  if (enc === undefined || isUtf8Name(enc) || isBase64(enc) || isBase64url(enc) || isLatin1(enc) || isAscii(enc) || isHex(enc)) {
    const length = this.length;
    start = start === undefined || start < 0 ? 0 : start >>> 0;
    end = end === undefined || end > length ? length : end >>> 0;
    if (end <= start || start >= length) return '';
    const view = new Uint8Array(this.buffer, this.byteOffset + start, end - start);
    if (isBase64(enc)) return encoding.bytesToBase64(view);
    if (isBase64url(enc)) return toBase64url(encoding.bytesToBase64(view));
    if (isLatin1(enc)) return encoding.latin1Decode(view);
    if (isHex(enc)) return encoding.bytesToHex(view);
    if (isAscii(enc)) {
      const masked = new Uint8Array(view.length);
      for (let i = 0; i < view.length; i++) masked[i] = view[i] & 0x7f;
      return encoding.latin1Decode(masked);
    }
    return encoding.utf8Decode(view);
  }
  return apply(origToString, this, arguments);
};
Buffer.prototype.toLocaleString = Buffer.prototype.toString;

function isUtf8(input) {
  try {
    new encoding.TextDecoder('utf-8', { fatal: true }).decode(input);
    return true;
  } catch {
    return false;
  }
}

function isAsciiBytes(input) {
  const bytes = encoding.toBytes(input);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] > 0x7f) return false;
  return true;
}

function transcode() {
  const err = new Error('buffer.transcode is not available in reactors');
  err.code = 'ERR_NOT_AVAILABLE_IN_REACTORS';
  throw err;
}

const kStringMaxLength = 2 ** 30 - 1;

module.exports = {
  Buffer,
  SlowBuffer: bufferModule.SlowBuffer,
  INSPECT_MAX_BYTES: bufferModule.INSPECT_MAX_BYTES,
  kMaxLength: bufferModule.kMaxLength,
  kStringMaxLength,
  constants: { MAX_LENGTH: bufferModule.kMaxLength, MAX_STRING_LENGTH: kStringMaxLength },
  atob: encoding.atob,
  btoa: encoding.btoa,
  isUtf8,
  isAscii: isAsciiBytes,
  transcode,
};
