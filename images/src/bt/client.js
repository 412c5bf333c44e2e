'use strict';
// The Basis Theory client reactors get as req.bt (node-bt) / event.bt (node22): the real
// @basis-theory/basis-theory-js SDK, configured with a placeholder key and the base URL
// http://bt.internal. Its requests go out through the layer's fetch (axios's fetch
// adapter); the host recognises host bt.internal, swaps in a short-lived key bound to
// the invocation and serves the request with the real API (docs/host-abi.md), so no key
// ever enters the sandbox.

const { BasisTheory } = require('@basis-theory/basis-theory-js');
const { fetch, Request, Response } = require('../web/fetch');

// BASE_URL and API_KEY are the fixed contract with the host's fetch handler.
const BASE_URL = 'http://bt.internal';
const API_KEY = 'key_reactord_sandbox';

// The SDK forces https for every host but localhost; the host contract says http.
const FORCED = 'https://bt.internal/';
const WANTED = 'http://bt.internal/';

// createClient returns an initialized SDK instance. init() is async only for Elements
// (not used here), so its whole body runs synchronously: the instance is ready when
// createClient returns, while the image snapshot is being built.
function createClient() {
  const bt = new BasisTheory();
  let failure = null;
  // disableTelemetry: the SDK would otherwise POST its error logs to Datadog.
  bt.init(API_KEY, { apiBaseUrl: BASE_URL, disableTelemetry: true }).then(undefined, (err) => {
    failure = err;
  });
  if (bt._initStatus !== 'done') throw new Error(`basis-theory-js did not initialize synchronously (status ${bt._initStatus})${failure ? `: ${failure.message}` : ''}`);
  for (const key of Object.keys(bt)) {
    const client = bt[key] && bt[key].client;
    if (!client || !client.defaults) continue;
    const base = client.defaults.baseURL;
    if (typeof base === 'string' && base.startsWith(FORCED)) client.defaults.baseURL = WANTED + base.slice(FORCED.length);
    // Always the layer's fetch, even if reactor code replaces globalThis.fetch.
    client.defaults.adapter = 'fetch';
    client.defaults.env = { ...client.defaults.env, fetch, Request, Response };
    // create and tokenize post to '/' and list with a query gets '/?...', i.e.
    // /tokens/ and /tokens/?size=2 (axios always joins with a slash): send them
    // without the trailing slash, as the API's routes are written (/tokens, /tokenize).
    client.interceptors.request.use((config) => {
      const url = config.url;
      if (typeof url === 'string' && (url === '/' || url.startsWith('/?'))) {
        config.url = String(config.baseURL).replace(/\/+$/, '') + url.slice(1);
      }
      return config;
    });
  }
  return bt;
}

module.exports = { createClient, BASE_URL, API_KEY };
