'use strict';
// Math.random as xoshiro128**, reseeded by the host on the first invocation after an
// instance is restored from its snapshot (which would otherwise replay the same sequence
// in every instance).

// The state lives in four closure variables (not a typed array) and each call runs two
// inlined rounds: this is called in hot loops, and the interpreter pays for every access.
let a = 0;
let b = 0;
let c = 0;
let d = 0;

function next() {
  const x = (b * 5) | 0;
  const result = (((x << 7) | (x >>> 25)) * 9) >>> 0;
  const t = b << 9;
  c ^= a;
  d ^= b;
  b ^= c;
  a ^= d;
  c ^= t;
  d = (d << 11) | (d >>> 21);
  return result;
}

// random returns a double in [0, 1) with 53 random bits (xoshiro128**, two outputs).
function random() {
  let x = (b * 5) | 0;
  const hi = ((((x << 7) | (x >>> 25)) * 9) >>> 0) >>> 5;
  let t = b << 9;
  c ^= a;
  d ^= b;
  b ^= c;
  a ^= d;
  c ^= t;
  d = (d << 11) | (d >>> 21);
  x = (b * 5) | 0;
  const lo = ((((x << 7) | (x >>> 25)) * 9) >>> 0) >>> 6;
  t = b << 9;
  c ^= a;
  d ^= b;
  b ^= c;
  a ^= d;
  c ^= t;
  d = (d << 11) | (d >>> 21);
  return (hi * 67108864 + lo) / 9007199254740992;
}

// seed sets the state from up to 32 bytes (the halves are xor-ed together).
function seedBytes(bytes) {
  const w = [0, 0, 0, 0];
  for (let i = 0; i < bytes.length && i < 32; i++) w[(i >> 2) & 3] ^= bytes[i] << ((i & 3) * 8);
  seedWords(w);
}

// seedWords sets the state from four 32-bit integers.
function seedWords(words) {
  a = words[0] | 0;
  b = words[1] | 0;
  c = words[2] | 0;
  d = words[3] | 0;
  if ((a | b | c | d) === 0) a = 0x9e3779b9 | 0;
  // discard a few outputs so that similar seeds diverge
  for (let i = 0; i < 8; i++) next();
}

module.exports = { random, seedBytes, seedWords };
