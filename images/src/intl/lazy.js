'use strict';
// Intl, evaluated when first needed. FormatJS's code and data make the image heap 4.4 MB
// bigger and every reactor's snapshot ~9 MiB bigger (images/README.md, Intl); most
// reactors never use Intl. So the layer only installs stubs: the global `Intl` (an
// accessor) and the toLocale* methods load the Intl script (dist/intl.js, served by
// the host) on first use, and a reactor whose code mentions Intl or a toLocale* method
// has it loaded while its snapshot is made, so that its instances start with it.

const P = require('../internal/primordials');
const host = require('../internal/host');

const { apply, ObjectDefineProperty, ObjectGetOwnPropertyDescriptor, uncurryThis } = P;
const FunctionPrototypeToString = uncurryThis(Function.prototype.toString);
const RegExpPrototypeTest = uncurryThis(RegExp.prototype.test);
const indirectEval = eval;

// [prototype, name, length]: the methods Intl provides
const METHODS = [
  [Number.prototype, 'toLocaleString', 0],
  [BigInt.prototype, 'toLocaleString', 0],
  [Date.prototype, 'toLocaleString', 0],
  [Date.prototype, 'toLocaleDateString', 0],
  [Date.prototype, 'toLocaleTimeString', 0],
  [String.prototype, 'localeCompare', 1],
  [String.prototype, 'toLocaleUpperCase', 0],
  [String.prototype, 'toLocaleLowerCase', 0],
  [Array.prototype, 'toLocaleString', 0],
];

const stubs = new Map(); // stub -> index in METHODS
const real = []; // index -> the loaded method
let loaded = false;

function intlGetter() {
  load();
  return globalThis.Intl;
}
function intlSetter(v) {
  ObjectDefineProperty(globalThis, 'Intl', { value: v, writable: true, enumerable: false, configurable: true });
}

// load evaluates the Intl script once and installs what reactor code has not replaced.
function load() {
  if (loaded) return;
  loaded = true;
  // FormatJS's polyfills define their own toLocale* methods as they load: what was there
  // (our stubs, or what reactor code put) is put back before ours are installed.
  const before = [];
  for (let i = 0; i < METHODS.length; i++) before[i] = ObjectGetOwnPropertyDescriptor(METHODS[i][0], METHODS[i][1]);
  const create = indirectEval(host.call('intl-data', 'script'));
  const intl = create(P, host);
  for (let i = 0; i < METHODS.length; i++) {
    if (before[i] !== undefined) ObjectDefineProperty(METHODS[i][0], METHODS[i][1], before[i]);
  }
  intl.install(
    (name, value) => {
      const d = ObjectGetOwnPropertyDescriptor(globalThis, name);
      if (d !== undefined && d.get === intlGetter) {
        ObjectDefineProperty(globalThis, name, { value, writable: true, enumerable: false, configurable: true });
      }
    },
    (proto, name, fn) => {
      for (let i = 0; i < METHODS.length; i++) {
        if (METHODS[i][0] !== proto || METHODS[i][1] !== name) continue;
        real[i] = fn;
        const d = ObjectGetOwnPropertyDescriptor(proto, name);
        if (d !== undefined && P.MapPrototypeGet(stubs, d.value) === i) {
          ObjectDefineProperty(proto, name, { value: fn, writable: true, enumerable: false, configurable: true });
        }
      }
    },
  );
}

function install() {
  ObjectDefineProperty(globalThis, 'Intl', { get: intlGetter, set: intlSetter, enumerable: false, configurable: true });
  for (let i = 0; i < METHODS.length; i++) {
    const [proto, name, length] = METHODS[i];
    const stub = {
      [name](...args) {
        load();
        return apply(real[i], this, args);
      },
    }[name];
    ObjectDefineProperty(stub, 'length', { value: length, configurable: true });
    P.MapPrototypeSet(stubs, stub, i);
    ObjectDefineProperty(proto, name, { value: stub, writable: true, enumerable: false, configurable: true });
  }
}

const MENTIONS = /\bIntl\b|\btoLocale(?:String|DateString|TimeString|UpperCase|LowerCase)\b|\blocaleCompare\b/;

// preloadFor loads Intl now, while the reactor's snapshot is made, if its code mentions it.
function preloadFor(fn) {
  let src;
  try {
    src = FunctionPrototypeToString(fn);
  } catch {
    return;
  }
  if (RegExpPrototypeTest(MENTIONS, src)) load();
}

module.exports = { install, load, preloadFor };
