'use strict';
// util.types: brand checks that use internal slots where JavaScript allows it, so a
// Symbol.toStringTag cannot fool them.

const { ObjectPrototypeToString, uncurryThis, ObjectGetOwnPropertyDescriptor, getPrototypeOf } = require('../internal/primordials');

const tag = (v) => ObjectPrototypeToString(v);
const getter = (proto, name) => uncurryThis(ObjectGetOwnPropertyDescriptor(proto, name).get);

const TypedArrayPrototype = getPrototypeOf(Uint8Array.prototype);
const typedArrayTag = getter(TypedArrayPrototype, Symbol.toStringTag);
const mapSize = getter(Map.prototype, 'size');
const setSize = getter(Set.prototype, 'size');
const arrayBufferByteLength = getter(ArrayBuffer.prototype, 'byteLength');
const sharedArrayBufferByteLength = typeof SharedArrayBuffer === 'function' ? getter(SharedArrayBuffer.prototype, 'byteLength') : null;
const dataViewByteLength = getter(DataView.prototype, 'byteLength');
const regExpSource = getter(RegExp.prototype, 'source');
const dateGetTime = uncurryThis(Date.prototype.getTime);
const weakMapHas = uncurryThis(WeakMap.prototype.has);
const weakSetHas = uncurryThis(WeakSet.prototype.has);
const numberValueOf = uncurryThis(Number.prototype.valueOf);
const stringValueOf = uncurryThis(String.prototype.valueOf);
const booleanValueOf = uncurryThis(Boolean.prototype.valueOf);
const bigIntValueOf = uncurryThis(BigInt.prototype.valueOf);
const symbolValueOf = uncurryThis(Symbol.prototype.valueOf);

function brand(check) {
  return (value) => {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
    try {
      check(value);
      return true;
    } catch {
      return false;
    }
  };
}

const isObjectLike = (v) => v !== null && typeof v === 'object';

const isTypedArray = (v) => typedArrayTag(v) !== undefined;
const typedArrayIs = (name) => (v) => typedArrayTag(v) === name;

const types = {
  isDate: brand(dateGetTime),
  isRegExp: (v) => v !== RegExp.prototype && brand(regExpSource)(v),
  isMap: brand(mapSize),
  isSet: brand(setSize),
  isWeakMap: brand((v) => weakMapHas(v, {})),
  isWeakSet: brand((v) => weakSetHas(v, {})),
  isArrayBuffer: brand(arrayBufferByteLength),
  isSharedArrayBuffer: sharedArrayBufferByteLength ? brand(sharedArrayBufferByteLength) : () => false,
  isAnyArrayBuffer: (v) => types.isArrayBuffer(v) || types.isSharedArrayBuffer(v),
  isDataView: brand(dataViewByteLength),
  isArrayBufferView: (v) => ArrayBuffer.isView(v),
  isTypedArray,
  isUint8Array: typedArrayIs('Uint8Array'),
  isUint8ClampedArray: typedArrayIs('Uint8ClampedArray'),
  isUint16Array: typedArrayIs('Uint16Array'),
  isUint32Array: typedArrayIs('Uint32Array'),
  isInt8Array: typedArrayIs('Int8Array'),
  isInt16Array: typedArrayIs('Int16Array'),
  isInt32Array: typedArrayIs('Int32Array'),
  isFloat16Array: typedArrayIs('Float16Array'),
  isFloat32Array: typedArrayIs('Float32Array'),
  isFloat64Array: typedArrayIs('Float64Array'),
  isBigInt64Array: typedArrayIs('BigInt64Array'),
  isBigUint64Array: typedArrayIs('BigUint64Array'),
  isPromise: (v) => isObjectLike(v) && tag(v) === '[object Promise]',
  isNativeError: (v) => isObjectLike(v) && tag(v) === '[object Error]',
  isAsyncFunction: (v) => typeof v === 'function' && (tag(v) === '[object AsyncFunction]' || tag(v) === '[object AsyncGeneratorFunction]'),
  isGeneratorFunction: (v) =>
    typeof v === 'function' && (tag(v) === '[object GeneratorFunction]' || tag(v) === '[object AsyncGeneratorFunction]'),
  isGeneratorObject: (v) => isObjectLike(v) && (tag(v) === '[object Generator]' || tag(v) === '[object AsyncGenerator]'),
  isArgumentsObject: (v) => isObjectLike(v) && tag(v) === '[object Arguments]',
  isMapIterator: (v) => isObjectLike(v) && tag(v) === '[object Map Iterator]',
  isSetIterator: (v) => isObjectLike(v) && tag(v) === '[object Set Iterator]',
  isNumberObject: brand(numberValueOf),
  isStringObject: brand(stringValueOf),
  isBooleanObject: brand(booleanValueOf),
  isBigIntObject: brand(bigIntValueOf),
  isSymbolObject: brand(symbolValueOf),
  isBoxedPrimitive: (v) =>
    types.isNumberObject(v) || types.isStringObject(v) || types.isBooleanObject(v) || types.isBigIntObject(v) || types.isSymbolObject(v),
  isProxy: () => false,
  isExternal: () => false,
  isModuleNamespaceObject: (v) => isObjectLike(v) && tag(v) === '[object Module]',
  isKeyObject: () => false,
  isCryptoKey: (v) => isObjectLike(v) && tag(v) === '[object CryptoKey]',
  isWeakRef: (v) => isObjectLike(v) && tag(v) === '[object WeakRef]',
};

module.exports = types;
