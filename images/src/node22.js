'use strict';
// Node layer of the node22 image: `module.exports = async function (event)` with
// event = {req: args, configuration, bt}. Reactors bundle their own npm dependencies.

const layer = require('./layer');

layer.install({
  image: 'node22',
  contract: 'node22',
  curated: {},
  // every built-in and curated module is created while the image snapshot is built
  preload: 'all',
});
