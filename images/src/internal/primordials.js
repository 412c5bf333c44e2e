'use strict';
// Intrinsics the layer relies on, captured when the layer is evaluated (before any
// reactor code runs), so that reactor code overwriting JSON.stringify, Promise.prototype.then,
// Array.prototype.push and the like cannot break timers, host calls or result reporting.

const { apply } = Reflect;
// uncurryThis(f)(self, ...args) === f.call(self, ...args), without looking anything up at
// call time (rest parameters and Reflect.apply use no iterator).
const uncurryThis = (f) => (self, ...args) => apply(f, self, args);

const P = Promise;
const PromiseResolveStatic = Promise.resolve;
const PromisePrototypeThen = uncurryThis(Promise.prototype.then);

module.exports = {
  apply,
  uncurryThis,
  construct: Reflect.construct,
  ownKeys: Reflect.ownKeys,
  getPrototypeOf: Reflect.getPrototypeOf,
  ObjectDefineProperty: Object.defineProperty,
  ObjectDefineProperties: Object.defineProperties,
  ObjectFreeze: Object.freeze,
  ObjectCreate: Object.create,
  ObjectKeys: Object.keys,
  ObjectAssign: Object.assign,
  ObjectGetOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
  ObjectPrototypeHasOwnProperty: uncurryThis(Object.prototype.hasOwnProperty),
  ObjectPrototypeToString: uncurryThis(Object.prototype.toString),
  ArrayIsArray: Array.isArray,
  ArrayPrototypePush: uncurryThis(Array.prototype.push),
  ArrayPrototypeSplice: uncurryThis(Array.prototype.splice),
  ArrayPrototypeJoin: uncurryThis(Array.prototype.join),
  MapPrototypeGet: uncurryThis(Map.prototype.get),
  MapPrototypeSet: uncurryThis(Map.prototype.set),
  MapPrototypeHas: uncurryThis(Map.prototype.has),
  MapPrototypeDelete: uncurryThis(Map.prototype.delete),
  MapPrototypeClear: uncurryThis(Map.prototype.clear),
  MapPrototypeForEach: uncurryThis(Map.prototype.forEach),
  SafeMap: Map,
  JSONStringify: JSON.stringify,
  JSONParse: JSON.parse,
  StringPrototypeCharCodeAt: uncurryThis(String.prototype.charCodeAt),
  StringPrototypeSlice: uncurryThis(String.prototype.slice),
  StringPrototypeIndexOf: uncurryThis(String.prototype.indexOf),
  StringPrototypeStartsWith: uncurryThis(String.prototype.startsWith),
  StringFromCharCode: String.fromCharCode,
  String,
  Number,
  NumberIsFinite: Number.isFinite,
  MathMax: Math.max,
  MathFloor: Math.floor,
  DateNow: Date.now,
  Error,
  TypeError,
  Uint8Array,
  Uint32Array,
  Promise: P,
  PromiseResolve: (v) => apply(PromiseResolveStatic, P, [v]),
  PromisePrototypeThen,
  // A resolved promise whose reactions are our microtask queue (see queueMicrotask).
  resolvedPromise: apply(PromiseResolveStatic, P, []),
  SymbolFor: Symbol.for,
};
