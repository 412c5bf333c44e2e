// The ceiling: a plain node HTTP server calling the card-masking reactor in-process, with
// no isolation and no authentication. Loads the bundle benchreport built from
// function.js (the same code workerd runs) and prints "listening PORT" when ready.
'use strict';
const http = require('node:http');

const peer = require(require('node:path').resolve(process.argv[2]));

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    const [status, body] = await peer.react(peer.fn, Buffer.concat(chunks).toString('utf8'));
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
