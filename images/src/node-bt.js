'use strict';
// Node layer of the node-bt image: `module.exports = async function (req)` with
// req = {args, configuration, bt}, and curated packages reactors require without
// declaring them (maskdata, lodash, uuid, dayjs, node-fetch).

const layer = require('./layer');

layer.install({
  image: 'node-bt',
  contract: 'node-bt',
  curated: {
    maskdata: () => require('maskdata'),
    lodash: () => require('lodash'),
    uuid: () => require('uuid'),
    dayjs: () => require('dayjs'),
    'node-fetch': () => require('./bt/node-fetch'),
  },
  // every built-in and curated module is created while the image snapshot is built
  preload: 'all',
});
