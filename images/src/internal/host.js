'use strict';
// The host bridge (docs/host-abi.md): captured once, then removed from the global object
// so reactor code cannot call it.

const { apply, JSONStringify, Error } = require('./primordials');

const bridge = globalThis.__host;
if (typeof bridge !== 'function') {
  throw new Error('the Node layer must be evaluated by the reactord runtime (globalThis.__host is missing)');
}
delete globalThis.__host;

// call(op, arg) performs a synchronous host operation; arg is a string or undefined.
function call(op, arg) {
  return apply(bridge, undefined, [op, arg]);
}

// callJSON(op, value) sends value as JSON text.
function callJSON(op, value) {
  return apply(bridge, undefined, [op, JSONStringify(value)]);
}

module.exports = { call, callJSON };
