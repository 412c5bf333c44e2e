'use strict';
// The `url` module: the legacy API (parse/format/resolve) is the npm `url` package (a port
// of Node's url.js), WHATWG URL/URLSearchParams come from whatwg-url-without-unicode (see
// ../web/url.js), and the file-URL helpers are own code.

const legacy = require('url/url.js');
const { URL, URLSearchParams, domainToASCII, domainToUnicode } = require('../web/url');
const path = require('path-browserify');

function codedError(Ctor, message, code) {
  const err = new Ctor(message);
  err.code = code;
  return err;
}

function format(urlObject, options) {
  if (urlObject instanceof URL) {
    const opts = { auth: true, fragment: true, search: true, unicode: false, ...options };
    const u = new URL(urlObject.href);
    if (!opts.auth) {
      u.username = '';
      u.password = '';
    }
    if (!opts.fragment) u.hash = '';
    if (!opts.search) u.search = '';
    let out = u.href;
    if (opts.unicode) out = out.replace(u.host, domainToUnicode(u.hostname) + (u.port ? `:${u.port}` : ''));
    return out;
  }
  return legacy.format(urlObject);
}

function fileURLToPath(input) {
  const url = typeof input === 'string' ? new URL(input) : input;
  if (!(url instanceof URL)) {
    throw codedError(TypeError, `The "path" argument must be of type string or an instance of URL. Received ${typeof input}`, 'ERR_INVALID_ARG_TYPE');
  }
  if (url.protocol !== 'file:') throw codedError(TypeError, 'The URL must be of scheme file', 'ERR_INVALID_URL_SCHEME');
  if (url.hostname !== '' && url.hostname !== 'localhost') {
    throw codedError(TypeError, 'File URL host must be "localhost" or empty on linux', 'ERR_INVALID_FILE_URL_HOST');
  }
  const pathname = url.pathname;
  for (let n = 0; n < pathname.length; n++) {
    if (pathname[n] === '%') {
      const third = pathname.codePointAt(n + 2) | 0x20;
      if (pathname[n + 1] === '2' && third === 102) {
        throw codedError(TypeError, 'File URL path must not include encoded / characters', 'ERR_INVALID_FILE_URL_PATH');
      }
    }
  }
  return decodeURIComponent(pathname);
}

function pathToFileURL(filepath) {
  let resolved = path.resolve(String(filepath));
  if (String(filepath).endsWith('/') && !resolved.endsWith('/')) resolved += '/';
  const encoded = resolved
    .replace(/%/g, '%25')
    .replace(/\\/g, '%5C')
    .replace(/\n/g, '%0A')
    .replace(/\r/g, '%0D')
    .replace(/\t/g, '%09');
  const url = new URL('file://');
  url.pathname = encoded;
  if (url.pathname.includes('?') || url.pathname.includes('#')) {
    url.pathname = encoded.replace(/\?/g, '%3F').replace(/#/g, '%23');
  }
  return url;
}

function urlToHttpOptions(url) {
  const options = {
    protocol: url.protocol,
    hostname: typeof url.hostname === 'string' && url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ''}${url.search || ''}`,
    href: url.href,
  };
  if (url.port !== '') options.port = Number(url.port);
  if (url.username || url.password) options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  return options;
}

module.exports = {
  Url: legacy.Url,
  parse: legacy.parse,
  resolve: legacy.resolve,
  resolveObject: legacy.resolveObject,
  format,
  URL,
  URLSearchParams,
  domainToASCII,
  domainToUnicode,
  fileURLToPath,
  pathToFileURL,
  urlToHttpOptions,
};
