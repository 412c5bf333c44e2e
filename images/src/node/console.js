'use strict';
// console: every method formats like Node (util.format) and sends one line to the host
// (op `console`, levels log/info/warn/error/debug). The Console class is also exported,
// writing to the streams it is given.

const host = require('../internal/host');
const { formatWithOptionsInternal, inspect } = require('./inspect');

const kGroupIndent = Symbol('kGroupIndent');
const kCounts = Symbol('kCounts');
const kTimers = Symbol('kTimers');
const kWrite = Symbol('kWrite');

function hostWrite(level, text) {
  host.callJSON('console', [level, text]);
}

function formatArgs(args) {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return formatWithOptionsInternal(undefined, args);
}

function formatTime(ms) {
  let hours = 0;
  let minutes = 0;
  let seconds = 0;
  if (ms >= 1000) {
    if (ms >= 60000) {
      if (ms >= 3600000) {
        hours = Math.floor(ms / 3600000);
        ms %= 3600000;
      }
      minutes = Math.floor(ms / 60000);
      ms %= 60000;
    }
    seconds = ms / 1000;
  }
  if (hours !== 0 || minutes !== 0) {
    const pad = (n) => String(Math.floor(n)).padStart(2, '0');
    return `${hours !== 0 ? `${hours}:${pad(minutes)}` : minutes}:${pad(seconds)}.${String(Math.round((seconds % 1) * 1000)).padStart(3, '0')} (${hours !== 0 ? 'h:mm' : ''}m:ss.mmm)`;
  }
  if (seconds !== 0) return `${seconds.toFixed(3)}s`;
  return `${Number(ms.toFixed(3))}ms`;
}

// renderTable draws console.table's box, as Node does.
function renderTable(head, columns) {
  const rows = columns.length ? columns[0].length : 0;
  const width = (s) => [...s].length;
  const widths = head.map((h, i) => Math.max(width(h), ...columns[i].map(width)) + 2);
  const center = (s, w) => {
    const left = Math.floor((w - width(s)) / 2);
    return ' '.repeat(left) + s + ' '.repeat(w - width(s) - left);
  };
  const line = (l, m, r) => l + widths.map((w) => '─'.repeat(w)).join(m) + r;
  const out = [line('┌', '┬', '┐'), `│${head.map((h, i) => center(h, widths[i])).join('│')}│`, line('├', '┼', '┤')];
  for (let r = 0; r < rows; r++) out.push(`│${columns.map((c, i) => center(c[r], widths[i])).join('│')}│`);
  out.push(line('└', '┴', '┘'));
  return out.join('\n');
}

function emit(con, level, text) {
  const indent = con[kGroupIndent];
  if (indent !== '') text = indent + (text.includes('\n') ? text.replace(/\n/g, `\n${indent}`) : text);
  con[kWrite](level, text);
}

function timeLog(con, name, label, data) {
  const start = con[kTimers].get(label);
  if (start === undefined) {
    emit(con, 'warn', `(node:1) Warning: No such label '${label}' for console.${name}()`);
    return false;
  }
  const elapsed = formatTime(performance.now() - start);
  emit(con, 'info', data.length ? `${label}: ${elapsed} ${formatArgs(data)}` : `${label}: ${elapsed}`);
  return true;
}

class Console {
  constructor(options, stderr) {
    if (options && typeof options.write === 'function') options = { stdout: options, stderr };
    const out = options && options.stdout;
    const err = (options && options.stderr) || out;
    if (out && typeof out.write === 'function') {
      this[kWrite] = (level, text) => {
        const stream = level === 'warn' || level === 'error' ? err : out;
        stream.write(`${text}\n`);
      };
    } else {
      this[kWrite] = hostWrite;
    }
    this[kGroupIndent] = '';
    this[kCounts] = new Map();
    this[kTimers] = new Map();
    // methods are bound: console.log can be passed around (arr.forEach(console.log))
    for (const name of Object.getOwnPropertyNames(Console.prototype)) {
      if (name !== 'constructor' && typeof this[name] === 'function') this[name] = this[name].bind(this);
    }
  }
  log(...args) {
    emit(this, 'log', formatArgs(args));
  }
  info(...args) {
    emit(this, 'info', formatArgs(args));
  }
  debug(...args) {
    emit(this, 'debug', formatArgs(args));
  }
  warn(...args) {
    emit(this, 'warn', formatArgs(args));
  }
  error(...args) {
    emit(this, 'error', formatArgs(args));
  }
  trace(...args) {
    const err = { name: 'Trace', message: formatArgs(args) };
    Error.captureStackTrace(err, this.trace);
    emit(this, 'error', String(err.stack));
  }
  dir(object, options) {
    emit(this, 'log', inspect(object, { customInspect: false, ...options }));
  }
  dirxml(...args) {
    this.log(...args);
  }
  assert(expression, ...args) {
    if (!expression) {
      args[0] = `Assertion failed${args.length === 0 ? '' : `: ${args[0]}`}`;
      this.warn(...args);
    }
  }
  count(label = 'default') {
    label = `${label}`;
    const counts = this[kCounts];
    const count = (counts.get(label) || 0) + 1;
    counts.set(label, count);
    emit(this, 'info', `${label}: ${count}`);
  }
  countReset(label = 'default') {
    const counts = this[kCounts];
    if (!counts.has(`${label}`)) {
      emit(this, 'warn', `(node:1) Warning: Count for '${label}' does not exist`);
      return;
    }
    counts.delete(`${label}`);
  }
  group(...data) {
    if (data.length > 0) this.log(...data);
    this[kGroupIndent] += '  ';
  }
  groupCollapsed(...data) {
    this.group(...data);
  }
  groupEnd() {
    this[kGroupIndent] = this[kGroupIndent].slice(0, -2);
  }
  time(label = 'default') {
    label = `${label}`;
    if (this[kTimers].has(label)) {
      emit(this, 'warn', `(node:1) Warning: Label '${label}' already exists for console.time()`);
      return;
    }
    this[kTimers].set(label, performance.now());
  }
  timeEnd(label = 'default') {
    label = `${label}`;
    if (timeLog(this, 'timeEnd', label, [])) this[kTimers].delete(label);
  }
  timeLog(label = 'default', ...data) {
    timeLog(this, 'timeLog', `${label}`, data);
  }
  table(tabularData, properties) {
    if (tabularData === null || typeof tabularData !== 'object') return this.log(tabularData);
    const fmt = (v) => inspect(v, { depth: 1, maxArrayLength: 3, breakLength: Infinity, compact: true });
    const indexKey = '(index)';
    const valuesKey = 'Values';
    const isMap = tabularData instanceof Map;
    const isSet = tabularData instanceof Set;
    const entries = isMap
      ? [...tabularData].map(([k, v], i) => [String(i), v, fmt(k)])
      : isSet
        ? [...tabularData].map((v, i) => [String(i), v])
        : Object.keys(tabularData).map((k) => [k, tabularData[k]]);
    const keys = [];
    const hasPrimitives = [];
    const rows = entries.map(([index, value]) => {
      const row = { index, cells: new Map() };
      if (value !== null && typeof value === 'object') {
        for (const k of properties || Object.keys(value)) {
          if (!keys.includes(k)) keys.push(k);
          if (Object.prototype.hasOwnProperty.call(value, k)) row.cells.set(k, fmt(value[k]));
        }
      } else {
        row.value = fmt(value);
        hasPrimitives.push(true);
      }
      return row;
    });
    const head = [indexKey];
    const columns = [rows.map((r) => r.index)];
    if (isMap) {
      head.push('Key');
      columns.push(entries.map((e) => e[2]));
    }
    for (const k of keys) {
      head.push(k);
      columns.push(rows.map((r) => (r.cells.has(k) ? r.cells.get(k) : '')));
    }
    if (hasPrimitives.length > 0) {
      head.push(valuesKey);
      columns.push(rows.map((r) => (r.value !== undefined ? r.value : '')));
    }
    emit(this, 'log', renderTable(head, columns));
  }
  profile() {}
  profileEnd() {}
  timeStamp() {}
}

const console = new Console();
console.Console = Console;

module.exports = console;
