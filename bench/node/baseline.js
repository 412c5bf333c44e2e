// Node.js baseline for `make bench`: the card-masking reactor (reactor.js) run by real
// node, to compare the wasm runtime against. Prints ONE JSON object on stdout; anything
// else goes to stderr. Exits non-zero if any mode's output is not the expected mask.
//
//   process_per_invocation     a fresh `node run-once.js` per invocation (spawn to exit)
//   vm_context_per_invocation  one process, a fresh vm.createContext per invocation,
//                              the reactor's Script compiled once
//   warm_function_call         the reactor required once and called in-process (the floor)
//   fib25                      recursive fib(25), median of 5, with the JIT and --jitless
//
// Flags: --process-iterations N (20), --vm-iterations N (2000), --warm-iterations N (20000).
// Percentiles use the same rank as bench/cmd/benchreport: sorted[min(n-1, floor(n*p/100))].
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');

const CARD = '4242424242424242';
const EXPECTED = '************4242';
const REACTOR = path.join(__dirname, 'reactor.js');
const RUN_ONCE = path.join(__dirname, 'run-once.js');

function fail(msg) {
  process.stderr.write(`baseline: ${msg}\n`);
  process.exit(1);
}

function parseFlags(argv) {
  const opts = { 'process-iterations': 20, 'vm-iterations': 2000, 'warm-iterations': 20000 };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
    if (!m || !(m[1] in opts)) {
      process.stderr.write(`baseline: unknown argument ${argv[i]}\nflags: ${Object.keys(opts).map((k) => `--${k} N`).join(', ')}\n`);
      process.exit(2);
    }
    const v = m[2] !== undefined ? m[2] : argv[++i];
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) {
      process.stderr.write(`baseline: --${m[1]} wants a positive integer, got ${v}\n`);
      process.exit(2);
    }
    opts[m[1]] = n;
  }
  return opts;
}

const round1 = (x) => Math.round(x * 10) / 10;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

// summary takes per-invocation durations in nanoseconds (bigint) and reports microseconds.
function summary(ns, warmup) {
  const us = ns.map((d) => Number(d) / 1000).sort((a, b) => a - b);
  const mean = us.reduce((a, b) => a + b, 0) / us.length;
  return {
    iterations: us.length,
    warmup,
    p50_us: round1(pct(us, 50)),
    p99_us: round1(pct(us, 99)),
    mean_us: round1(mean),
    min_us: round1(us[0]),
    max_us: round1(us[us.length - 1]),
  };
}

function check(mode, res) {
  const got = res && res.raw && res.raw.masked_card;
  if (got !== EXPECTED) fail(`${mode}: masked_card is ${JSON.stringify(got)}, want ${JSON.stringify(EXPECTED)}`);
}

const request = () => ({ args: { card_number: CARD }, configuration: {} });

// 1. A fresh node process per invocation, wall time from spawn to exit.
function processPerInvocation(n) {
  const warmup = 2; // page cache and the first exec's dynamic linking, not counted
  const once = () => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [RUN_ONCE], { cwd: __dirname, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const dt = process.hrtime.bigint() - t0;
    if (r.error) fail(`process_per_invocation: spawn: ${r.error.message}`);
    if (r.status !== 0) fail(`process_per_invocation: run-once.js exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
    let res;
    try {
      res = JSON.parse(r.stdout);
    } catch (e) {
      fail(`process_per_invocation: run-once.js printed ${JSON.stringify(r.stdout)}`);
    }
    check('process_per_invocation', res);
    return dt;
  };
  for (let i = 0; i < warmup; i++) once();
  const ns = [];
  for (let i = 0; i < n; i++) ns.push(once());
  return summary(ns, warmup);
}

// 2. One process, a fresh vm context per invocation (a naive sandbox). The Script is
// compiled once; each invocation creates a context, runs the CommonJS-wrapped reactor in
// it, calls the export and awaits the result. `require` is the host's, resolving from
// reactor.js, so maskdata's module instance is shared across contexts (as in
// bench/nodehttp/server.js).
async function vmContextPerInvocation(n) {
  const warmup = Math.min(200, Math.max(10, Math.floor(n / 10)));
  const source = fs.readFileSync(REACTOR, 'utf8');
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: REACTOR });
  const hostRequire = createRequire(REACTOR);
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const context = vm.createContext({ require: hostRequire, console, Buffer, setTimeout, clearTimeout, queueMicrotask });
    const module = { exports: {} };
    script.runInContext(context)(module.exports, hostRequire, module, REACTOR, __dirname);
    const res = await module.exports(request());
    const dt = process.hrtime.bigint() - t0;
    check('vm_context_per_invocation', res);
    return dt;
  };
  for (let i = 0; i < warmup; i++) await once();
  const ns = [];
  for (let i = 0; i < n; i++) ns.push(await once());
  return summary(ns, warmup);
}

// 3. The reactor required once and called in-process: the floor.
async function warmFunctionCall(n) {
  const warmup = Math.min(1000, Math.max(10, Math.floor(n / 10)));
  const reactor = require(REACTOR);
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const res = await reactor(request());
    const dt = process.hrtime.bigint() - t0;
    check('warm_function_call', res);
    return dt;
  };
  for (let i = 0; i < warmup; i++) await once();
  const ns = new Array(n);
  for (let i = 0; i < n; i++) ns[i] = await once();
  return summary(ns, warmup);
}

// 4. fib(25), median of 5 runs, in this process and in a --jitless child. The child runs
// the same source (FIB_PROGRAM) so both figures time identical code.
const FIB_PROGRAM = `
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
function fibMedianMs(runs) {
  const ms = [];
  let r;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    r = fib(25);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (r !== 75025) throw new Error('fib(25) = ' + r);
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
}
`;

function fib25() {
  const runs = 5;
  const jit = vm.runInThisContext(`(function () {${FIB_PROGRAM}; return fibMedianMs;})()`)(runs);
  const r = spawnSync(process.execPath, ['--jitless', '-e', `${FIB_PROGRAM}; process.stdout.write(String(fibMedianMs(${runs})));`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error || r.status !== 0) fail(`fib25 --jitless child failed: ${(r.error && r.error.message) || r.stderr.trim()}`);
  const jitless = Number(r.stdout);
  if (!Number.isFinite(jitless)) fail(`fib25 --jitless child printed ${JSON.stringify(r.stdout)}`);
  return { runs, median_ms: round1(jit), jitless_median_ms: round1(jitless) };
}

async function main() {
  const opts = parseFlags(process.argv.slice(2));
  const t0 = process.hrtime.bigint();
  const out = { node_version: process.version };
  out.process_per_invocation = processPerInvocation(opts['process-iterations']);
  out.vm_context_per_invocation = await vmContextPerInvocation(opts['vm-iterations']);
  out.warm_function_call = await warmFunctionCall(opts['warm-iterations']);
  out.fib25 = fib25();
  out.expected_masked_card = EXPECTED;
  out.elapsed_ms = Math.round(Number(process.hrtime.bigint() - t0) / 1e6);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => fail(String((e && e.stack) || e)));
