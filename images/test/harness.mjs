// A stand-in for the Go host (runtime/): it runs an image's Node layer in the same
// QuickJS-NG build the runtime uses, implements the __host operations of
// docs/host-abi.md in Node, and drives __reactor.load/invoke/tick the way the runtime
// does (job queue after every call, tick honoring the returned delay).

import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten-core';
import variant from '@jitl/quickjs-ng-wasmfile-release-sync';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
export const distDir = join(here, '..', 'dist');

const QuickJS = await newQuickJSWASMModuleFromVariant(variant);

const layers = new Map();
function layerText(image) {
  if (!layers.has(image)) layers.set(image, readFileSync(join(distDir, `${image}.js`), 'utf8'));
  return layers.get(image);
}

let intlData = null;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// seedFor returns the four 32-bit words the host sends as `seed` after a restore.
export function seedFor(n) {
  return [n >>> 0, 0x9e3779b9, (n * 7919) >>> 0, 12345];
}

// A Layer is one QuickJS runtime with an image's layer evaluated, like one instance.
export class Layer {
  constructor(image, options = {}) {
    this.image = image;
    this.logs = [];
    this.settled = null; // {op: 'done'|'fail', value}
    this.asyncHandler = options.asyncHandler || null; // (op, arg) => Promise<value>
    this.pending = new Map(); // id -> true
    this.completions = [];
    this.nextId = 0;
    this.wake = null;
    this.asyncStarts = [];
    this.allowAsync = false;
    this.rt = QuickJS.newRuntime();
    this.rt.setMaxStackSize(options.maxStackSize || 256 * 1024);
    if (options.memoryLimit) this.rt.setMemoryLimit(options.memoryLimit);
    this.ctx = this.rt.newContext();
    const ctx = this.ctx;
    const hostFn = ctx.newFunction('__host', (opH, argH) => {
      const op = ctx.getString(opH);
      const arg = argH === undefined || ctx.typeof(argH) === 'undefined' ? undefined : ctx.getString(argH);
      const out = this.hostOp(op, arg);
      return out === undefined ? undefined : ctx.newString(out);
    });
    ctx.setProp(ctx.global, '__host', hostFn);
    hostFn.dispose();
    const t0 = performance.now();
    const res = ctx.evalCode(layerText(image), `node:${image}`);
    this.evalMs = performance.now() - t0;
    ctx.unwrapResult(res).dispose();
    this.runJobs();
    this.reactor = ctx.getProp(ctx.global, '__reactor');
    this.fns = {};
    for (const k of ['load', 'invoke', 'tick']) this.fns[k] = ctx.getProp(this.reactor, k);
  }

  hostOp(op, arg) {
    switch (op) {
      case 'console': {
        const [level, text] = JSON.parse(arg);
        if (!['log', 'info', 'warn', 'error', 'debug'].includes(level)) throw new Error(`console: bad level ${level}`);
        this.logs.push({ level, text });
        return undefined;
      }
      case 'random': {
        const n = Number(arg);
        if (!Number.isInteger(n) || n < 1 || n > 65536) throw new Error('random: byte count must be 1..65536');
        return randomBytes(n).toString('base64');
      }
      case 'hash':
      case 'hmac': {
        const req = JSON.parse(arg);
        if (!['md5', 'sha1', 'sha256', 'sha512'].includes(req.alg)) throw new Error(`Digest method not supported: "${req.alg}"`);
        const data = Buffer.from(req.data, 'base64');
        const h = op === 'hmac' ? createHmac(req.alg, Buffer.from(req.key, 'base64')) : createHash(req.alg);
        return h.update(data).digest('base64');
      }
      case 'zlib': {
        // Node's own zlib stands in for Go's compress packages (runtime/internal/zlibop)
        const req = JSON.parse(arg);
        const opts = { maxOutputLength: req.max_output || 32 << 20 };
        if (req.level !== undefined) opts.level = req.level;
        if (req.strategy) opts.strategy = req.strategy;
        if (req.dictionary) opts.dictionary = Buffer.from(req.dictionary, 'base64');
        if (req.partial) opts.finishFlush = req.mode.startsWith('brotli') ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.Z_SYNC_FLUSH;
        if (req.mode.startsWith('brotli')) {
          opts.params = {};
          if (req.quality !== undefined) opts.params[zlib.constants.BROTLI_PARAM_QUALITY] = req.quality;
          if (req.lgwin !== undefined) opts.params[zlib.constants.BROTLI_PARAM_LGWIN] = req.lgwin;
        }
        try {
          const data = typeof req.text === 'string' ? Buffer.from(req.text) : Buffer.from(req.data, 'base64');
          return zlib[`${req.mode}Sync`](data, opts).toString('base64') || undefined;
        } catch (err) {
          throw new Error(`${err.code} ${err.errno === undefined ? 0 : err.errno} ${err.message}`);
        }
      }
      case 'intl-data': {
        // images.IntlData: the Intl data the layer fetches on first use
        if (arg === 'script') return readFileSync(join(distDir, 'intl.js'), 'utf8');
        if (!intlData) intlData = JSON.parse(readFileSync(join(distDir, 'intl.json'), 'utf8'));
        return Object.prototype.hasOwnProperty.call(intlData, arg) ? intlData[arg] : undefined;
      }
      case 'collate': {
        // Node's ICU collator stands in for golang.org/x/text/collate (runtime/internal/collateop)
        const [key, a, b] = JSON.parse(arg);
        const [locale, sensitivity, numeric, caseFirst, ignorePunctuation, usage] = JSON.parse(key);
        return String(new Intl.Collator(locale, { sensitivity, numeric, caseFirst, ignorePunctuation, usage }).compare(a, b));
      }
      case 'done':
      case 'fail':
        if (this.settled) throw new Error('the invocation already returned');
        this.settled = { op, value: arg };
        return undefined;
      case 'async': {
        const req = JSON.parse(arg);
        this.asyncStarts.push(req);
        if (!this.allowAsync) throw new Error(`${req.op} cannot run while the reactor code loads`);
        if (!this.asyncHandler) throw new Error(`${req.op} is not available in this runtime`);
        const id = String(++this.nextId);
        this.pending.set(id, true);
        Promise.resolve()
          .then(() => this.asyncHandler(req.op, req.arg))
          .then(
            (value) => ({ id, ok: true, value }),
            (err) => ({ id, ok: false, error: String(err && err.message ? err.message : err) }),
          )
          .then((c) => {
            this.completions.push(c);
            if (this.wake) this.wake();
          });
        return id;
      }
      default:
        throw new Error(`unknown host operation "${op}"`);
    }
  }

  // runJobs drains the promise job queue; an exception escaping it is an error of the
  // layer (the runtime would discard the instance).
  runJobs() {
    for (;;) {
      const res = this.rt.executePendingJobs();
      if (res.error) {
        const err = this.ctx.dump(res.error);
        res.error.dispose();
        throw new Error(`exception escaped the job queue: ${JSON.stringify(err)}`);
      }
      const n = res.value;
      if (n === 0) return;
    }
  }

  call(name, argText) {
    const ctx = this.ctx;
    const arg = argText === undefined ? ctx.undefined : ctx.newString(argText);
    const res = ctx.callFunction(this.fns[name], ctx.undefined, arg);
    if (argText !== undefined) arg.dispose();
    if (res.error) {
      const err = ctx.dump(res.error);
      res.error.dispose();
      const e = new Error(`__reactor.${name} threw: ${err && err.message ? `${err.name}: ${err.message}` : JSON.stringify(err)}`);
      e.js = err;
      throw e;
    }
    const v = ctx.dump(res.value);
    res.value.dispose();
    return v;
  }

  // eval runs a script in the context and returns its (dumped) completion value.
  eval(code) {
    const res = this.ctx.evalCode(code, 'test.js');
    const handle = this.ctx.unwrapResult(res);
    const v = this.ctx.dump(handle);
    handle.dispose();
    this.runJobs();
    return v;
  }

  // load compiles code as the runtime does and hands it to __reactor.load. It returns
  // the load message ('' on success) or throws the module body's exception.
  load(code) {
    const ctx = this.ctx;
    this.logs = [];
    const wrapped = `(function (exports, require, module, __filename, __dirname) {${code}\n})`;
    const res = ctx.evalCode(wrapped, 'reactor.js');
    if (res.error) {
      const err = ctx.dump(res.error);
      res.error.dispose();
      const e = new Error(`compile: ${err.name}: ${err.message}`);
      e.js = err;
      throw e;
    }
    const fn = res.value;
    const out = ctx.callFunction(this.fns.load, ctx.undefined, fn);
    fn.dispose();
    if (out.error) {
      const err = ctx.dump(out.error);
      out.error.dispose();
      const e = new Error(`load threw ${err && err.name}: ${err && err.message}`);
      e.js = err;
      throw e;
    }
    const msg = ctx.dump(out.value);
    out.value.dispose();
    this.runJobs();
    return msg;
  }

  // invoke runs one invocation to its end, like the runtime's Instance.run. It returns
  // {ok, value} for done, {ok: false, error} for fail, or {neverReturned: true}. Like the
  // runtime, it sends a seed (four random words) on an instance's first invocation only,
  // unless the caller passes one.
  async invoke({ args = null, configuration = {}, seed, bt = null, timeoutMs = 5000 } = {}) {
    this.logs = [];
    this.settled = null;
    this.pending.clear();
    this.completions = [];
    this.allowAsync = true;
    if (seed === undefined && !this.seeded) seed = Array.from(new Uint32Array(randomBytes(16).buffer));
    this.seeded = true;
    const event = JSON.stringify(seed === undefined ? { args, configuration, bt } : { args, configuration, seed, bt });
    const deadline = Date.now() + timeoutMs;
    try {
      this.call('invoke', event);
      let completions = '[]';
      this.ticks = 0;
      for (;;) {
        this.runJobs();
        if (this.settled) break;
        const next = this.call('tick', completions);
        this.ticks++;
        this.runJobs();
        if (this.settled) break;
        if (next < 0 && this.pending.size === 0) return { neverReturned: true, logs: this.logs };
        if (Date.now() > deadline) throw new Error('invocation timed out in the harness');
        completions = await this.wait(next);
      }
    } finally {
      this.allowAsync = false;
    }
    const { op, value } = this.settled;
    if (op === 'done') return { ok: true, value: JSON.parse(value), text: value, logs: this.logs };
    return { ok: false, error: JSON.parse(value), text: value, logs: this.logs };
  }

  async wait(next) {
    if (this.completions.length === 0) {
      if (next === 0) {
        // nothing to wait for
      } else {
        await new Promise((resolve) => {
          this.wake = resolve;
          if (next > 0) setTimeout(resolve, next);
        });
        this.wake = null;
      }
    }
    if (this.completions.length === 0) return '[]';
    const got = this.completions.splice(0);
    for (const c of got) this.pending.delete(c.id);
    return JSON.stringify(got);
  }

  dispose() {
    for (const k of Object.keys(this.fns)) this.fns[k].dispose();
    this.reactor.dispose();
    this.ctx.dispose();
    this.rt.dispose();
  }
}

// run loads code into a fresh layer of image, invokes it once and disposes the layer.
export async function run(image, code, invocation = {}, options = {}) {
  const layer = new Layer(image, options);
  try {
    const msg = layer.load(code);
    if (msg !== '') return { loadMessage: msg, logs: layer.logs };
    return await layer.invoke(invocation);
  } finally {
    layer.dispose();
  }
}

export { sleep };

// value runs `body` as the body of an async handler on an existing layer and returns
// what it returns; a failure is thrown as an Error carrying the serialized error.
export async function value(layer, body, invocation = {}) {
  const msg = layer.load(`module.exports = async function (req) {\n${body}\n};`);
  if (msg !== '') throw new Error(`load: ${msg}`);
  const r = await layer.invoke(invocation);
  if (r.neverReturned) throw new Error('reactor never returned');
  if (!r.ok) {
    const e = new Error(`reactor failed: ${r.error.name}: ${r.error.message}`);
    e.serialized = r.error;
    e.logs = r.logs;
    throw e;
  }
  return r.value;
}
