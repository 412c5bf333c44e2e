'use strict';
// node22's event.logger, as Basis Theory's node22 runtime hands it to reactors: info,
// warn, error and debug format their arguments like console (util.format) and go where
// console output goes, at their level (op `console`).

const host = require('../internal/host');
const { formatWithOptionsInternal } = require('./inspect');

function createLogger() {
  const logger = {};
  for (const level of ['info', 'warn', 'error', 'debug']) {
    logger[level] = {
      [level](...args) {
        const text = args.length === 1 && typeof args[0] === 'string' ? args[0] : formatWithOptionsInternal(undefined, args);
        host.callJSON('console', [level, text]);
      },
    }[level];
  }
  return Object.freeze(logger);
}

module.exports = { createLogger };
