'use strict';
// Event, CustomEvent, EventTarget, AbortController and AbortSignal: the subset of the DOM
// event model Node exposes as globals (fetch, streams and timers take AbortSignals).

const timers = require('../node/timers');

const kStop = Symbol('stop');
const kTarget = Symbol('target');

class Event {
  #type;
  #cancelable;
  #bubbles;
  #composed;
  #defaultPrevented = false;
  #timeStamp;
  constructor(type, options = {}) {
    if (arguments.length === 0) throw new TypeError('The "type" argument must be specified');
    this.#type = String(type);
    this.#cancelable = !!(options && options.cancelable);
    this.#bubbles = !!(options && options.bubbles);
    this.#composed = !!(options && options.composed);
    this.#timeStamp = performance.now();
    this[kTarget] = null;
    this[kStop] = false;
  }
  get type() {
    return this.#type;
  }
  get cancelable() {
    return this.#cancelable;
  }
  get bubbles() {
    return this.#bubbles;
  }
  get composed() {
    return this.#composed;
  }
  get defaultPrevented() {
    return this.#cancelable && this.#defaultPrevented;
  }
  get returnValue() {
    return !this.defaultPrevented;
  }
  get timeStamp() {
    return this.#timeStamp;
  }
  get isTrusted() {
    return false;
  }
  get target() {
    return this[kTarget];
  }
  get currentTarget() {
    return this[kTarget];
  }
  get srcElement() {
    return this[kTarget];
  }
  get eventPhase() {
    return this[kTarget] ? 2 : 0;
  }
  composedPath() {
    return this[kTarget] ? [this[kTarget]] : [];
  }
  preventDefault() {
    this.#defaultPrevented = true;
  }
  stopPropagation() {}
  stopImmediatePropagation() {
    this[kStop] = true;
  }
  get [Symbol.toStringTag]() {
    return 'Event';
  }
}
Event.NONE = 0;
Event.CAPTURING_PHASE = 1;
Event.AT_TARGET = 2;
Event.BUBBLING_PHASE = 3;

class CustomEvent extends Event {
  #detail;
  constructor(type, options = {}) {
    super(type, options);
    this.#detail = options && options.detail !== undefined ? options.detail : null;
  }
  get detail() {
    return this.#detail;
  }
  get [Symbol.toStringTag]() {
    return 'CustomEvent';
  }
}

const kListeners = Symbol('listeners');

class EventTarget {
  constructor() {
    Object.defineProperty(this, kListeners, { value: new Map() });
  }
  addEventListener(type, listener, options) {
    if (listener === null || listener === undefined) return;
    const once = typeof options === 'object' && options !== null && !!options.once;
    const capture = typeof options === 'boolean' ? options : !!(options && options.capture);
    const signal = options && typeof options === 'object' ? options.signal : undefined;
    if (signal && signal.aborted) return;
    let list = this[kListeners].get(type);
    if (!list) this[kListeners].set(type, (list = []));
    for (const l of list) if (l.listener === listener && l.capture === capture) return;
    const entry = { listener, once, capture, removed: false };
    list.push(entry);
    if (signal) signal.addEventListener('abort', () => this.removeEventListener(type, listener, { capture }), { once: true });
  }
  removeEventListener(type, listener, options) {
    const capture = typeof options === 'boolean' ? options : !!(options && options.capture);
    const list = this[kListeners].get(type);
    if (!list) return;
    const i = list.findIndex((l) => l.listener === listener && l.capture === capture);
    if (i >= 0) {
      list[i].removed = true;
      list.splice(i, 1);
    }
  }
  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError('The "event" argument must be an instance of Event');
    event[kTarget] = this;
    const handler = this['on' + event.type];
    const list = (this[kListeners].get(event.type) || []).slice();
    if (typeof handler === 'function' && this instanceof AbortSignal) list.unshift({ listener: handler, once: false, attr: true });
    for (const l of list) {
      if (l.removed) continue;
      if (l.once) this.removeEventListener(event.type, l.listener, { capture: l.capture });
      try {
        if (typeof l.listener === 'function') l.listener.call(this, event);
        else if (l.listener && typeof l.listener.handleEvent === 'function') l.listener.handleEvent(event);
      } catch (err) {
        // like Node: a throwing listener becomes an uncaught exception, after dispatch
        queueMicrotask(() => {
          throw err;
        });
      }
      if (event[kStop]) break;
    }
    return !event.defaultPrevented;
  }
  get [Symbol.toStringTag]() {
    return 'EventTarget';
  }
}

const kAborted = Symbol('aborted');
const kReason = Symbol('reason');
const kCreate = Symbol('create');

class AbortSignal extends EventTarget {
  constructor(key) {
    if (key !== kCreate) throw new TypeError('Illegal constructor');
    super();
    this[kAborted] = false;
    this[kReason] = undefined;
    this.onabort = null;
  }
  get aborted() {
    return this[kAborted];
  }
  get reason() {
    return this[kReason];
  }
  throwIfAborted() {
    if (this[kAborted]) throw this[kReason];
  }
  static abort(reason) {
    const s = new AbortSignal(kCreate);
    s[kAborted] = true;
    s[kReason] = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    return s;
  }
  static timeout(ms) {
    const s = new AbortSignal(kCreate);
    timers.setTimeout(() => abortSignal(s, new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
    return s;
  }
  static any(signals) {
    const s = new AbortSignal(kCreate);
    for (const other of signals) {
      if (other.aborted) {
        abortSignal(s, other.reason);
        return s;
      }
    }
    for (const other of signals) other.addEventListener('abort', () => abortSignal(s, other.reason), { once: true });
    return s;
  }
  get [Symbol.toStringTag]() {
    return 'AbortSignal';
  }
}

function abortSignal(signal, reason) {
  if (signal[kAborted]) return;
  signal[kAborted] = true;
  signal[kReason] = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
  signal.dispatchEvent(new Event('abort'));
}

class AbortController {
  #signal = new AbortSignal(kCreate);
  get signal() {
    return this.#signal;
  }
  abort(reason) {
    abortSignal(this.#signal, reason);
  }
  get [Symbol.toStringTag]() {
    return 'AbortController';
  }
}

module.exports = { Event, CustomEvent, EventTarget, AbortController, AbortSignal, default: AbortController };
