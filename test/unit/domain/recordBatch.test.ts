import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitJsonArray, splitNdjson } from '../../../shared/domain/index.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');
const texts = (parts: Uint8Array[] | null): string[] | null => parts && parts.map((p) => Buffer.from(p).toString('utf8'));

describe('cutting a posted batch into its records, byte for byte (issue 31)', () => {
  it('cuts a JSON array at its top-level commas, whatever the strings and nesting hold', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 20 }), fc.constantFrom('', ' ', '\n', '\r\n\t'), (values, space) => {
        const elements = values.map((v) => JSON.stringify(v));
        expect(texts(splitJsonArray(bytes(`${space}[${space}${elements.join(`${space},${space}`)}${space}]${space}`)))).toEqual(elements);
      }),
    );
  });

  it("keeps the producer's digits: numbers beyond 2^53 and trailing zeros reach the bus as sent", () => {
    const record = '{"id":"a","cost_micros":9007199254740993,"quantity":1.50,"meta":{"s":"],\\"}"}}';
    expect(texts(splitJsonArray(bytes(`[${record}, ${record}]`)))).toEqual([record, record]);
  });

  it('cuts bytes that are not UTF-8 out as they are, for validation to refuse record by record', () => {
    const body = Buffer.concat([bytes('[{"id":"'), Buffer.from([0xff, 0xfe]), bytes('"},{"id":"b"}]')]);
    const parts = splitJsonArray(body)!;
    expect(parts).toHaveLength(2);
    expect(Buffer.from(parts[0]!)).toEqual(Buffer.concat([bytes('{"id":"'), Buffer.from([0xff, 0xfe]), bytes('"}')]));
  });

  it('answers null for a body that is no array whose brackets close', () => {
    for (const body of ['{"id":"a"}', '[', '[{"id":"a"]', '["unterminated]', '[1]]', '[1] [2]', '', '][']) expect(splitJsonArray(bytes(body)), body).toBeNull();
    expect(texts(splitJsonArray(bytes('[]')))).toEqual([]);
    expect(texts(splitJsonArray(bytes('[1,]')))).toEqual(['1', '']);
    expect(texts(splitJsonArray(bytes('[{"a":}]')))).toEqual(['{"a":}']);
  });

  it('cuts NDJSON at newlines (\\n or \\r\\n), blank lines left out', () => {
    expect(texts(splitNdjson(bytes('{"a":1}\r\n\n  \n{"b":"x\\ny"}\n{"c":3}')))).toEqual(['{"a":1}', '{"b":"x\\ny"}', '{"c":3}']);
    expect(splitNdjson(bytes('\n\n'))).toEqual([]);
  });
});
