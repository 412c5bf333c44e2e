'use strict';
// `net` and `tls` without sockets: reactors reach the network only through the host's
// fetch (fetch, http, https), so connecting and listening throw; the address helpers work.

function notAvailable(what) {
  return function () {
    const err = new Error(`${what} is not available in reactors`);
    err.code = 'ERR_NOT_AVAILABLE_IN_REACTORS';
    throw err;
  };
}

const V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

function isIPv4(s) {
  return V4.test(String(s));
}

// isIPv6 accepts the RFC 4291 text forms (with an optional zone and embedded IPv4).
function isIPv6(s) {
  s = String(s);
  const zone = s.indexOf('%');
  if (zone !== -1) {
    if (zone === s.length - 1) return false;
    s = s.slice(0, zone);
  }
  let groups = 8;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const parts = s.split('::');
  if (parts.length > 2) return false;
  const hex = /^[0-9a-fA-F]{1,4}$/;
  const head = parts[0] === '' ? [] : parts[0].split(':');
  const tail = parts.length === 2 ? (parts[1] === '' ? [] : parts[1].split(':')) : [];
  for (const g of head.concat(tail)) if (!hex.test(g)) return false;
  const n = head.length + tail.length;
  return parts.length === 2 ? n < groups : n === groups;
}

function isIP(s) {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}

const net = {
  isIP,
  isIPv4,
  isIPv6,
  connect: notAvailable('net.connect'),
  createConnection: notAvailable('net.createConnection'),
  createServer: notAvailable('net.createServer'),
  Socket: notAvailable('net.Socket'),
  Server: notAvailable('net.Server'),
  Stream: notAvailable('net.Stream'),
  BlockList: notAvailable('net.BlockList'),
  SocketAddress: notAvailable('net.SocketAddress'),
  getDefaultAutoSelectFamily: () => true,
  setDefaultAutoSelectFamily() {},
  getDefaultAutoSelectFamilyAttemptTimeout: () => 250,
  setDefaultAutoSelectFamilyAttemptTimeout() {},
};

const tls = {
  connect: notAvailable('tls.connect'),
  createServer: notAvailable('tls.createServer'),
  createSecureContext: notAvailable('tls.createSecureContext'),
  checkServerIdentity: notAvailable('tls.checkServerIdentity'),
  TLSSocket: notAvailable('tls.TLSSocket'),
  Server: notAvailable('tls.Server'),
  SecureContext: notAvailable('tls.SecureContext'),
  getCiphers: () => [],
  rootCertificates: Object.freeze([]),
  DEFAULT_ECDH_CURVE: 'auto',
  DEFAULT_MIN_VERSION: 'TLSv1.2',
  DEFAULT_MAX_VERSION: 'TLSv1.3',
  DEFAULT_CIPHERS: '',
  CLIENT_RENEG_LIMIT: 3,
  CLIENT_RENEG_WINDOW: 600,
};

module.exports = { net, tls };
