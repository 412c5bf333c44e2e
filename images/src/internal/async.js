'use strict';
// Host operations that complete later (docs/host-abi.md, op `async`): started here,
// settled by __reactor.tick with the completions the host delivers.

const host = require('./host');
const { SafeMap, MapPrototypeGet, MapPrototypeSet, MapPrototypeDelete, MapPrototypeClear, String } = require('./primordials');

const pending = new SafeMap(); // id -> callback(ok, value, error)
let started = false; // an operation started since the last reset
let onUncaught = (err) => {
  throw err;
};

// start begins host operation `op` with argument `arg`; callback(ok, value, error) runs
// when it completes. It returns the operation id. A host refusal throws.
function start(op, arg, callback) {
  const id = String(host.callJSON('async', { op, arg }));
  MapPrototypeSet(pending, id, callback);
  started = true;
  return id;
}

// forget drops interest in an operation (its completion will be ignored).
function forget(id) {
  MapPrototypeDelete(pending, id);
}

// complete settles the operations in a parsed completions list.
function complete(list) {
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (c === null || typeof c !== 'object') continue;
    const id = String(c.id);
    const callback = MapPrototypeGet(pending, id);
    if (callback === undefined) continue;
    MapPrototypeDelete(pending, id);
    try {
      callback(c.ok === true, c.value, c.error === undefined ? 'unknown error' : c.error);
    } catch (err) {
      onUncaught(err);
    }
  }
}

function reset() {
  if (started) {
    started = false;
    MapPrototypeClear(pending);
  }
}

function setUncaughtHandler(fn) {
  onUncaught = fn;
}

module.exports = { start, forget, complete, reset, setUncaughtHandler };
