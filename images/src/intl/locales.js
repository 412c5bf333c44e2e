'use strict';
// The CLDR data of the shipped locales (images/README.md, "Intl"). en is evaluated with
// the layer; the others (locales.json) are JSON texts the host serves (genlayer writes
// them to dist/intl.json), added the first time a formatter asks for them.

require('@formatjs/intl-pluralrules/locale-data/en.js');
require('@formatjs/intl-numberformat/locale-data/en.js');
require('@formatjs/intl-datetimeformat/locale-data/en.js');
require('@formatjs/intl-relativetimeformat/locale-data/en.js');
require('@formatjs/intl-listformat/locale-data/en.js');
require('@formatjs/intl-displaynames/locale-data/en.js');
// plural rules are code (and small): every shipped language's, now
require('@formatjs/intl-pluralrules/locale-data/de.js');
require('@formatjs/intl-pluralrules/locale-data/fr.js');
require('@formatjs/intl-pluralrules/locale-data/es.js');
require('@formatjs/intl-pluralrules/locale-data/it.js');
require('@formatjs/intl-pluralrules/locale-data/pt.js');
require('@formatjs/intl-pluralrules/locale-data/nl.js');
require('@formatjs/intl-pluralrules/locale-data/ja.js');

module.exports = require('./locales.json');
