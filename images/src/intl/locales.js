'use strict';
// The CLDR data of the shipped locales (images/README.md, "Intl"). en is evaluated with
// the layer (it is the default: the first locale added to each constructor); the others
// are JSON texts (see genlayer's localeDataJSON) added the first time a formatter asks
// for them.

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

module.exports = {
  'en-GB': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/en-GB.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/en-GB.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/en-GB.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/en-GB.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/en-GB.js').default],
  ],
  'de': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/de.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/de.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/de.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/de.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/de.js').default],
  ],
  'fr': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/fr.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/fr.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/fr.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/fr.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/fr.js').default],
  ],
  'es': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/es.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/es.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/es.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/es.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/es.js').default],
  ],
  'it': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/it.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/it.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/it.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/it.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/it.js').default],
  ],
  'pt': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/pt.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/pt.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/pt.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/pt.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/pt.js').default],
  ],
  'nl': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/nl.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/nl.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/nl.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/nl.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/nl.js').default],
  ],
  'ja': [
    ['NumberFormat', () => require('@formatjs/intl-numberformat/locale-data/ja.js').default],
    ['DateTimeFormat', () => require('@formatjs/intl-datetimeformat/locale-data/ja.js').default],
    ['RelativeTimeFormat', () => require('@formatjs/intl-relativetimeformat/locale-data/ja.js').default],
    ['ListFormat', () => require('@formatjs/intl-listformat/locale-data/ja.js').default],
    ['DisplayNames', () => require('@formatjs/intl-displaynames/locale-data/ja.js').default],
  ],
};
