const BIAS = 2 ** 30;
const INT32_MAX = 0x7fffffff;

/**
 * Signed stream sequences (+charged, -refused, 0 unknown), each as a 32-bit offset from
 * the table's base (its first non-zero sequence) while every one is within about 2^30 of
 * it; a table given one that is not switches to float64 words. A day of one stream spans
 * 0.86e9 sequences at 10k messages/s, so the switch is for outliers (a backlog), and it
 * costs only that table 4 more bytes an entry.
 */
export class Seqs {
  constructor(
    public words: Int32Array | Float64Array,
    public base = 0,
  ) {}

  get(i: number): number {
    const w = this.words;
    const v = w[i]!;
    if (v === 0 || w instanceof Float64Array) return v;
    const m = (v > 0 ? v : -v) - 1 - BIAS + this.base;
    return v > 0 ? m : -m;
  }

  set(i: number, seq: number): void {
    let w = this.words;
    if (w instanceof Int32Array) {
      if (seq === 0) {
        w[i] = 0;
        return;
      }
      const m = seq > 0 ? seq : -seq;
      if (this.base === 0 && Number.isSafeInteger(m)) this.base = m;
      const off = m - this.base + BIAS + 1;
      if (Number.isSafeInteger(m) && off >= 1 && off <= INT32_MAX) {
        w[i] = seq > 0 ? off : -off;
        return;
      }
      w = this.widen();
    }
    w[i] = seq;
  }

  private widen(): Float64Array {
    const wide = new Float64Array(this.words.length);
    for (let i = 0; i < wide.length; i++) wide[i] = this.get(i);
    this.words = wide;
    return wide;
  }
}
