'use strict';
// Deep equality as Node's assert.deepEqual (loose) and assert.deepStrictEqual /
// util.isDeepStrictEqual (strict) define it.

const types = require('./types');

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isEnumerable = (o, k) => Object.prototype.propertyIsEnumerable.call(o, k);
const tagOf = (v) => Object.prototype.toString.call(v);
const numberRegExp = /^(0|[1-9][0-9]*)$/;

function ownKeys(value, strict, skipIndexes) {
  let keys = Object.keys(value);
  if (skipIndexes) keys = keys.filter((k) => !numberRegExp.test(k) || Number(k) >= 2 ** 32 - 1);
  if (strict) {
    for (const s of Object.getOwnPropertySymbols(value)) if (isEnumerable(value, s)) keys.push(s);
  }
  return keys;
}

function isError(v) {
  if (types.isNativeError(v)) return true;
  try {
    return v instanceof Error;
  } catch {
    return false;
  }
}

function bytesOf(view) {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isEqualBoxedPrimitive(a, b) {
  if (types.isNumberObject(a)) return types.isNumberObject(b) && Object.is(Number.prototype.valueOf.call(a), Number.prototype.valueOf.call(b));
  if (types.isStringObject(a)) return types.isStringObject(b) && String.prototype.valueOf.call(a) === String.prototype.valueOf.call(b);
  if (types.isBooleanObject(a)) return types.isBooleanObject(b) && Boolean.prototype.valueOf.call(a) === Boolean.prototype.valueOf.call(b);
  if (types.isBigIntObject(a)) return types.isBigIntObject(b) && BigInt.prototype.valueOf.call(a) === BigInt.prototype.valueOf.call(b);
  if (types.isSymbolObject(a)) return types.isSymbolObject(b) && Symbol.prototype.valueOf.call(a) === Symbol.prototype.valueOf.call(b);
  return false;
}

function innerDeepEqual(val1, val2, strict, memos) {
  if (val1 === val2) {
    if (val1 !== 0) return true;
    return strict ? Object.is(val1, val2) : true;
  }
  if (strict) {
    if (typeof val1 !== 'object') return typeof val1 === 'number' && Number.isNaN(val1) && Number.isNaN(val2);
    if (typeof val2 !== 'object' || val1 === null || val2 === null) return false;
    if (Object.getPrototypeOf(val1) !== Object.getPrototypeOf(val2)) return false;
  } else {
    if (val1 === null || typeof val1 !== 'object') {
      if (val2 === null || typeof val2 !== 'object') {
        // eslint-disable-next-line eqeqeq
        return val1 == val2 || (Number.isNaN(val1) && Number.isNaN(val2));
      }
      return false;
    }
    if (val2 === null || typeof val2 !== 'object') return false;
  }
  const val1Tag = tagOf(val1);
  const val2Tag = tagOf(val2);
  if (val1Tag !== val2Tag) return false;

  if (Array.isArray(val1)) {
    if (!Array.isArray(val2) || val1.length !== val2.length) return false;
    const keys1 = ownKeys(val1, strict, true);
    const keys2 = ownKeys(val2, strict, true);
    if (keys1.length !== keys2.length) return false;
    return keyCheck(val1, val2, strict, memos, 'array', keys1);
  } else if (val1Tag === '[object Object]' && !types.isBoxedPrimitive(val1) && !isError(val1)) {
    if (types.isBoxedPrimitive(val2) || isError(val2)) return false;
    return keyCheck(val1, val2, strict, memos, 'object');
  } else if (types.isDate(val1)) {
    if (!types.isDate(val2) || Date.prototype.getTime.call(val1) !== Date.prototype.getTime.call(val2)) return false;
  } else if (types.isRegExp(val1)) {
    if (!types.isRegExp(val2) || val1.source !== val2.source || val1.flags !== val2.flags || val1.lastIndex !== val2.lastIndex) return false;
  } else if (isError(val1)) {
    if (!isError(val2) || val1.message !== val2.message || val1.name !== val2.name) return false;
  } else if (ArrayBuffer.isView(val1)) {
    if (!ArrayBuffer.isView(val2)) return false;
    if (!strict && (types.isFloat32Array(val1) || types.isFloat64Array(val1))) {
      if (val1.length !== val2.length) return false;
      for (let i = 0; i < val1.length; i++) if (val1[i] !== val2[i]) return false;
    } else if (!equalBytes(bytesOf(val1), bytesOf(val2))) {
      return false;
    }
    const keys1 = ownKeys(val1, strict, true);
    const keys2 = ownKeys(val2, strict, true);
    if (keys1.length !== keys2.length) return false;
    return keyCheck(val1, val2, strict, memos, 'object', keys1);
  } else if (types.isSet(val1)) {
    if (!types.isSet(val2) || val1.size !== val2.size) return false;
    return keyCheck(val1, val2, strict, memos, 'set');
  } else if (types.isMap(val1)) {
    if (!types.isMap(val2) || val1.size !== val2.size) return false;
    return keyCheck(val1, val2, strict, memos, 'map');
  } else if (types.isAnyArrayBuffer(val1)) {
    if (!types.isAnyArrayBuffer(val2) || !equalBytes(new Uint8Array(val1), new Uint8Array(val2))) return false;
  } else if (types.isBoxedPrimitive(val1)) {
    if (!isEqualBoxedPrimitive(val1, val2)) return false;
  } else if (
    Array.isArray(val2) ||
    ArrayBuffer.isView(val2) ||
    types.isSet(val2) ||
    types.isMap(val2) ||
    types.isDate(val2) ||
    types.isRegExp(val2) ||
    types.isAnyArrayBuffer(val2) ||
    types.isBoxedPrimitive(val2) ||
    isError(val2)
  ) {
    return false;
  }
  return keyCheck(val1, val2, strict, memos, 'object');
}

function keyCheck(val1, val2, strict, memos, iterationType, aKeys) {
  if (aKeys === undefined) {
    aKeys = ownKeys(val1, strict, false);
    const bKeys = ownKeys(val2, strict, false);
    if (aKeys.length !== bKeys.length) return false;
  }
  for (const key of aKeys) {
    if (!hasOwn(val2, key) || !isEnumerable(val2, key)) return false;
  }
  if (aKeys.length === 0 && (iterationType === 'object' || (iterationType === 'array' && val1.length === 0) || val1.size === 0)) {
    return true;
  }
  if (memos === undefined) {
    memos = { val1: new Map(), val2: new Map(), position: 0 };
  } else {
    const val2MemoA = memos.val1.get(val1);
    if (val2MemoA !== undefined) {
      const val2MemoB = memos.val2.get(val2);
      if (val2MemoB !== undefined) return val2MemoA === val2MemoB;
    }
    memos.position++;
  }
  memos.val1.set(val1, memos.position);
  memos.val2.set(val2, memos.position);
  const areEq = objEquiv(val1, val2, strict, aKeys, memos, iterationType);
  memos.val1.delete(val1);
  memos.val2.delete(val2);
  return areEq;
}

function findLooseMatchingPrimitive(prim) {
  switch (typeof prim) {
    case 'undefined':
      return null;
    case 'object':
      return undefined;
    case 'symbol':
      return false;
    case 'string':
      prim = +prim;
    // falls through
    case 'number':
      if (Number.isNaN(prim)) return false;
  }
  return true;
}

function setEquiv(a, b, strict, memo) {
  const bValues = [...b];
  const used = new Array(bValues.length).fill(false);
  for (const val of a) {
    if (b.has(val) && (typeof val !== 'object' || val === null)) {
      const idx = bValues.indexOf(val);
      if (idx >= 0 && !used[idx]) {
        used[idx] = true;
        continue;
      }
    }
    if (!strict && (typeof val !== 'object' || val === null) && findLooseMatchingPrimitive(val) === false) return false;
    let found = false;
    for (let i = 0; i < bValues.length; i++) {
      if (used[i]) continue;
      if (innerDeepEqual(val, bValues[i], strict, memo)) {
        used[i] = true;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

function mapEquiv(a, b, strict, memo) {
  const bEntries = [...b];
  const used = new Array(bEntries.length).fill(false);
  for (const [key, item1] of a) {
    if ((typeof key !== 'object' || key === null) && b.has(key)) {
      const idx = bEntries.findIndex((e, i) => !used[i] && Object.is(e[0], key));
      if (idx >= 0 && innerDeepEqual(item1, bEntries[idx][1], strict, memo)) {
        used[idx] = true;
        continue;
      }
      if (strict) return false;
    }
    let found = false;
    for (let i = 0; i < bEntries.length; i++) {
      if (used[i]) continue;
      if (innerDeepEqual(key, bEntries[i][0], strict, memo) && innerDeepEqual(item1, bEntries[i][1], strict, memo)) {
        used[i] = true;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

function objEquiv(a, b, strict, keys, memos, iterationType) {
  if (iterationType === 'set') {
    if (!setEquiv(a, b, strict, memos)) return false;
  } else if (iterationType === 'map') {
    if (!mapEquiv(a, b, strict, memos)) return false;
  } else if (iterationType === 'array') {
    for (let i = 0; i < a.length; i++) {
      if (hasOwn(a, i)) {
        if (!hasOwn(b, i) || !innerDeepEqual(a[i], b[i], strict, memos)) return false;
      } else if (hasOwn(b, i)) {
        return false;
      } else {
        // a hole: in strict mode, holes must line up
        for (let j = i; j < a.length; j++) {
          if (hasOwn(a, j) !== hasOwn(b, j)) return false;
          if (hasOwn(a, j) && !innerDeepEqual(a[j], b[j], strict, memos)) return false;
        }
        break;
      }
    }
  }
  for (const key of keys) {
    if (!innerDeepEqual(a[key], b[key], strict, memos)) return false;
  }
  return true;
}

function isDeepEqual(val1, val2) {
  return innerDeepEqual(val1, val2, false);
}

function isDeepStrictEqual(val1, val2) {
  return innerDeepEqual(val1, val2, true);
}

module.exports = { isDeepEqual, isDeepStrictEqual };
