import { once } from 'node:events';

/**
 * Writes lines in ~64 KB blocks and waits for `drain` when the reader is slower: one
 * write per line costs more than building the line, and ignoring backpressure would
 * buffer a 10M-line stream in memory.
 */
export class LineWriter {
  private block = '';
  lines = 0;

  constructor(
    private readonly output: NodeJS.WritableStream,
    private readonly blockChars = 1 << 16,
  ) {}

  async write(line: string): Promise<void> {
    this.block += `${line}\n`;
    this.lines++;
    if (this.block.length >= this.blockChars) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.block === '') return;
    const ready = this.output.write(this.block);
    this.block = '';
    if (!ready) await once(this.output, 'drain');
  }
}
