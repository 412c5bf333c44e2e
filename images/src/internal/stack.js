'use strict';
// Node-style stack traces: QuickJS-NG's `stack` lists only frames; with this
// Error.prepareStackTrace it starts with "Name: message" like V8's. QuickJS-NG formats the
// stack when the error is created (V8 does it on first access), so for an error class
// that sets this.name in its constructor the header uses the class name.

const { ObjectPrototypeHasOwnProperty, getPrototypeOf, String } = require('./primordials');

function className(error) {
  try {
    const proto = getPrototypeOf(error);
    const ctor = proto && ObjectPrototypeHasOwnProperty(proto, 'constructor') ? proto.constructor : undefined;
    if (typeof ctor === 'function' && typeof ctor.name === 'string' && ctor.name !== '' && ctor.prototype instanceof Error) return ctor.name;
  } catch {}
  return undefined;
}

function header(error) {
  if (error === null || (typeof error !== 'object' && typeof error !== 'function')) return String(error);
  let name = error.name;
  let message = error.message;
  name = name === undefined ? 'Error' : String(name);
  if (!ObjectPrototypeHasOwnProperty(error, 'name')) {
    const cls = className(error);
    if (cls !== undefined && cls !== name) name = cls;
  }
  message = message === undefined ? '' : String(message);
  if (name === '') return message;
  if (message === '') return name;
  return `${name}: ${message}`;
}

function frame(cs) {
  try {
    if (cs.isNative()) {
      const fn = cs.getFunctionName();
      return fn ? `${fn} (native)` : 'native';
    }
    const fn = cs.getFunctionName();
    const file = cs.getFileName();
    const loc = `${file === null || file === undefined ? '<anonymous>' : file}:${cs.getLineNumber()}:${cs.getColumnNumber()}`;
    return fn ? `${fn} (${loc})` : loc;
  } catch {
    return '<unknown>';
  }
}

function isLayerFrame(cs) {
  try {
    if (cs.isNative()) return true;
    const file = cs.getFileName();
    return typeof file === 'string' && file.startsWith('node:');
  } catch {
    return false;
  }
}

function prepareStackTrace(error, callsites) {
  let s;
  try {
    s = header(error);
  } catch {
    s = 'Error';
  }
  // The frames below the reactor's own are the layer's invocation machinery: drop them.
  let end = callsites.length;
  while (end > 0 && isLayerFrame(callsites[end - 1])) end--;
  if (end === 0) end = callsites.length;
  for (let i = 0; i < end; i++) s += `\n    at ${frame(callsites[i])}`;
  return s;
}

function install() {
  Error.prepareStackTrace = prepareStackTrace;
}

module.exports = { install, header };
