'use strict';
// What the Intl script gets from the layer when it is evaluated (./script.js): the
// layer's captured intrinsics and its host bridge.
module.exports = { P: null, host: null };
