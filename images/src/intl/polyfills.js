'use strict';
// FormatJS's polyfills and the CLDR data of the locales the images ship (images/README.md,
// "Intl"), installed on the layer's private Intl object (./private.js). Order matters:
// each polyfill uses the ones before it.

require('@formatjs/intl-getcanonicallocales/polyfill-force.js');
require('@formatjs/intl-locale/polyfill-force.js');
require('@formatjs/intl-supportedvaluesof/polyfill-force.js');
require('@formatjs/intl-pluralrules/polyfill-force.js');
require('@formatjs/intl-numberformat/polyfill-force.js');
require('@formatjs/intl-datetimeformat/polyfill-force.js');
require('@formatjs/intl-relativetimeformat/polyfill-force.js');
require('@formatjs/intl-listformat/polyfill-force.js');
require('@formatjs/intl-displaynames/polyfill-force.js');
require('@formatjs/intl-segmenter/polyfill-force.js');

// the names of every IANA zone; their transitions come from the host on first use
require('./private').Intl.DateTimeFormat.__addTZData(require('reactord:intl-tz'));

// en's data, and the loaders of the other locales
module.exports = require('./locales.js');
