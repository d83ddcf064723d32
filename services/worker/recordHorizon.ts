/**
 * The records a shard has charged or refused inside the dedup horizon (SPEC 9), by
 * `recordKey(account, id)`, each with the JetStream sequence of the message that carried
 * it: the same key from the same message again is a redelivery (NATS, a retried job, a
 * re-added one), charged nothing and not counted; the same key from another message is a
 * duplicate. A refused record (`amount_out_of_range`) keeps its sequence negated, so a
 * redelivery of it is refused again rather than charged. Sequence 0 means unknown (a log
 * entry written before sequences were kept): any repeat then counts as a duplicate.
 *
 * Keys expire in the order they were added, batch by batch, as the horizon moves on.
 */
export class RecordHorizon {
  private readonly seqs = new Map<string, number>();
  private readonly batches: { at: number; n: number }[] = [];
  private first = 0;

  get size(): number {
    return this.seqs.size;
  }

  /** The signed stream sequence a key was seen with, or undefined when it is not inside the horizon. */
  get(key: string): number | undefined {
    return this.seqs.get(key);
  }

  /** Adds one applied batch's keys (charged: +seq, refused: -seq), seen at `at`. Keys already present keep their place. */
  add(at: number, keys: Iterable<readonly [string, number]>): void {
    let n = 0;
    for (const [key, seq] of keys) {
      if (this.seqs.has(key)) continue;
      this.seqs.set(key, seq);
      n++;
    }
    if (n > 0) this.batches.push({ at, n });
  }

  /** Forgets the batches added before `before`; returns how many keys went. */
  expire(before: number): number {
    let removed = 0;
    while (this.first < this.batches.length && this.batches[this.first]!.at < before) {
      let n = this.batches[this.first++]!.n;
      for (const key of this.seqs.keys()) {
        if (n-- === 0) break;
        this.seqs.delete(key);
        removed++;
      }
    }
    if (this.first > 1024 && this.first * 2 > this.batches.length) {
      this.batches.splice(0, this.first);
      this.first = 0;
    }
    return removed;
  }
}
