import { StringDecoder } from 'node:string_decoder';

/**
 * The lines of a byte or text stream, a chunk's worth at a time (what `runReplay` wants:
 * a batch is published in one go). Lines end at "\n"; a "\r" before it is dropped, a
 * last line without a newline is kept, and a trailing newline adds no empty line, as
 * readline does.
 */
export async function* lineBatches(input: AsyncIterable<Buffer | string>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of input) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    const lines = text.split('\n');
    carry = lines.pop()!;
    if (lines.length > 0) yield lines.map(dropCr);
  }
  carry += decoder.end();
  if (carry !== '') yield [dropCr(carry)];
}

const dropCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);
