'use strict';
// The `zlib` module over the host (op `zlib`, docs/host-abi.md): Go's compress
// packages and brotli do the work in one call per buffer, which is far faster than a
// compressor interpreted by QuickJS (fflate needs ~0.8 s to gzip 228 KiB here). Output
// is capped by the host to a share of the tier's memory. Streams (createGzip, ...) are
// Transform streams that collect their input and emit the result when they end, so
// their output arrives in one piece rather than incrementally.

const host = require('../internal/host');
const { Buffer } = require('./buffer');
const encoding = require('../web/encoding');
const timers = require('./timers');
const { Transform } = require('readable-stream/lib/stream.js');

const constants = Object.freeze({"Z_NO_FLUSH":0,"Z_PARTIAL_FLUSH":1,"Z_SYNC_FLUSH":2,"Z_FULL_FLUSH":3,"Z_FINISH":4,"Z_BLOCK":5,"Z_OK":0,"Z_STREAM_END":1,"Z_NEED_DICT":2,"Z_ERRNO":-1,"Z_STREAM_ERROR":-2,"Z_DATA_ERROR":-3,"Z_MEM_ERROR":-4,"Z_BUF_ERROR":-5,"Z_VERSION_ERROR":-6,"Z_NO_COMPRESSION":0,"Z_BEST_SPEED":1,"Z_BEST_COMPRESSION":9,"Z_DEFAULT_COMPRESSION":-1,"Z_FILTERED":1,"Z_HUFFMAN_ONLY":2,"Z_RLE":3,"Z_FIXED":4,"Z_DEFAULT_STRATEGY":0,"ZLIB_VERNUM":4880,"DEFLATE":1,"INFLATE":2,"GZIP":3,"GUNZIP":4,"DEFLATERAW":5,"INFLATERAW":6,"UNZIP":7,"BROTLI_DECODE":8,"BROTLI_ENCODE":9,"Z_MIN_WINDOWBITS":8,"Z_MAX_WINDOWBITS":15,"Z_DEFAULT_WINDOWBITS":15,"Z_MIN_CHUNK":64,"Z_MAX_CHUNK":Infinity,"Z_DEFAULT_CHUNK":16384,"Z_MIN_MEMLEVEL":1,"Z_MAX_MEMLEVEL":9,"Z_DEFAULT_MEMLEVEL":8,"Z_MIN_LEVEL":-1,"Z_MAX_LEVEL":9,"Z_DEFAULT_LEVEL":-1,"BROTLI_OPERATION_PROCESS":0,"BROTLI_OPERATION_FLUSH":1,"BROTLI_OPERATION_FINISH":2,"BROTLI_OPERATION_EMIT_METADATA":3,"BROTLI_PARAM_MODE":0,"BROTLI_MODE_GENERIC":0,"BROTLI_MODE_TEXT":1,"BROTLI_MODE_FONT":2,"BROTLI_DEFAULT_MODE":0,"BROTLI_PARAM_QUALITY":1,"BROTLI_MIN_QUALITY":0,"BROTLI_MAX_QUALITY":11,"BROTLI_DEFAULT_QUALITY":11,"BROTLI_PARAM_LGWIN":2,"BROTLI_MIN_WINDOW_BITS":10,"BROTLI_MAX_WINDOW_BITS":24,"BROTLI_LARGE_MAX_WINDOW_BITS":30,"BROTLI_DEFAULT_WINDOW":22,"BROTLI_PARAM_LGBLOCK":3,"BROTLI_MIN_INPUT_BLOCK_BITS":16,"BROTLI_MAX_INPUT_BLOCK_BITS":24,"BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING":4,"BROTLI_PARAM_SIZE_HINT":5,"BROTLI_PARAM_LARGE_WINDOW":6,"BROTLI_PARAM_NPOSTFIX":7,"BROTLI_PARAM_NDIRECT":8,"BROTLI_DECODER_RESULT_ERROR":0,"BROTLI_DECODER_RESULT_SUCCESS":1,"BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT":2,"BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT":3,"BROTLI_DECODER_PARAM_DISABLE_RING_BUFFER_REALLOCATION":0,"BROTLI_DECODER_PARAM_LARGE_WINDOW":1,"BROTLI_DECODER_NO_ERROR":0,"BROTLI_DECODER_SUCCESS":1,"BROTLI_DECODER_NEEDS_MORE_INPUT":2,"BROTLI_DECODER_NEEDS_MORE_OUTPUT":3,"BROTLI_DECODER_ERROR_FORMAT_EXUBERANT_NIBBLE":-1,"BROTLI_DECODER_ERROR_FORMAT_RESERVED":-2,"BROTLI_DECODER_ERROR_FORMAT_EXUBERANT_META_NIBBLE":-3,"BROTLI_DECODER_ERROR_FORMAT_SIMPLE_HUFFMAN_ALPHABET":-4,"BROTLI_DECODER_ERROR_FORMAT_SIMPLE_HUFFMAN_SAME":-5,"BROTLI_DECODER_ERROR_FORMAT_CL_SPACE":-6,"BROTLI_DECODER_ERROR_FORMAT_HUFFMAN_SPACE":-7,"BROTLI_DECODER_ERROR_FORMAT_CONTEXT_MAP_REPEAT":-8,"BROTLI_DECODER_ERROR_FORMAT_BLOCK_LENGTH_1":-9,"BROTLI_DECODER_ERROR_FORMAT_BLOCK_LENGTH_2":-10,"BROTLI_DECODER_ERROR_FORMAT_TRANSFORM":-11,"BROTLI_DECODER_ERROR_FORMAT_DICTIONARY":-12,"BROTLI_DECODER_ERROR_FORMAT_WINDOW_BITS":-13,"BROTLI_DECODER_ERROR_FORMAT_PADDING_1":-14,"BROTLI_DECODER_ERROR_FORMAT_PADDING_2":-15,"BROTLI_DECODER_ERROR_FORMAT_DISTANCE":-16,"BROTLI_DECODER_ERROR_DICTIONARY_NOT_SET":-19,"BROTLI_DECODER_ERROR_INVALID_ARGUMENTS":-20,"BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MODES":-21,"BROTLI_DECODER_ERROR_ALLOC_TREE_GROUPS":-22,"BROTLI_DECODER_ERROR_ALLOC_CONTEXT_MAP":-25,"BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_1":-26,"BROTLI_DECODER_ERROR_ALLOC_RING_BUFFER_2":-27,"BROTLI_DECODER_ERROR_ALLOC_BLOCK_TYPE_TREES":-30,"BROTLI_DECODER_ERROR_UNREACHABLE":-31});

const codes = {};
for (const name of ['Z_OK', 'Z_STREAM_END', 'Z_NEED_DICT', 'Z_ERRNO', 'Z_STREAM_ERROR', 'Z_DATA_ERROR', 'Z_MEM_ERROR', 'Z_BUF_ERROR', 'Z_VERSION_ERROR']) {
  codes[name] = constants[name];
  codes[constants[name]] = name;
}
Object.freeze(codes);

function codedError(Ctor, message, code) {
  const err = new Ctor(message);
  err.code = code;
  return err;
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'function') return `function ${v.name}`;
  if (typeof v === 'object') return v.constructor && v.constructor.name ? `an instance of ${v.constructor.name}` : 'an instance of Object';
  let shown = typeof v === 'string' ? `'${v}'` : String(v);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof v} (${shown})`;
}

function toBytes(buffer, name = 'buffer') {
  if (typeof buffer === 'string') return encoding.utf8Encode(buffer);
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  throw codedError(TypeError, `The "${name}" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer. Received ${describe(buffer)}`, 'ERR_INVALID_ARG_TYPE');
}

function checkRange(opts, key, lo, hi) {
  const v = opts[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw codedError(TypeError, `The "options.${key}" property must be of type number. Received ${describe(v)}`, 'ERR_INVALID_ARG_TYPE');
  if (!Number.isFinite(v) || (Number.isInteger(lo) && !Number.isInteger(v) && v !== Infinity) || v < lo || v > hi) {
    throw codedError(RangeError, `The value of "options.${key}" is out of range. It must be >= ${lo} and <= ${hi}. Received ${v}`, 'ERR_OUT_OF_RANGE');
  }
  return v;
}

const BROTLI_MODES = { brotliCompress: true, brotliDecompress: true };

// request builds the host request's options from Node's options object.
function request(mode, opts) {
  if (opts === undefined || opts === null) opts = {};
  if (typeof opts !== 'object') throw codedError(TypeError, `The "options" argument must be of type object. Received ${describe(opts)}`, 'ERR_INVALID_ARG_TYPE');
  const req = { mode };
  const max = checkRange(opts, 'maxOutputLength', 1, 2 ** 53 - 1);
  if (max !== undefined) req.max_output = max;
  const flush = opts.finishFlush;
  if (flush !== undefined && flush !== (BROTLI_MODES[mode] ? constants.BROTLI_OPERATION_FINISH : constants.Z_FINISH)) req.partial = true;
  checkRange(opts, 'chunkSize', constants.Z_MIN_CHUNK, Infinity);
  if (BROTLI_MODES[mode]) {
    const params = opts.params;
    if (params !== undefined && params !== null) {
      if (typeof params !== 'object') throw codedError(TypeError, `The "options.params" property must be of type object. Received ${describe(params)}`, 'ERR_INVALID_ARG_TYPE');
      for (const key of Object.keys(params)) {
        const v = params[key];
        if (typeof v !== 'number' && typeof v !== 'boolean') throw codedError(TypeError, `The "options.params[key]" property must be of type number or boolean. Received ${describe(v)}`, 'ERR_INVALID_ARG_TYPE');
        if (Number(key) === constants.BROTLI_PARAM_QUALITY) req.quality = Number(v);
        else if (Number(key) === constants.BROTLI_PARAM_LGWIN) req.lgwin = Number(v);
      }
      if (req.quality !== undefined && (req.quality < 0 || req.quality > 11)) throw codedError(RangeError, 'Initialization failed', 'ERR_ZLIB_INITIALIZATION_FAILED');
      if (req.lgwin !== undefined && (req.lgwin < 10 || req.lgwin > 24)) throw codedError(RangeError, 'Initialization failed', 'ERR_ZLIB_INITIALIZATION_FAILED');
    }
    return req;
  }
  const level = checkRange(opts, 'level', constants.Z_MIN_LEVEL, constants.Z_MAX_LEVEL);
  if (level !== undefined) req.level = level;
  checkRange(opts, 'windowBits', mode === 'gzip' || mode === 'deflate' || mode === 'deflateRaw' ? constants.Z_MIN_WINDOWBITS : 0, constants.Z_MAX_WINDOWBITS);
  checkRange(opts, 'memLevel', constants.Z_MIN_MEMLEVEL, constants.Z_MAX_MEMLEVEL);
  const strategy = checkRange(opts, 'strategy', constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED);
  if (strategy !== undefined) req.strategy = strategy;
  if (opts.dictionary !== undefined) {
    const d = opts.dictionary;
    if (!ArrayBuffer.isView(d) && !(d instanceof ArrayBuffer)) {
      throw codedError(TypeError, `The "options.dictionary" property must be an instance of Buffer, TypedArray, DataView, or ArrayBuffer. Received ${describe(d)}`, 'ERR_INVALID_ARG_TYPE');
    }
    req.dictionary = encoding.bytesToBase64(toBytes(d));
  }
  return req;
}

// run performs one host operation and returns a Buffer or throws Node's error. A string
// input crosses as JSON text (the host encodes it as UTF-8), which is much cheaper here
// than encoding it to bytes and base64 in the interpreter.
function run(req, input) {
  if (typeof input === 'string') req.text = input;
  else req.data = encoding.bytesToBase64(input);
  let out;
  try {
    out = host.callJSON('zlib', req);
  } catch (err) {
    throw hostError(err);
  }
  // an empty result comes back as undefined
  const b = out === undefined ? new Uint8Array(0) : encoding.base64ToBytes(out, false);
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

// hostError rebuilds Node's error from the host's "CODE ERRNO message".
function hostError(err) {
  const text = String(err && err.message);
  const m = /^(\S+) (-?\d+) ([\s\S]*)$/.exec(text);
  if (m === null) return new Error(text);
  const [, code, errno, message] = m;
  if (code === 'ERR_BUFFER_TOO_LARGE') return codedError(RangeError, message, code);
  if (code === 'ERR_OUT_OF_RANGE' || code === 'ERR_INVALID_ARG_VALUE') return codedError(RangeError, message, code);
  const e = new Error(message);
  e.errno = Number(errno);
  e.code = code;
  return e;
}

// input returns a string as it is (for run) and anything else as bytes, or throws
// Node's argument error.
function input(buffer) {
  return typeof buffer === 'string' ? buffer : toBytes(buffer);
}

function processSync(mode, buffer, opts) {
  const data = input(buffer);
  return run(request(mode, opts), data);
}

function processAsync(mode, buffer, opts, callback) {
  if (typeof opts === 'function') {
    callback = opts;
    opts = {};
  }
  if (typeof callback !== 'function') throw codedError(TypeError, `The "callback" argument must be of type function. Received ${describe(callback)}`, 'ERR_INVALID_ARG_TYPE');
  const data = input(buffer);
  const req = request(mode, opts);
  // Node runs the work off the main thread and calls back in a later turn.
  timers.setImmediate(() => {
    let out;
    try {
      out = run(req, data);
    } catch (err) {
      callback(err);
      return;
    }
    callback(null, out);
  });
}

// ZlibBase collects what is written and emits the whole result when the stream ends.
class ZlibBase extends Transform {
  constructor(mode, opts) {
    const req = request(mode, opts);
    super({ ...(opts || {}), readableObjectMode: false, writableObjectMode: false, objectMode: false });
    this._req = req;
    this._chunks = [];
    this._size = 0;
    this.bytesWritten = 0;
    this._closed = false;
  }
  _transform(chunk, enc, cb) {
    let bytes;
    try {
      bytes = typeof chunk === 'string' ? encoding.utf8Encode(chunk) : toBytes(chunk, 'chunk');
    } catch (err) {
      cb(err);
      return;
    }
    this._chunks.push(bytes);
    this._size += bytes.length;
    this.bytesWritten += bytes.length;
    cb();
  }
  _flush(cb) {
    const all = new Uint8Array(this._size);
    let off = 0;
    for (const c of this._chunks) {
      all.set(c, off);
      off += c.length;
    }
    this._chunks = [];
    let out;
    try {
      out = run({ ...this._req }, all);
    } catch (err) {
      cb(err);
      return;
    }
    if (out.length > 0) this.push(out);
    cb();
  }
  flush(kind, callback) {
    if (typeof kind === 'function') callback = kind;
    if (typeof callback === 'function') timers.nextTick(callback);
  }
  params(level, strategy, callback) {
    this._req.level = level;
    this._req.strategy = strategy;
    if (typeof callback === 'function') timers.nextTick(callback);
  }
  reset() {
    this._chunks = [];
    this._size = 0;
  }
  close(callback) {
    if (typeof callback === 'function') this.once('close', callback);
    this.destroy();
  }
  get _handle() {
    return this._closed ? null : {};
  }
}

const exportsObj = {};
const MODES = [
  ['Deflate', 'deflate'],
  ['Inflate', 'inflate'],
  ['Gzip', 'gzip'],
  ['Gunzip', 'gunzip'],
  ['DeflateRaw', 'deflateRaw'],
  ['InflateRaw', 'inflateRaw'],
  ['Unzip', 'unzip'],
  ['BrotliCompress', 'brotliCompress'],
  ['BrotliDecompress', 'brotliDecompress'],
];

// crc32 is Node 22's zlib.crc32(data[, value]) (also in Node 20.15+).
let crcTable = null;
function crc32(data, value = 0) {
  if (typeof data !== 'string' && !ArrayBuffer.isView(data)) {
    throw codedError(TypeError, `The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${describe(data)}`, 'ERR_INVALID_ARG_TYPE');
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    if (typeof value !== 'number') throw codedError(TypeError, `The "value" argument must be of type number. Received ${describe(value)}`, 'ERR_INVALID_ARG_TYPE');
    throw codedError(RangeError, `The value of "value" is out of range. It must be >= 0 and <= 4294967295. Received ${value}`, 'ERR_OUT_OF_RANGE');
  }
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const bytes = typeof data === 'string' ? encoding.utf8Encode(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let crc = ~value;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}
exportsObj.crc32 = crc32;

for (const [Name, mode] of MODES) {
  const Cls = {
    [Name]: class extends ZlibBase {
      constructor(opts) {
        super(mode, opts);
      }
    },
  }[Name];
  // Node's classes may be called without new
  const Ctor = {
    [Name]: function (opts) {
      if (!new.target) return new Cls(opts);
      return Reflect.construct(Cls, [opts], new.target);
    },
  }[Name];
  Ctor.prototype = Cls.prototype;
  Object.defineProperty(Cls.prototype, 'constructor', { value: Ctor, writable: true, configurable: true, enumerable: false });
  exportsObj[Name] = Ctor;
}
for (const [Name, mode] of MODES) {
  exportsObj[mode] = { [mode]: (buffer, opts, callback) => processAsync(mode, buffer, opts, callback) }[mode];
  exportsObj[`${mode}Sync`] = { [`${mode}Sync`]: (buffer, opts) => processSync(mode, buffer, opts) }[`${mode}Sync`];
  exportsObj[`create${Name}`] = { [`create${Name}`]: (opts) => new exportsObj[Name](opts) }[`create${Name}`];
}
exportsObj.constants = constants;
exportsObj.codes = codes;
// the legacy constants on the module itself (Node defines them non-enumerable)
for (const key of Object.keys(constants)) {
  if (!key.startsWith('BROTLI')) {
    Object.defineProperty(exportsObj, key, { value: constants[key], enumerable: false, writable: false, configurable: false });
  }
}

module.exports = exportsObj;
