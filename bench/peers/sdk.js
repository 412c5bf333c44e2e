'use strict';
// @basis-theory/basis-theory-reactor-formulas-sdk-js for the peers: the very classes the
// node-bt image gives reactors, so a thrown BadRequestError means the same thing here.
module.exports = require('../../images/src/bt/sdk.js').sdk;
