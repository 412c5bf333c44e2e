'use strict';
// The Node.js version both images report (process.version, process.versions.node).
module.exports = { NODE_VERSION: '22.12.0' };
