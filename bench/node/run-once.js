// One invocation of reactor.js in a fresh node process: the unit that baseline.js times
// for process_per_invocation. Prints the reactor's JSON response on stdout and exits.
'use strict';
const path = require('node:path');

const reactor = require(path.join(__dirname, 'reactor.js'));

reactor({ args: { card_number: '4242424242424242' }, configuration: {} }).then(
  (res) => {
    process.stdout.write(JSON.stringify(res) + '\n');
  },
  (err) => {
    process.stderr.write(String((err && err.stack) || err) + '\n');
    process.exitCode = 1;
  },
);
