'use strict';
// The Intl object FormatJS's polyfills install themselves on and look each other up
// in. genlayer makes it the `Intl` every @formatjs file sees (instead of the global),
// so reactor code replacing or deleting globalThis.Intl or its members cannot break
// the other constructors or the toLocale* methods: as in Node, the global is only a
// view.
exports.Intl = {};
