'use strict';
// The `events` module: the npm `events` package (Node's EventEmitter, v3.3.0) plus the
// static helpers Node added since (errorMonitor, getEventListeners, setMaxListeners,
// addAbortListener, on).

const EventEmitter = require('events');

if (EventEmitter.errorMonitor === undefined) EventEmitter.errorMonitor = Symbol('events.errorMonitor');
if (EventEmitter.captureRejectionSymbol === undefined) EventEmitter.captureRejectionSymbol = Symbol.for('nodejs.rejection');
if (EventEmitter.captureRejections === undefined) EventEmitter.captureRejections = false;

EventEmitter.getEventListeners = function getEventListeners(emitter, name) {
  if (typeof emitter.listeners === 'function') return emitter.listeners(name);
  return [];
};

EventEmitter.getMaxListeners = function getMaxListeners(emitter) {
  return typeof emitter.getMaxListeners === 'function' ? emitter.getMaxListeners() : EventEmitter.defaultMaxListeners;
};

EventEmitter.setMaxListeners = function setMaxListeners(n = EventEmitter.defaultMaxListeners, ...targets) {
  if (targets.length === 0) EventEmitter.defaultMaxListeners = n;
  for (const t of targets) if (typeof t.setMaxListeners === 'function') t.setMaxListeners(n);
};

EventEmitter.addAbortListener = function addAbortListener(signal, listener) {
  if (signal.aborted) {
    queueMicrotask(() => listener());
  } else {
    signal.addEventListener('abort', listener, { once: true });
  }
  return { [Symbol.dispose || Symbol.for('Symbol.dispose')]: () => signal.removeEventListener('abort', listener) };
};

// on(emitter, event) is an async iterator of the event's argument arrays.
EventEmitter.on = function on(emitter, event, options = {}) {
  const signal = options && options.signal;
  const unconsumed = [];
  const waiting = [];
  let error = null;
  let finished = false;
  const push = (...args) => {
    const w = waiting.shift();
    if (w) w.resolve({ value: args, done: false });
    else unconsumed.push(args);
  };
  const onError = (err) => {
    finished = true;
    const w = waiting.shift();
    if (w) w.reject(err);
    else error = err;
    iterator.return();
  };
  const cleanup = () => {
    emitter.removeListener(event, push);
    if (event !== 'error') emitter.removeListener('error', onError);
  };
  emitter.on(event, push);
  if (event !== 'error') emitter.on('error', onError);
  const iterator = {
    next() {
      const value = unconsumed.shift();
      if (value) return Promise.resolve({ value, done: false });
      if (error) {
        const p = Promise.reject(error);
        error = null;
        return p;
      }
      if (finished) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      cleanup();
      finished = true;
      for (const w of waiting.splice(0)) w.resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err) {
      error = err;
      cleanup();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  if (signal) signal.addEventListener('abort', () => onError(Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' })), { once: true });
  return iterator;
};

module.exports = EventEmitter;
