'use strict';
// Timers live in JavaScript; the host drives them through __reactor.tick (see
// src/reactor.js). A "round" is Node's check phase followed by its timers phase: first
// the immediates queued before the round, then the timers due when it started. The
// layer runs one callback per tick and answers 0 while more are due, so the host drains
// the promise job queue between two callbacks, as Node runs microtasks between them.

const {
  apply,
  ArrayPrototypeSplice,
  DateNow,
  MapPrototypeGet,
  MapPrototypeSet,
  MapPrototypeDelete,
  MapPrototypeClear,
  SafeMap,
  MathMax,
  Number,
  PromisePrototypeThen,
  resolvedPromise,
  TypeError,
} = require('../internal/primordials');

const TIMEOUT_MAX = 2 ** 31 - 1;

let timers = []; // live and stale entries, sorted by (when, seq)
let stale = 0; // stale entries still in timers
let immediates = []; // Immediate objects in order
let round = []; // entries and Immediates of the current round
let roundPos = 0;
let seq = 0;
let nextId = 1;
let used = false; // anything scheduled since the last reset
const byId = new SafeMap(); // numeric id -> Timeout, for clearTimeout(+timeout)

// onUncaught receives exceptions thrown by timer and microtask callbacks.
let onUncaught = (err) => {
  throw err;
};

function setUncaughtHandler(fn) {
  onUncaught = fn;
}

function invalidCallback(callback) {
  const err = new TypeError(`The "callback" argument must be of type function. Received ${describe(callback)}`);
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

function describe(v) {
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an instance of ' + ((v.constructor && v.constructor.name) || 'Object');
  if (typeof v === 'function') return `function ${v.name}`;
  return `type ${typeof v} (${String(v).slice(0, 25)})`;
}

function insert(entry) {
  let lo = 0;
  let hi = timers.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = timers[mid];
    if (m.when < entry.when || (m.when === entry.when && m.seq < entry.seq)) lo = mid + 1;
    else hi = mid;
  }
  if (lo === timers.length) timers[lo] = entry;
  else ArrayPrototypeSplice(timers, lo, 0, entry);
}

function schedule(timer, now) {
  const entry = { t: timer, when: now + timer._idleTimeout, seq: seq++ };
  timer._entry = entry;
  insert(entry);
}

function unschedule(timer) {
  if (timer._entry) {
    timer._entry = null;
    stale++;
    if (stale > 64 && stale * 2 > timers.length) compact();
  }
}

function compact() {
  const live = [];
  for (let i = 0; i < timers.length; i++) {
    const e = timers[i];
    if (e.t._entry === e) live[live.length] = e;
  }
  timers = live;
  stale = 0;
}

class Timeout {
  constructor(callback, after, args, repeat) {
    after = Number(after);
    if (!(after >= 1 && after <= TIMEOUT_MAX)) after = 1;
    this._idleTimeout = after;
    this._onTimeout = callback;
    this._timerArgs = args;
    this._repeat = repeat ? after : null;
    this._destroyed = false;
    this._refed = true;
    this._id = nextId++;
    this._entry = null;
    used = true;
    MapPrototypeSet(byId, this._id, this);
    schedule(this, DateNow());
  }
  refresh() {
    if (this._entry) {
      unschedule(this);
      schedule(this, DateNow());
    }
    return this;
  }
  ref() {
    this._refed = true;
    return this;
  }
  unref() {
    this._refed = false;
    return this;
  }
  hasRef() {
    return this._refed;
  }
  close() {
    clearTimeout(this);
    return this;
  }
  [Symbol.toPrimitive]() {
    return this._id;
  }
}

class Immediate {
  constructor(callback, args) {
    this._onImmediate = callback;
    this._argv = args;
    this._destroyed = false;
    this._refed = true;
    used = true;
    immediates[immediates.length] = this;
  }
  ref() {
    this._refed = true;
    return this;
  }
  unref() {
    this._refed = false;
    return this;
  }
  hasRef() {
    return this._refed;
  }
}

if (typeof Symbol.dispose === 'symbol') {
  Timeout.prototype[Symbol.dispose] = function () {
    clearTimeout(this);
  };
  Immediate.prototype[Symbol.dispose] = function () {
    clearImmediate(this);
  };
}

function setTimeout(callback, after, ...args) {
  if (typeof callback !== 'function') throw invalidCallback(callback);
  return new Timeout(callback, after, args, false);
}

function setInterval(callback, repeat, ...args) {
  if (typeof callback !== 'function') throw invalidCallback(callback);
  return new Timeout(callback, repeat, args, true);
}

function clearTimeout(timer) {
  if (timer && timer._onTimeout) {
    timer._destroyed = true;
    unschedule(timer);
    MapPrototypeDelete(byId, timer._id);
    return;
  }
  if (typeof timer === 'number' || typeof timer === 'string') {
    const t = MapPrototypeGet(byId, Number(timer));
    if (t) clearTimeout(t);
  }
}

function setImmediate(callback, ...args) {
  if (typeof callback !== 'function') throw invalidCallback(callback);
  return new Immediate(callback, args);
}

function clearImmediate(immediate) {
  if (immediate && immediate._onImmediate && !immediate._destroyed) immediate._destroyed = true;
}

function queueMicrotask(callback) {
  if (typeof callback !== 'function') throw invalidCallback(callback);
  PromisePrototypeThen(resolvedPromise, () => {
    try {
      callback();
    } catch (err) {
      onUncaught(err);
    }
  });
}

// process.nextTick: like Node, the queue runs before promise reactions when it was filled
// by a macrotask (the handler's synchronous part, a timer, an immediate), because the
// layer drains it before returning to the host, which then runs the promise jobs. Ticks
// queued from a promise reaction run from a promise job of their own.
let tickQueue = [];
let tickDrainScheduled = false;
let inMacrotask = false;

function nextTick(callback, ...args) {
  if (typeof callback !== 'function') throw invalidCallback(callback);
  tickQueue[tickQueue.length] = { callback, args };
  used = true;
  if (!inMacrotask && !tickDrainScheduled) {
    tickDrainScheduled = true;
    PromisePrototypeThen(resolvedPromise, runTicks);
  }
}

function runTicks() {
  tickDrainScheduled = false;
  while (tickQueue.length > 0) {
    const queue = tickQueue;
    tickQueue = [];
    for (let i = 0; i < queue.length; i++) {
      try {
        apply(queue[i].callback, undefined, queue[i].args);
      } catch (err) {
        onUncaught(err);
      }
    }
  }
}

// enterMacrotask and leaveMacrotask bracket a callback the layer runs as Node runs one
// from its event loop: process.nextTick callbacks it queues run right after it.
function enterMacrotask() {
  const outer = inMacrotask;
  inMacrotask = true;
  return outer;
}

function leaveMacrotask(outer) {
  inMacrotask = outer;
  if (!outer && tickQueue.length > 0) runTicks();
}

function macrotask(fn) {
  const outer = inMacrotask;
  inMacrotask = true;
  try {
    return fn();
  } finally {
    inMacrotask = outer;
    if (!outer) runTicks();
  }
}

// reset drops every timer and immediate (a new invocation starts).
function reset() {
  if (!used) return;
  used = false;
  if (tickQueue.length > 0) tickQueue = [];
  if (timers.length > 0) timers = [];
  stale = 0;
  if (immediates.length > 0) immediates = [];
  if (round.length > 0) round = [];
  roundPos = 0;
  MapPrototypeClear(byId);
}

function startRound(now) {
  round = immediates;
  immediates = [];
  roundPos = 0;
  while (timers.length > 0 && timers[0].when <= now) {
    const e = timers[0];
    ArrayPrototypeSplice(timers, 0, 1);
    if (e.t._entry === e) round[round.length] = e;
    else stale--;
  }
}

// runOne runs the next due callback, if any, and reports whether it ran one.
function runOne() {
  const now = DateNow();
  if (roundPos >= round.length) {
    if (immediates.length === 0 && (timers.length === 0 || timers[0].when > now)) return false;
    startRound(now);
  }
  while (roundPos < round.length) {
    const item = round[roundPos];
    round[roundPos++] = undefined;
    if (item instanceof Immediate) {
      if (item._destroyed) continue;
      item._destroyed = true;
      macrotask(() => {
        try {
          apply(item._onImmediate, item, item._argv);
        } catch (err) {
          onUncaught(err);
        }
      });
      return true;
    }
    const t = item.t;
    if (t._entry !== item) continue;
    if (t._repeat === null) {
      t._entry = null;
      t._destroyed = true;
      MapPrototypeDelete(byId, t._id);
    }
    macrotask(() => {
      try {
        apply(t._onTimeout, t, t._timerArgs);
      } catch (err) {
        onUncaught(err);
      } finally {
        if (t._repeat !== null && t._entry === item) {
          t._entry = null;
          schedule(t, now);
        }
      }
    });
    return true;
  }
  round = [];
  roundPos = 0;
  return false;
}

// nextDelay is what tick returns: 0 if a callback is due now, else the milliseconds
// until the next timer, or -1 when none is pending.
function nextDelay() {
  for (let i = roundPos; i < round.length; i++) {
    const item = round[i];
    if (item instanceof Immediate ? !item._destroyed : item.t._entry === item) return 0;
  }
  for (let i = 0; i < immediates.length; i++) if (!immediates[i]._destroyed) return 0;
  while (timers.length > 0 && timers[0].t._entry !== timers[0]) {
    ArrayPrototypeSplice(timers, 0, 1);
    stale--;
  }
  if (timers.length === 0) return -1;
  return MathMax(0, timers[0].when - DateNow());
}

// --- timers/promises ---

function abortError(signal) {
  const err = new Error('The operation was aborted');
  err.name = 'AbortError';
  err.code = 'ABORT_ERR';
  if (signal && signal.reason !== undefined) err.cause = signal.reason;
  return err;
}

function promisesSetTimeout(delay, value, options = {}) {
  const signal = options && options.signal;
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(abortError(signal));
    const t = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve(value);
    }, delay);
    function onAbort() {
      clearTimeout(t);
      reject(abortError(signal));
    }
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

function promisesSetImmediate(value, options = {}) {
  const signal = options && options.signal;
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(abortError(signal));
    const i = setImmediate(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
    function onAbort() {
      clearImmediate(i);
      reject(abortError(signal));
    }
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function* promisesSetInterval(delay, value, options = {}) {
  const signal = options && options.signal;
  if (signal && signal.aborted) throw abortError(signal);
  let pending = 0;
  let wake = null;
  const t = setInterval(() => {
    pending++;
    if (wake) {
      wake();
      wake = null;
    }
  }, delay);
  const onAbort = () => {
    if (wake) {
      wake();
      wake = null;
    }
  };
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      if (signal && signal.aborted) throw abortError(signal);
      if (pending === 0) await new Promise((r) => (wake = r));
      if (signal && signal.aborted) throw abortError(signal);
      while (pending > 0) {
        pending--;
        yield value;
      }
    }
  } finally {
    clearInterval(t);
    if (signal) signal.removeEventListener('abort', onAbort);
  }
}

const promises = {
  setTimeout: promisesSetTimeout,
  setImmediate: promisesSetImmediate,
  setInterval: promisesSetInterval,
  scheduler: {
    wait: (delay, options) => promisesSetTimeout(delay, undefined, options),
    yield: () => promisesSetImmediate(),
  },
};

const clearInterval = clearTimeout;

module.exports = {
  setTimeout,
  clearTimeout,
  setInterval,
  clearInterval,
  setImmediate,
  clearImmediate,
  queueMicrotask,
  nextTick,
  macrotask,
  enterMacrotask,
  leaveMacrotask,
  promises,
  Timeout,
  Immediate,
  // layer internals
  reset,
  runOne,
  nextDelay,
  setUncaughtHandler,
};
