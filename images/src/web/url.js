'use strict';
// WHATWG URL and URLSearchParams from whatwg-url-without-unicode (jsdom's whatwg-url
// without the Unicode IDNA tables; host names are lower-cased and punycode-encoded),
// with Node's additions: URL.canParse, URL.parse and util.inspect output.

const whatwg = require('whatwg-url-without-unicode');
const punycode = require('punycode');

const { URL, URLSearchParams } = whatwg;
const customInspect = Symbol.for('nodejs.util.inspect.custom');

if (typeof URL.canParse !== 'function') {
  URL.canParse = function canParse(url, base) {
    try {
      new URL(url, base);
      return true;
    } catch {
      return false;
    }
  };
}
if (typeof URL.parse !== 'function') {
  URL.parse = function parse(url, base) {
    try {
      return new URL(url, base);
    } catch {
      return null;
    }
  };
}
for (const name of ['createObjectURL', 'revokeObjectURL']) {
  URL[name] = function () {
    const err = new Error(`URL.${name} is not available in reactors`);
    err.code = 'ERR_NOT_AVAILABLE_IN_REACTORS';
    throw err;
  };
}

Object.defineProperty(URL.prototype, customInspect, {
  value: function (depth, options, inspect) {
    if (typeof depth === 'number' && depth < 0) return this;
    const obj = {
      href: this.href,
      origin: this.origin,
      protocol: this.protocol,
      username: this.username,
      password: this.password,
      host: this.host,
      hostname: this.hostname,
      port: this.port,
      pathname: this.pathname,
      search: this.search,
      searchParams: this.searchParams,
      hash: this.hash,
    };
    return `URL ${inspect(obj, { ...options, customInspect: true })}`;
  },
  configurable: true,
  writable: true,
});

Object.defineProperty(URLSearchParams.prototype, customInspect, {
  value: function (depth, options, inspect) {
    if (typeof depth === 'number' && depth < 0) return '[Object]';
    const parts = [];
    for (const [k, v] of this) parts.push(`${inspect(k)} => ${inspect(v)}`);
    return parts.length === 0 ? 'URLSearchParams {}' : `URLSearchParams { ${parts.join(', ')} }`;
  },
  configurable: true,
  writable: true,
});

if (!('size' in URLSearchParams.prototype)) {
  Object.defineProperty(URLSearchParams.prototype, 'size', {
    get() {
      let n = 0;
      for (const _ of this) n++;
      return n;
    },
    configurable: true,
    enumerable: true,
  });
}

function domainToASCII(domain) {
  try {
    const u = new URL(`ws://${domain}`);
    return u.hostname;
  } catch {
    return '';
  }
}

function domainToUnicode(domain) {
  try {
    const ascii = domainToASCII(domain);
    return ascii === '' ? '' : punycode.toUnicode(ascii);
  } catch {
    return '';
  }
}

module.exports = { URL, URLSearchParams, domainToASCII, domainToUnicode };
