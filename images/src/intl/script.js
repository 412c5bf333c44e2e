'use strict';
// The Intl script (dist/intl.js): evaluated by the layer the first time a reactor needs
// Intl (./lazy.js), or while its snapshot is made when its code mentions Intl. Its
// completion value is create.

const deps = require('./deps');

module.exports = function create(P, host) {
  deps.P = P;
  deps.host = host;
  return require('./index');
};
