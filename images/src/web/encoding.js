'use strict';
// TextEncoder/TextDecoder (utf-8, utf-16le, windows-1252/latin1), atob/btoa and the
// base64 helpers the layer uses to move bytes across the host boundary.

const { StringFromCharCode, apply, TypeError, Uint8Array } = require('../internal/primordials');

const CHUNK = 8192;

// codesToString turns an array-like of UTF-16 code units into a string without building
// one huge argument list.
function codesToString(codes, length) {
  if (length <= CHUNK) {
    return apply(StringFromCharCode, undefined, length === codes.length ? codes : codes.subarray(0, length));
  }
  const parts = [];
  for (let i = 0; i < length; i += CHUNK) {
    parts[parts.length] = apply(StringFromCharCode, undefined, codes.subarray(i, Math.min(i + CHUNK, length)));
  }
  return parts.join('');
}

// utf8Encode returns the UTF-8 bytes of str (lone surrogates become U+FFFD). The work is
// done by QuickJS's native encodeURIComponent/unescape where it can be: a byte loop in
// the interpreter is several times slower.
function utf8Encode(str) {
  str = String(str);
  let latin;
  try {
    latin = unescape(encodeURIComponent(str.toWellFormed()));
  } catch {
    return utf8EncodeSlow(str);
  }
  const m = latin.length;
  const out = new Uint8Array(m);
  for (let i = 0; i < m; i++) out[i] = latin.charCodeAt(i);
  return out;
}

function utf8EncodeSlow(str) {
  const n = str.length;
  const buf = new Uint8Array(n * 3);
  let p = 0;
  for (let i = 0; i < n; i++) {
    let c = str.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? str.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          i++;
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          buf[p++] = 0xf0 | (c >> 18);
          buf[p++] = 0x80 | ((c >> 12) & 63);
          buf[p++] = 0x80 | ((c >> 6) & 63);
          buf[p++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd; // lone surrogate
      }
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 63);
      buf[p++] = 0x80 | (c & 63);
    }
  }
  return buf.slice(0, p);
}

// utf8Decode decodes bytes[start:end]. It returns the string and, when stream is set,
// how many trailing bytes form an incomplete sequence (to be kept for the next call).
// fatal makes invalid input throw instead of decoding to U+FFFD.
function utf8DecodeChunk(bytes, start, end, fatal, stream) {
  const out = new Uint16Array(Math.min(end - start, CHUNK * 4) + 2);
  const parts = [];
  let o = 0;
  let i = start;
  const flush = () => {
    parts[parts.length] = codesToString(out, o);
    o = 0;
  };
  const bad = () => {
    if (fatal) throw new TypeError('The encoded data was not valid for encoding utf-8');
    out[o++] = 0xfffd;
  };
  while (i < end) {
    if (o >= out.length - 2) flush();
    const b = bytes[i];
    if (b < 0x80) {
      out[o++] = b;
      i++;
      continue;
    }
    let need = 0;
    let cp = 0;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      cp = b & 0x1f;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      cp = b & 0xf;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      cp = b & 0x7;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else {
      bad();
      i++;
      continue;
    }
    let j = 1;
    for (; j <= need; j++) {
      if (i + j >= end) break;
      const c = bytes[i + j];
      if (c < lower || c > upper) break;
      lower = 0x80;
      upper = 0xbf;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (j <= need) {
      if (i + j >= end && stream) {
        // an incomplete but so far valid sequence at the end: keep it for later
        flush();
        return { text: parts.join(''), pending: end - i };
      }
      bad();
      i += j; // skip the maximal valid prefix
      continue;
    }
    i += need + 1;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out[o++] = 0xd800 + (cp >> 10);
      out[o++] = 0xdc00 + (cp & 0x3ff);
    } else {
      out[o++] = cp;
    }
  }
  flush();
  return { text: parts.length === 1 ? parts[0] : parts.join(''), pending: 0 };
}

// utf8Decode decodes bytes, invalid sequences becoming U+FFFD. Valid input (the usual
// case) is decoded by QuickJS's native escape/decodeURIComponent.
function utf8Decode(bytes) {
  const latin = codesToString(bytes, bytes.length);
  try {
    return decodeURIComponent(escape(latin));
  } catch {
    return utf8DecodeChunk(bytes, 0, bytes.length, false, false).text;
  }
}

function latin1Decode(bytes) {
  return codesToString(bytes, bytes.length);
}

// latin1Encode keeps the low byte of each UTF-16 code unit (Node's latin1/binary/ascii).
function latin1Encode(str) {
  const n = str.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = str.charCodeAt(i);
  return out;
}

const HEX_CODES = new Uint16Array(256);
const HEX_REV = new Int8Array(128).fill(-1);
for (let i = 0; i < 256; i++) {
  const h = (i + 0x100).toString(16);
  HEX_CODES[i] = h.charCodeAt(1) | (h.charCodeAt(2) << 8);
}
for (let i = 0; i < 16; i++) {
  HEX_REV['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_REV['0123456789ABCDEF'.charCodeAt(i)] = i;
}

function bytesToHex(bytes) {
  const n = bytes.length;
  const out = new Uint8Array(n * 2);
  for (let i = 0, o = 0; i < n; i++, o += 2) {
    const c = HEX_CODES[bytes[i]];
    out[o] = c & 0xff;
    out[o + 1] = c >> 8;
  }
  return codesToString(out, out.length);
}

// hexToBytes decodes pairs of hex digits up to the first invalid one (like Node).
function hexToBytes(str) {
  const n = str.length >> 1;
  const out = new Uint8Array(n);
  let i = 0;
  for (; i < n; i++) {
    const a = str.charCodeAt(2 * i);
    const b = str.charCodeAt(2 * i + 1);
    const hi = a < 128 ? HEX_REV[a] : -1;
    const lo = b < 128 ? HEX_REV[b] : -1;
    if ((hi | lo) < 0) break;
    out[i] = (hi << 4) | lo;
  }
  return i === n ? out : out.slice(0, i);
}

function toBytes(input) {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof Uint8Array) return input;
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) {
    return new Uint8Array(input);
  }
  throw new TypeError('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView');
}

const LABELS = {
  'utf-8': 'utf-8', utf8: 'utf-8', 'unicode-1-1-utf-8': 'utf-8', 'unicode11utf8': 'utf-8', 'unicode20utf8': 'utf-8', 'x-unicode20utf8': 'utf-8',
  'utf-16le': 'utf-16le', 'utf-16': 'utf-16le', ucs2: 'utf-16le', 'ucs-2': 'utf-16le', 'unicodefeff': 'utf-16le', 'csunicode': 'utf-16le',
  'iso-10646-ucs-2': 'utf-16le',
  latin1: 'windows-1252', 'iso-8859-1': 'windows-1252', 'iso8859-1': 'windows-1252', 'iso88591': 'windows-1252', 'iso_8859-1': 'windows-1252',
  'l1': 'windows-1252', ascii: 'windows-1252', 'us-ascii': 'windows-1252', 'windows-1252': 'windows-1252', 'cp1252': 'windows-1252',
  'x-cp1252': 'windows-1252', 'cp819': 'windows-1252', 'ibm819': 'windows-1252', 'csisolatin1': 'windows-1252', 'iso-ir-100': 'windows-1252',
  'ansi_x3.4-1968': 'windows-1252',
};

class TextEncoder {
  get encoding() {
    return 'utf-8';
  }
  encode(input = '') {
    return utf8Encode(input);
  }
  encodeInto(src, dest) {
    const bytes = utf8Encode(src);
    // never split a character: find how many whole characters fit
    let written = Math.min(bytes.length, dest.length);
    if (written < bytes.length) {
      while (written > 0 && (bytes[written] & 0xc0) === 0x80) written--;
    }
    dest.set(bytes.subarray(0, written));
    let read = 0;
    let p = 0;
    const s = String(src);
    while (read < s.length && p < written) {
      const c = s.codePointAt(read);
      p += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
      read += c >= 0x10000 ? 2 : 1;
    }
    return { read, written };
  }
  get [Symbol.toStringTag]() {
    return 'TextEncoder';
  }
}

class TextDecoder {
  #encoding;
  #fatal;
  #ignoreBOM;
  #pending = null;
  #bomSeen = false;
  constructor(label = 'utf-8', options = {}) {
    const enc = LABELS[String(label).trim().toLowerCase()];
    if (!enc) {
      const e = new RangeError(`The "${label}" encoding is not supported`);
      e.code = 'ERR_ENCODING_NOT_SUPPORTED';
      throw e;
    }
    this.#encoding = enc;
    this.#fatal = !!(options && options.fatal);
    this.#ignoreBOM = !!(options && options.ignoreBOM);
  }
  get encoding() {
    return this.#encoding;
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input, options) {
    const stream = !!(options && options.stream);
    let bytes = toBytes(input);
    if (this.#pending) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = null;
    }
    let text;
    if (this.#encoding === 'utf-8') {
      const r = utf8DecodeChunk(bytes, 0, bytes.length, this.#fatal, stream);
      if (r.pending) this.#pending = bytes.slice(bytes.length - r.pending);
      text = r.text;
    } else if (this.#encoding === 'utf-16le') {
      let n = bytes.length;
      if (n & 1) {
        if (stream) {
          this.#pending = bytes.slice(n - 1);
        } else if (this.#fatal) {
          throw new TypeError('The encoded data was not valid for encoding utf-16le');
        }
        n--;
      }
      const codes = new Uint16Array(n / 2 + (n < bytes.length && !stream ? 1 : 0));
      for (let i = 0, j = 0; i < n; i += 2, j++) codes[j] = bytes[i] | (bytes[i + 1] << 8);
      if (n < bytes.length && !stream) codes[codes.length - 1] = 0xfffd;
      text = codesToString(codes, codes.length);
    } else {
      // Node 22 decodes the latin1/windows-1252 labels as ISO-8859-1 (0x80..0x9f stay C1
      // controls): so does the layer
      text = latin1Decode(bytes);
    }
    if (!this.#bomSeen && text.length > 0) {
      this.#bomSeen = true;
      if (!this.#ignoreBOM && this.#encoding !== 'windows-1252' && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (!stream) {
      this.#bomSeen = false;
      this.#pending = null;
    }
    return text;
  }
  get [Symbol.toStringTag]() {
    return 'TextDecoder';
  }
}

// --- base64 ---

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_CODES = new Uint8Array(64);
const B64_REV = new Int16Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_CODES[i] = B64.charCodeAt(i);
  B64_REV[B64.charCodeAt(i)] = i;
}
const B64_REV_STRICT = B64_REV.slice(); // atob: the standard alphabet only
B64_REV[45] = 62; // '-' (base64url)
B64_REV[95] = 63; // '_'

function bytesToBase64(bytes) {
  const n = bytes.length;
  const out = new Uint8Array(((n + 2) / 3 | 0) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = B64_CODES[v >> 18];
    out[o++] = B64_CODES[(v >> 12) & 63];
    out[o++] = B64_CODES[(v >> 6) & 63];
    out[o++] = B64_CODES[v & 63];
  }
  if (i < n) {
    const v = (bytes[i] << 16) | (i + 1 < n ? bytes[i + 1] << 8 : 0);
    out[o++] = B64_CODES[v >> 18];
    out[o++] = B64_CODES[(v >> 12) & 63];
    out[o++] = i + 1 < n ? B64_CODES[(v >> 6) & 63] : 61;
    out[o++] = 61;
  }
  return codesToString(out, o);
}

// base64ToBytes decodes standard or URL-safe base64, ignoring whitespace and padding.
// With strict set (atob), any other character or a bad length throws.
function base64ToBytes(str, strict) {
  str = String(str);
  const n = str.length;
  const out = new Uint8Array(((n * 3) >> 2) + 3);
  let o = 0;
  let i = 0;
  const rev = strict ? B64_REV_STRICT : B64_REV;
  // fast path: whole quads of alphabet characters
  {
    for (; i + 4 <= n; i += 4) {
      const a = str.charCodeAt(i);
      const b = str.charCodeAt(i + 1);
      const c = str.charCodeAt(i + 2);
      const d = str.charCodeAt(i + 3);
      if ((a | b | c | d) > 255) break;
      const va = rev[a];
      const vb = rev[b];
      const vc = rev[c];
      const vd = rev[d];
      if ((va | vb | vc | vd) < 0) break;
      const v = (va << 18) | (vb << 12) | (vc << 6) | vd;
      out[o++] = v >> 16;
      out[o++] = (v >> 8) & 255;
      out[o++] = v & 255;
    }
  }
  let acc = 0;
  let bits = 0;
  let count = i; // characters consumed by the fast path (whole quads)
  let pad = 0;
  for (; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c === 61) {
      pad++;
      continue;
    }
    if (c === 32 || c === 9 || c === 10 || c === 12 || c === 13) continue;
    const v = c < 256 ? rev[c] : -1;
    if (v < 0 || pad > 0) {
      if (strict) throw invalidCharacter();
      if (pad > 0) break;
      continue;
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    count++;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (strict && (count % 4 === 1 || (pad > 0 && (count + pad) % 4 !== 0) || pad > 2)) throw invalidCharacter();
  return out.slice(0, o);
}

function invalidCharacter() {
  return new DOMException('The string to be decoded is not correctly encoded.', 'InvalidCharacterError');
}

function btoa(data) {
  if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
  const s = String(data);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new DOMException('Invalid character', 'InvalidCharacterError');
    bytes[i] = c;
  }
  return bytesToBase64(bytes);
}

function atob(data) {
  if (arguments.length === 0) throw new TypeError('The "data" argument must be specified');
  return latin1Decode(base64ToBytes(data, true));
}

module.exports = {
  TextEncoder,
  TextDecoder,
  atob,
  btoa,
  utf8Encode,
  utf8Decode,
  latin1Decode,
  latin1Encode,
  bytesToHex,
  hexToBytes,
  bytesToBase64,
  base64ToBytes,
  toBytes,
};
