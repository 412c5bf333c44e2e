'use strict';
// `node-fetch` for node-bt: the real package needs http, https and zlib, so this module
// wraps the layer's global fetch with node-fetch's export shape (v2 and v3 style).

const { fetch, Headers, Request, Response } = require('../web/fetch');

class FetchError extends Error {
  constructor(message, type, systemError) {
    super(message);
    this.name = 'FetchError';
    this.type = type;
    if (systemError) this.code = this.errno = systemError.code;
  }
}

class AbortError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AbortError';
    this.type = 'aborted';
  }
}

function nodeFetch(url, options) {
  return fetch(url, options).catch((err) => {
    if (err && err.name === 'AbortError') throw new AbortError(err.message || 'The user aborted a request.');
    if (err instanceof TypeError && /^fetch failed/.test(err.message)) {
      throw new FetchError(`request to ${typeof url === 'string' ? url : url && url.url ? url.url : String(url)} failed, reason: ${err.message.replace(/^fetch failed: /, '')}`, 'system');
    }
    throw err;
  });
}

nodeFetch.isRedirect = (code) => code === 301 || code === 302 || code === 303 || code === 307 || code === 308;

module.exports = nodeFetch;
module.exports.default = nodeFetch;
module.exports.Headers = Headers;
module.exports.Request = Request;
module.exports.Response = Response;
module.exports.FetchError = FetchError;
module.exports.AbortError = AbortError;
module.exports.isRedirect = nodeFetch.isRedirect;
