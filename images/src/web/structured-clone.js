'use strict';
// structuredClone: the HTML structured clone algorithm for the types a reactor can hold
// (QuickJS-NG has no structuredClone of its own).

const toString = (v) => Object.prototype.toString.call(v);

function dataCloneError(what) {
  return new DOMException(`${what} could not be cloned.`, 'DataCloneError');
}

const NOT_CLONEABLE = new Set(['[object Promise]', '[object WeakMap]', '[object WeakSet]', '[object WeakRef]',
  '[object FinalizationRegistry]', '[object Generator]', '[object AsyncGenerator]', '[object Symbol]', '[object Function]',
  '[object AsyncFunction]', '[object GeneratorFunction]', '[object Iterator]', '[object Map Iterator]', '[object Set Iterator]',
  '[object Array Iterator]', '[object String Iterator]', '[object RegExp String Iterator]']);

const ERROR_CTORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };

function structuredClone(value, options) {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
  const memory = new Map();
  const transfer = options && options.transfer;
  if (transfer !== undefined && transfer !== null && typeof transfer[Symbol.iterator] !== 'function') {
    throw new TypeError("Failed to execute 'structuredClone': The provided value cannot be converted to a sequence.");
  }
  return clone(value, memory);
}

function clone(value, memory) {
  const type = typeof value;
  if (type === 'symbol') throw dataCloneError(String(value));
  if (type === 'function') throw dataCloneError(Function.prototype.toString.call(value).slice(0, 60));
  if (type !== 'object' || value === null) return value;
  if (memory.has(value)) return memory.get(value);
  const tag = toString(value);
  let out;
  switch (tag) {
    case '[object Boolean]':
      out = Object(Boolean.prototype.valueOf.call(value));
      break;
    case '[object Number]':
      out = Object(Number.prototype.valueOf.call(value));
      break;
    case '[object String]':
      out = Object(String.prototype.valueOf.call(value));
      break;
    case '[object BigInt]':
      out = Object(BigInt.prototype.valueOf.call(value));
      break;
    case '[object Date]':
      out = new Date(Date.prototype.getTime.call(value));
      break;
    case '[object RegExp]':
      out = new RegExp(value.source, value.flags);
      break;
    case '[object ArrayBuffer]':
      out = ArrayBuffer.prototype.slice.call(value, 0);
      break;
    case '[object DataView]': {
      const buffer = clone(value.buffer, memory);
      out = new DataView(buffer, value.byteOffset, value.byteLength);
      break;
    }
    case '[object Map]': {
      out = new Map();
      memory.set(value, out);
      const entries = [];
      Map.prototype.forEach.call(value, (v, k) => entries.push([k, v]));
      for (const [k, v] of entries) out.set(clone(k, memory), clone(v, memory));
      return out;
    }
    case '[object Set]': {
      out = new Set();
      memory.set(value, out);
      const items = [];
      Set.prototype.forEach.call(value, (v) => items.push(v));
      for (const v of items) out.add(clone(v, memory));
      return out;
    }
    case '[object Error]': {
      const name = value.name;
      const Ctor = Object.prototype.hasOwnProperty.call(ERROR_CTORS, name) ? ERROR_CTORS[name] : Error;
      out = Object.create(Ctor.prototype);
      memory.set(value, out);
      const desc = Object.getOwnPropertyDescriptor(value, 'message');
      if (desc) Object.defineProperty(out, 'message', { value: String(value.message), writable: true, configurable: true });
      if (typeof value.stack === 'string') Object.defineProperty(out, 'stack', { value: value.stack, writable: true, configurable: true });
      if ('cause' in value) Object.defineProperty(out, 'cause', { value: clone(value.cause, memory), writable: true, configurable: true });
      return out;
    }
    case '[object Array]': {
      out = new Array(value.length);
      memory.set(value, out);
      for (const key of Object.keys(value)) out[key] = clone(value[key], memory);
      return out;
    }
    // Objects tagged otherwise (Promise, WeakMap, WeakRef, ...) cannot be cloned; class
    // instances and objects with a custom toStringTag clone as plain objects.
    default:
      if (ArrayBuffer.isView(value)) {
        const buffer = clone(value.buffer, memory);
        out = new value.constructor(buffer, value.byteOffset, value.length);
        break;
      }
      if (tag === '[object Object]' || tag === '[object Arguments]' || !NOT_CLONEABLE.has(tag)) {
        out = {};
        memory.set(value, out);
        for (const key of Object.keys(value)) out[key] = clone(value[key], memory);
        return out;
      }
      throw dataCloneError(tag.slice(8, -1) === 'Object' ? 'object' : `#<${tag.slice(8, -1)}>`);
  }
  memory.set(value, out);
  return out;
}


module.exports = { structuredClone };
