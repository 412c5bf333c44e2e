'use strict';
// Entry of the peers' bundle: functions/mask-card/index.js, unchanged, and the host glue.
// benchreport bundles it with esbuild (maskdata and lodash from this directory's
// node_modules, the versions the node-bt image ships) for workerd and for plain node.
module.exports = { fn: require('../../functions/mask-card/index.js'), react: require('./host.js').react };
