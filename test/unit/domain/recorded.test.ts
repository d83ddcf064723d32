import { describe, expect, it } from 'vitest';
import { formatRecordedLine, parseRecordedLine } from '../../../shared/domain/index.js';

describe('the recorded stream format (one parser for replay and quote)', () => {
  it('reads subject, payload and string headers as JSON.parse does (more fields, repeated keys, spaces, escapes)', () => {
    expect(parseRecordedLine('{"subject":"usage.a","payload":"x","headers":{"Nats-Msg-Id":"r1","n":1},"seq":4}')).toEqual({
      subject: 'usage.a',
      payload: 'x',
      headers: { 'Nats-Msg-Id': 'r1' },
    });
    expect(parseRecordedLine('{"subject":"usage.a","payload":"{\\"id\\":\\"x\\"}"}')).toEqual({ subject: 'usage.a', payload: '{"id":"x"}', headers: {} });
    expect(parseRecordedLine('{"subject":"usage.a","payload":"1","payload":"2"}')).toEqual({ subject: 'usage.a', payload: '2', headers: {} });
    expect(parseRecordedLine('{"subject":"usage.a","payload": "1" ,"headers":[]}')).toEqual({ subject: 'usage.a', payload: '1', headers: {} });
    expect(parseRecordedLine('{"subject":"us\\u0061ge.a","payload":"1"}')).toEqual({ subject: 'usage.a', payload: '1', headers: {} });
  });

  it.each([
    ['blank', ''],
    ['not JSON', 'nope'],
    ['a control character in a string', '{"subject":"usage\ta","payload":"1"}'],
    ['an array', '[]'],
    ['a string', '"x"'],
    ['no payload', '{"subject":"usage.a"}'],
    ['a payload that is not a string', '{"subject":"usage.a","payload":1}'],
    ['no subject', '{"payload":"1"}'],
    ['a null subject', '{"subject":null,"payload":"1"}'],
    ['a subject that is not a string', '{"subject":1,"payload":"x"}'],
    ['an empty subject', '{"subject":"","payload":"x"}'],
  ])('a line that is %s is no message', (_why, line) => {
    expect(parseRecordedLine(line)).toBeNull();
  });

  it('writes the three fields of the format, then the extra ones; empty headers are left out', () => {
    expect(formatRecordedLine('usage.a', '{"id":"r"}', {}, { seq: 1 })).toBe('{"subject":"usage.a","payload":"{\\"id\\":\\"r\\"}","seq":1}');
    const line = formatRecordedLine('usage.a', 'p', { 'Nats-Msg-Id': 'r' });
    expect(parseRecordedLine(line)).toEqual({ subject: 'usage.a', payload: 'p', headers: { 'Nats-Msg-Id': 'r' } });
  });
});
