import { describe, expect, it } from 'vitest';
import { parseRangeHeader } from '../electron/peer/stream/byte-range.js';

const partial = (start: number, end: number) => ({ kind: 'partial', range: { start, end } });

describe('Range header parsing (RFC 9110 §14)', () => {
  it('reads a closed, an open and a suffix range as half-open byte intervals', () => {
    expect(parseRangeHeader('bytes=0-99', 1000)).toEqual(partial(0, 100));
    expect(parseRangeHeader('bytes=500-', 1000)).toEqual(partial(500, 1000));
    expect(parseRangeHeader('bytes=-100', 1000)).toEqual(partial(900, 1000));
    expect(parseRangeHeader('Bytes = 10-19', 1000)).toEqual(partial(10, 20));
  });

  it('clamps a last position past the end, and a suffix longer than the file', () => {
    expect(parseRangeHeader('bytes=900-5000', 1000)).toEqual(partial(900, 1000));
    expect(parseRangeHeader('bytes=-5000', 1000)).toEqual(partial(0, 1000));
    expect(parseRangeHeader('bytes=0-99999999999999999999999', 1000)).toEqual(partial(0, 1000));
  });

  it('is unsatisfiable (416) when no range selects a byte', () => {
    expect(parseRangeHeader('bytes=1000-', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRangeHeader('bytes=1000-2000', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRangeHeader('bytes=-0', 1000)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRangeHeader('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRangeHeader('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRangeHeader('bytes=99999999999999999999-', 1000)).toEqual({ kind: 'unsatisfiable' });
  });

  it('serves the first satisfiable range of several, 416 when none is', () => {
    expect(parseRangeHeader('bytes=0-9, 20-29', 1000)).toEqual(partial(0, 10));
    expect(parseRangeHeader('bytes=2000-2100,,5-9', 1000)).toEqual(partial(5, 10));
    expect(parseRangeHeader('bytes=2000-2100, 3000-', 1000)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores an absent, malformed or non-byte header (the whole file, 200)', () => {
    for (const h of [
      undefined,
      null,
      '',
      'bytes',
      'bytes=',
      'bytes=-',
      'bytes=a-b',
      'bytes=5-1',
      'bytes=0-1,x',
      'items=0-1',
      'bytes=1.5-2',
      'bytes=0-1;2',
    ]) {
      expect(parseRangeHeader(h, 1000), String(h)).toEqual({ kind: 'full' });
    }
  });
});
