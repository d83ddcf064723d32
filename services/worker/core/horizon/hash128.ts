/**
 * MurmurHash3 x86_128 (Austin Appleby, public domain; seed 0) of a key's UTF-8 bytes, in
 * 32-bit integer arithmetic only: the dedup horizon keeps this hash instead of the key.
 * Why this one: about ten times faster than node:crypto for keys of ~30 bytes (measured in
 * test/bench/horizon.ts), and for two keys of one length that differ only within their
 * last 16-byte block (the usual `acct/r-000123` neighbours) it cannot collide at all: that
 * block's words enter the state through bijections, and the finalisation is a bijection
 * of the 128-bit state. Other pairs collide like random 128-bit values (SMHasher).
 * Not a defence against producers who choose colliding ids on purpose: producers are
 * trusted anyway (they may set `cost_micros`, SPEC 3).
 */

const C1 = 0x239b961b;
const C2 = 0xab0e9789 | 0;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93 | 0;
const utf8 = new TextEncoder();
let scratch = new Uint8Array(1024);

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Writes the key's 128-bit hash as four signed 32-bit words (h1..h4) into `out`. */
export function hashKey(key: string, out: Int32Array): void {
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(key.length * 3);
  const bytes = scratch;
  let length = key.length;
  for (let i = 0; i < length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) {
      length = utf8.encodeInto(key, bytes).written;
      break;
    }
    bytes[i] = c;
  }
  hashBytes(bytes, length, out);
}

/** MurmurHash3 x86_128 of bytes[0, length), seed 0. */
export function hashBytes(b: Uint8Array, length: number, out: Int32Array): void {
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let h4 = 0;
  const blocks = length & ~15;
  for (let i = 0; i < blocks; i += 16) {
    let k1 = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    let k2 = b[i + 4]! | (b[i + 5]! << 8) | (b[i + 6]! << 16) | (b[i + 7]! << 24);
    let k3 = b[i + 8]! | (b[i + 9]! << 8) | (b[i + 10]! << 16) | (b[i + 11]! << 24);
    let k4 = b[i + 12]! | (b[i + 13]! << 8) | (b[i + 14]! << 16) | (b[i + 15]! << 24);
    k1 = Math.imul(k1, C1);
    k1 = Math.imul((k1 << 15) | (k1 >>> 17), C2);
    h1 ^= k1;
    h1 = (h1 << 19) | (h1 >>> 13);
    h1 = (Math.imul(h1 + h2, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(k2, C2);
    k2 = Math.imul((k2 << 16) | (k2 >>> 16), C3);
    h2 ^= k2;
    h2 = (h2 << 17) | (h2 >>> 15);
    h2 = (Math.imul(h2 + h3, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(k3, C3);
    k3 = Math.imul((k3 << 17) | (k3 >>> 15), C4);
    h3 ^= k3;
    h3 = (h3 << 15) | (h3 >>> 17);
    h3 = (Math.imul(h3 + h4, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(k4, C4);
    k4 = Math.imul((k4 << 18) | (k4 >>> 14), C1);
    h4 ^= k4;
    h4 = (h4 << 13) | (h4 >>> 19);
    h4 = (Math.imul(h4 + h1, 5) + 0x32ac3b17) | 0;
  }
  const rest = length & 15;
  if (rest > 12) {
    let k4 = 0;
    for (let j = rest - 1; j >= 12; j--) k4 = (k4 << 8) | b[blocks + j]!;
    k4 = Math.imul(k4, C4);
    h4 ^= Math.imul((k4 << 18) | (k4 >>> 14), C1);
  }
  if (rest > 8) {
    let k3 = 0;
    for (let j = Math.min(rest, 12) - 1; j >= 8; j--) k3 = (k3 << 8) | b[blocks + j]!;
    k3 = Math.imul(k3, C3);
    h3 ^= Math.imul((k3 << 17) | (k3 >>> 15), C4);
  }
  if (rest > 4) {
    let k2 = 0;
    for (let j = Math.min(rest, 8) - 1; j >= 4; j--) k2 = (k2 << 8) | b[blocks + j]!;
    k2 = Math.imul(k2, C2);
    h2 ^= Math.imul((k2 << 16) | (k2 >>> 16), C3);
  }
  if (rest > 0) {
    let k1 = 0;
    for (let j = Math.min(rest, 4) - 1; j >= 0; j--) k1 = (k1 << 8) | b[blocks + j]!;
    k1 = Math.imul(k1, C1);
    h1 ^= Math.imul((k1 << 15) | (k1 >>> 17), C2);
  }
  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  out[0] = h1;
  out[1] = h2 + h1;
  out[2] = h3 + h1;
  out[3] = h4 + h1;
}
