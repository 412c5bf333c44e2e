'use strict';
// Intl for reactors: FormatJS's polyfills with the CLDR data of the shipped locales
// (./polyfills.js), a Collator backed by the host (golang.org/x/text/collate), and the
// toLocale* methods of Number, BigInt, Date, Array and String routed to them through a
// small cache of formatters (constructing a FormatJS formatter costs as much as
// formatting with it or more).

// the layer's captured intrinsics and host bridge (./script.js sets them)
const { P, host } = require('./deps');
const { Intl: internal } = require('./private');

// a time zone's transitions, fetched when a formatter first uses the zone (genlayer's
// patch of DateTimeFormat.__addTZData)
Object.defineProperty(internal, '__zoneData', { value: (zone) => host.call('intl-data', 'tz/' + zone) });
const lazyLocales = require('./polyfills');

const { apply, uncurryThis, ObjectDefineProperty, ObjectCreate, ObjectGetOwnPropertyDescriptor, getPrototypeOf, JSONStringify, String, TypeError, ArrayIsArray, ObjectKeys } = P;
const ObjectPrototype = Object.prototype;
const NumberPrototypeValueOf = uncurryThis(Number.prototype.valueOf);
const DatePrototypeValueOf = uncurryThis(Date.prototype.valueOf);
const BigIntPrototypeValueOf = uncurryThis(BigInt.prototype.valueOf);
const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
const StringPrototypeReplace = uncurryThis(String.prototype.replace);
const NumberIsNaN = Number.isNaN;
const SymbolToStringTag = Symbol.toStringTag;
const WeakMapGet = uncurryThis(WeakMap.prototype.get);
const WeakMapSet = uncurryThis(WeakMap.prototype.set);
const SafeMap = Map;
const MapGet = uncurryThis(Map.prototype.get);
const MapSet = uncurryThis(Map.prototype.set);
const MapDelete = uncurryThis(Map.prototype.delete);
const MapKeys = uncurryThis(Map.prototype.keys);
const IteratorNext = uncurryThis(getPrototypeOf(new Map().keys()).next);

const { NumberFormat, DateTimeFormat } = internal;

// Node's default locale here is en-US (FormatJS would make it en, the first added).
for (const name of ['DateTimeFormat', 'DisplayNames', 'ListFormat', 'NumberFormat', 'PluralRules', 'RelativeTimeFormat']) {
  internal[name].__defaultLocale = 'en-US';
}

// --- locales loaded on first use ---

const JSONParse = P.JSONParse;
const canonicalLocales = internal.getCanonicalLocales;
const StringPrototypeLastIndexOf = uncurryThis(String.prototype.lastIndexOf);

// ensureLocale adds the data of tag and of its parents (de-CH: de) that are shipped
// but not loaded yet; the host serves it (images.IntlData).
const lazy = ObjectCreate(null);
for (const tag of lazyLocales.lazy) lazy[tag] = true;
function ensureLocale(tag) {
  let t = stripExtensions(tag);
  for (;;) {
    if (lazy[t] === true) {
      lazy[t] = false;
      for (const kind of lazyLocales.kinds) {
        const text = host.call('intl-data', t + '/' + kind);
        if (text !== undefined) internal[kind].__addLocaleData(JSONParse(text));
      }
    }
    const dash = StringPrototypeLastIndexOf(t, '-');
    if (dash < 0) return;
    t = P.StringPrototypeSlice(t, 0, dash);
  }
}

// ensureLocales is called by every FormatJS formatter on the locales it is asked for
// (genlayer patches their CanonicalizeLocaleList): the moment to add their data.
function ensureLocales(list) {
  for (let i = 0; i < list.length; i++) ensureLocale(list[i]);
  return list;
}
ObjectDefineProperty(internal, '__ensureLocales', { value: ensureLocales });
const getCanonicalLocales = canonicalLocales;

// method captures a prototype's method (or the getter of a bound one, like `format`)
// now, so that reactor code patching prototypes cannot change what toLocale* do.
function method(C, name) {
  const d = ObjectGetOwnPropertyDescriptor(C.prototype, name);
  if (d.get) {
    const get = uncurryThis(d.get);
    return (self, ...args) => apply(get(self), undefined, args);
  }
  return uncurryThis(d.value);
}
// V8 (so Node) writes U+0020 where CLDR's time formats have U+202F (narrow no-break
// space, before AM/PM), in DateTimeFormat's output and Date's toLocale*String.
const NNBSP = /\u202f/g;
const space = (s) => StringPrototypeReplace(s, NNBSP, ' ');
{
  const proto = DateTimeFormat.prototype;
  const format = ObjectGetOwnPropertyDescriptor(proto, 'format').get;
  const spaced = new WeakMap(); // FormatJS's bound format -> ours (the same each time)
  ObjectDefineProperty(proto, 'format', {
    get: {
      format() {
        const f = apply(format, this, []);
        let g = WeakMapGet(spaced, f);
        if (g === undefined) {
          g = (date) => space(f(date));
          WeakMapSet(spaced, f, g);
        }
        return g;
      },
    }.format,
    enumerable: false,
    configurable: true,
  });
  // (formatToParts keeps U+202F in Node too)
  for (const [name, fix] of [['formatRange', space]]) {
    const d = ObjectGetOwnPropertyDescriptor(proto, name);
    if (d === undefined || typeof d.value !== 'function') continue;
    const f = d.value;
    ObjectDefineProperty(proto, name, {
      value: {
        [name](...args) {
          return fix(apply(f, this, args));
        },
      }[name],
      writable: true,
      enumerable: false,
      configurable: true,
    });
  }
}

// NumberFormat's resolvedOptions in V8's key order (JSON.stringify shows the order).
const NF_KEYS = ['locale', 'numberingSystem', 'style', 'currency', 'currencyDisplay', 'currencySign', 'unit', 'unitDisplay', 'minimumIntegerDigits', 'minimumFractionDigits', 'maximumFractionDigits', 'minimumSignificantDigits', 'maximumSignificantDigits', 'useGrouping', 'notation', 'compactDisplay', 'signDisplay', 'roundingMode', 'roundingIncrement', 'trailingZeroDisplay', 'roundingPriority'];
{
  const resolved = NumberFormat.prototype.resolvedOptions;
  ObjectDefineProperty(NumberFormat.prototype, 'resolvedOptions', {
    value: {
      resolvedOptions() {
        const r = apply(resolved, this, []);
        const out = {};
        for (const k of NF_KEYS) if (P.ObjectPrototypeHasOwnProperty(r, k)) out[k] = r[k];
        for (const k of ObjectKeys(r)) if (!P.ObjectPrototypeHasOwnProperty(out, k)) out[k] = r[k];
        return out;
      },
    }.resolvedOptions,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

const numberFormat = method(NumberFormat, 'format');
const dateTimeFormat = method(DateTimeFormat, 'format');

// --- Collator (host) ---

const SENSITIVITIES = ['base', 'accent', 'case', 'variant'];
const CASE_FIRST = ['upper', 'lower', 'false'];
const USAGES = ['sort', 'search'];
const collatorSlots = new WeakMap();

function getOption(options, name, allowed, fallback) {
  let v = options[name];
  if (v === undefined) return fallback;
  if (typeof allowed === 'boolean') return !!v;
  v = String(v);
  if (allowed !== null) {
    let ok = false;
    for (let i = 0; i < allowed.length; i++) if (allowed[i] === v) ok = true;
    if (!ok) throw new RangeError(`Value ${v} out of range for Intl.Collator options property ${name}`);
  }
  return v;
}

// unicodeExtension reads the -u-<key>-<value> keyword of a canonical tag.
function unicodeExtension(tag, key) {
  const parts = tag.split('-');
  let inU = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.length === 1) {
      inU = p === 'u';
      continue;
    }
    if (inU && p === key) {
      const next = parts[i + 1];
      return next === undefined || next.length === 2 ? 'true' : next;
    }
  }
  return undefined;
}

function stripExtensions(tag) {
  const i = tag.search(/-[a-wy-z0-9]-/i);
  return i < 0 ? tag : tag.slice(0, i);
}

// Collator locales: the shipped ones (the collation tables themselves are the host's).
function resolveCollatorLocale(requested) {
  const available = internal.NumberFormat.supportedLocalesOf(requested);
  if (available.length === 0) return { locale: 'en-US', tag: undefined };
  return { locale: stripExtensions(available[0]), tag: available[0] };
}

class Collator {
  constructor(locales, options) {
    const requested = getCanonicalLocales(locales);
    if (options === undefined) options = ObjectCreate(null);
    else if (options === null) throw new TypeError('Cannot convert undefined or null to object');
    else options = Object(options);
    const usage = getOption(options, 'usage', USAGES, 'sort');
    getOption(options, 'localeMatcher', ['lookup', 'best fit'], 'best fit');
    const collation = getOption(options, 'collation', null, undefined);
    let numeric = getOption(options, 'numeric', true, undefined);
    let caseFirst = getOption(options, 'caseFirst', CASE_FIRST, undefined);
    const r = resolveCollatorLocale(requested);
    let locale = r.locale;
    if (r.tag !== undefined) {
      const kn = unicodeExtension(r.tag, 'kn');
      if (numeric === undefined && kn !== undefined) {
        numeric = kn === 'true';
        locale += kn === 'true' ? '-u-kn' : '-u-kn-false';
      }
      const kf = unicodeExtension(r.tag, 'kf');
      if (caseFirst === undefined && kf !== undefined && (kf === 'upper' || kf === 'lower' || kf === 'false')) {
        caseFirst = kf;
        locale += '-u-kf-' + kf;
      }
    }
    void collation;
    let sensitivity = getOption(options, 'sensitivity', SENSITIVITIES, undefined);
    if (sensitivity === undefined) sensitivity = 'variant';
    const ignorePunctuation = getOption(options, 'ignorePunctuation', true, false);
    const slots = {
      locale,
      usage,
      sensitivity,
      ignorePunctuation,
      collation: 'default',
      numeric: numeric === true,
      caseFirst: caseFirst === undefined ? 'false' : caseFirst,
      bound: undefined,
    };
    slots.key = JSONStringify([stripExtensions(locale), slots.sensitivity, slots.numeric, slots.caseFirst, slots.ignorePunctuation, usage]);
    WeakMapSet(collatorSlots, this, slots);
  }

  get compare() {
    const slots = WeakMapGet(collatorSlots, this);
    if (slots === undefined) throw new TypeError('Method get Intl.Collator.prototype.compare called on incompatible receiver');
    if (slots.bound === undefined) slots.bound = (a, b) => collate(slots, String(a), String(b));
    return slots.bound;
  }

  resolvedOptions() {
    const s = WeakMapGet(collatorSlots, this);
    if (s === undefined) throw new TypeError('Method Intl.Collator.prototype.resolvedOptions called on incompatible receiver');
    return {
      locale: s.locale,
      usage: s.usage,
      sensitivity: s.sensitivity,
      ignorePunctuation: s.ignorePunctuation,
      collation: s.collation,
      numeric: s.numeric,
      caseFirst: s.caseFirst,
    };
  }

  static supportedLocalesOf(locales, options) {
    return internal.NumberFormat.supportedLocalesOf(locales, options);
  }
}
ObjectDefineProperty(Collator.prototype, SymbolToStringTag, { value: 'Intl.Collator', configurable: true });
ObjectDefineProperty(Collator, 'length', { value: 0, configurable: true });

function collate(slots, a, b) {
  if (a === b) return 0;
  const r = host.call('collate', JSONStringify([slots.key, a, b]));
  return r === '0' ? 0 : r === '1' ? 1 : -1;
}

// --- the formatter cache ---

// Formatters are kept per (kind, locales, options) for calls whose options are absent or
// a plain object of primitives (anything else could observe being read only once).
const CACHE_MAX = 64;
const cache = new SafeMap();

function cacheKey(kind, locales, options) {
  let lk;
  if (locales === undefined) lk = '';
  else if (typeof locales === 'string') lk = locales;
  else if (ArrayIsArray(locales) && getPrototypeOf(locales) === Array.prototype) {
    lk = '';
    for (let i = 0; i < locales.length; i++) {
      if (typeof locales[i] !== 'string') return undefined;
      lk += (i > 0 ? ',' : '') + locales[i];
    }
    lk = '[' + lk;
  } else return undefined;
  let ok = '';
  if (options !== undefined) {
    if (options === null || typeof options !== 'object' || getPrototypeOf(options) !== ObjectPrototype) return undefined;
    const keys = ObjectKeys(options);
    for (let i = 0; i < keys.length; i++) {
      const d = ObjectGetOwnPropertyDescriptor(options, keys[i]);
      if (d.get !== undefined || d.set !== undefined) return undefined;
      const v = d.value;
      if (v !== null && (typeof v === 'object' || typeof v === 'function' || typeof v === 'symbol')) return undefined;
      ok += keys[i] + '\u0000' + typeof v + ':' + String(v) + '\u0001';
    }
  }
  return kind + '\u0002' + lk + '\u0002' + ok;
}

function cached(kind, locales, options, make) {
  const key = cacheKey(kind, locales, options);
  if (key === undefined) return make(locales, options);
  let f = MapGet(cache, key);
  if (f === undefined) {
    f = make(locales, options);
    if (cache.size >= CACHE_MAX) MapDelete(cache, IteratorNext(MapKeys(cache)).value);
    MapSet(cache, key, f);
  }
  return f;
}

const newNumberFormat = (l, o) => new NumberFormat(l, o);
const newCollator = (l, o) => new Collator(l, o);

// dateOptions is ECMA-402's ToDateTimeOptions for the Date toLocale* methods.
const DATE_FIELDS = ['weekday', 'year', 'month', 'day'];
const TIME_FIELDS = ['dayPeriod', 'hour', 'minute', 'second', 'fractionalSecondDigits'];
function dateMaker(required, defaults) {
  return (locales, options) => {
    const o = options === undefined ? ObjectCreate(null) : ObjectCreate(Object(options));
    let need = true;
    if (required === 'date' || required === 'any') for (const k of DATE_FIELDS) if (o[k] !== undefined) need = false;
    if (required === 'time' || required === 'any') for (const k of TIME_FIELDS) if (o[k] !== undefined) need = false;
    const ds = o.dateStyle;
    const ts = o.timeStyle;
    if (ds !== undefined || ts !== undefined) need = false;
    if (required === 'date' && ts !== undefined) throw new TypeError('Invalid option : timeStyle');
    if (required === 'time' && ds !== undefined) throw new TypeError('Invalid option : dateStyle');
    if (need && (defaults === 'date' || defaults === 'all')) for (const k of ['year', 'month', 'day']) ObjectDefineProperty(o, k, { value: 'numeric', writable: true, enumerable: true, configurable: true });
    if (need && (defaults === 'time' || defaults === 'all')) for (const k of ['hour', 'minute', 'second']) ObjectDefineProperty(o, k, { value: 'numeric', writable: true, enumerable: true, configurable: true });
    return new DateTimeFormat(locales, o);
  };
}
const dateAny = dateMaker('any', 'all');
const dateDate = dateMaker('date', 'date');
const dateTime = dateMaker('time', 'time');

function dateToLocale(kind, make) {
  return {
    [kind](locales, options) {
      const t = DatePrototypeValueOf(this);
      if (NumberIsNaN(t)) return 'Invalid Date';
      return dateTimeFormat(cached(kind, locales, options, make), t);
    },
  }[kind];
}

// tr and az map dotted and dotless i; other locales use the default mappings, as
// Node does for every locale but tr, az and lt.
function caseLocale(locales) {
  if (locales === undefined) return '';
  const list = getCanonicalLocales(locales);
  if (list.length === 0) return '';
  const lang = list[0].split('-')[0];
  return lang === 'tr' || lang === 'az' ? 'tr' : '';
}

// install defines the global Intl and the toLocale* methods through the layer's
// definers (./lazy.js), which leave alone what reactor code replaced meanwhile.
function install(defineGlobal, define) {
  const Intl = {};
  // Work every instance would otherwise repeat on its first use is done now, into the
  // image: en's date formats are parsed (~60 ms a locale), the locale matcher's CLDR
  // tables processed (~100 ms), a formatter of each kind resolved for en-US.
  new DateTimeFormat('en-US', { timeZone: 'America/New_York' }).format(0);
  new NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(1);
  new internal.PluralRules('en-US').select(1);
  new internal.RelativeTimeFormat('en-US').format(1, 'day');
  new internal.ListFormat('en-US').format(['a', 'b']);
  new internal.DisplayNames('en-US', { type: 'region' }).of('US');
  new internal.Locale('en-US').maximize();
  const names = ['getCanonicalLocales', 'supportedValuesOf', 'Collator', 'DateTimeFormat', 'DisplayNames', 'ListFormat', 'Locale', 'NumberFormat', 'PluralRules', 'RelativeTimeFormat', 'Segmenter'];
  for (const name of names) {
    const value = name === 'Collator' ? Collator : internal[name];
    if (value === undefined) continue;
    ObjectDefineProperty(Intl, name, { value, writable: true, enumerable: false, configurable: true });
  }
  ObjectDefineProperty(internal, 'Collator', { value: Collator, writable: true, configurable: true });
  // V8's Intl.Locale has the accessor forms (calendars, weekInfo, ...) of the get*()
  // methods FormatJS implements.
  for (const name of ['calendars', 'collations', 'hourCycles', 'numberingSystems', 'textInfo', 'timeZones', 'weekInfo']) {
    const proto = internal.Locale.prototype;
    const m = proto['get' + name[0].toUpperCase() + name.slice(1)];
    if (typeof m === 'function' && !(name in proto)) {
      ObjectDefineProperty(proto, name, {
        get: {
          [name]() {
            return apply(m, this, []);
          },
        }[name],
        enumerable: false,
        configurable: true,
      });
    }
  }
  ObjectDefineProperty(Intl, SymbolToStringTag, { value: 'Intl', configurable: true });
  defineGlobal('Intl', Intl);

  define(Number.prototype, 'toLocaleString', {
    toLocaleString(locales, options) {
      return numberFormat(cached('n', locales, options, newNumberFormat), NumberPrototypeValueOf(this));
    },
  }.toLocaleString);
  define(BigInt.prototype, 'toLocaleString', {
    toLocaleString(locales, options) {
      return numberFormat(cached('n', locales, options, newNumberFormat), BigIntPrototypeValueOf(this));
    },
  }.toLocaleString);
  define(Date.prototype, 'toLocaleString', dateToLocale('toLocaleString', dateAny));
  define(Date.prototype, 'toLocaleDateString', dateToLocale('toLocaleDateString', dateDate));
  define(Date.prototype, 'toLocaleTimeString', dateToLocale('toLocaleTimeString', dateTime));
  define(String.prototype, 'localeCompare', {
    localeCompare(that, locales, options) {
      if (this === undefined || this === null) throw new TypeError('String.prototype.localeCompare called on null or undefined');
      const c = cached('c', locales, options, newCollator);
      return collate(WeakMapGet(collatorSlots, c), String(this), String(that));
    },
  }.localeCompare);
  define(String.prototype, 'toLocaleUpperCase', {
    toLocaleUpperCase(locales) {
      if (this === undefined || this === null) throw new TypeError('String.prototype.toLocaleUpperCase called on null or undefined');
      let s = String(this);
      if (caseLocale(locales) === 'tr') s = StringPrototypeReplace(s, /i/g, '\u0130');
      return StringPrototypeToUpperCase(s);
    },
  }.toLocaleUpperCase);
  define(String.prototype, 'toLocaleLowerCase', {
    toLocaleLowerCase(locales) {
      if (this === undefined || this === null) throw new TypeError('String.prototype.toLocaleLowerCase called on null or undefined');
      let s = String(this);
      if (caseLocale(locales) === 'tr') s = StringPrototypeReplace(StringPrototypeReplace(s, /I/g, '\u0131'), /\u0130/g, 'i');
      return StringPrototypeToLowerCase(s);
    },
  }.toLocaleLowerCase);
  define(Array.prototype, 'toLocaleString', {
    toLocaleString(locales, options) {
      const o = Object(this);
      const len = o.length >>> 0;
      let out = '';
      for (let i = 0; i < len; i++) {
        if (i > 0) out += ',';
        const e = o[i];
        if (e !== undefined && e !== null) out += String(e.toLocaleString(locales, options));
      }
      return out;
    },
  }.toLocaleString);
}

module.exports = { install, Collator };
