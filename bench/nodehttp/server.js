// Baseline for the service benchmark: a node HTTP server that runs the card-masking
// reactor in a fresh vm.createContext per request (a naive sandbox), answering like
// POST /reactors/{id}/react. Prints "listening PORT" when ready.
'use strict';
const http = require('node:http');
const vm = require('node:vm');
const fs = require('node:fs');
const path = require('node:path');

const reactorFile = process.argv[2];
const code = fs.readFileSync(reactorFile, 'utf8');
const script = new vm.Script(`(function (exports, require, module) {${code}\n})`, { filename: 'reactor.js' });
const requireFrom = require('node:module').createRequire(path.resolve(process.argv[3] || reactorFile));

async function invoke(args) {
  const context = vm.createContext({ console, setTimeout, clearTimeout, Buffer });
  const module = { exports: {} };
  script.runInContext(context)(module.exports, requireFrom, module);
  const result = await module.exports({ args, configuration: {} });
  return { tokens: null, raw: result.raw };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const out = JSON.stringify(await invoke(body.args));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(out);
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ title: 'Reactor Runtime Error', status: 500, detail: String(e && e.message) }));
    }
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
