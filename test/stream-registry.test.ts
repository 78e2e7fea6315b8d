import { describe, expect, it } from 'vitest';
import type { StreamInfo } from '../shared/types.js';
import { PieceStreamSource } from '../electron/peer/stream/piece-stream-source.js';
import { StreamRegistry } from '../electron/peer/stream/stream-registry.js';
import { waitFor } from './helpers/harness.js';

const source = (closed: string[], name: string) =>
  Object.assign(new PieceStreamSource({ size: 300, pieceSize: 100, mime: 'video/mp4', readAt: async (s, e) => Buffer.alloc(e - s) }), {
    close: async () => void closed.push(name),
  });

describe('the open streams', () => {
  it('is bounded: the oldest stream is closed (and said so) to make room', async () => {
    const closed: string[] = [];
    const evicted: string[] = [];
    const reg = new StreamRegistry(
      () => {},
      2,
      (id) => evicted.push(id),
    );
    const a = reg.add({ name: 'a.mp4', type: 'video', source: source(closed, 'a') });
    reg.add({ name: 'b.mp4', type: 'video', source: source(closed, 'b') });
    reg.add({ name: 'c.mp4', type: 'video', source: source(closed, 'c') });
    expect(evicted).toEqual([a.id]);
    expect(reg.source(a.id)).toBeUndefined();
    await waitFor('the evicted source to close', () => closed.includes('a'));
    expect(closed).toEqual(['a']);
  });

  it('publishes progress coalesced, with verified ranges and completeness', async () => {
    const seen: StreamInfo[] = [];
    const reg = new StreamRegistry((i) => seen.push(i));
    const src = source([], 'x');
    const info = reg.add({ name: 'x.mp4', type: 'video', source: src, transferId: 't1' });
    expect(info).toMatchObject({ verified: [], complete: false, transferId: 't1', size: 300 });
    src.markVerified(0);
    reg.changed(info.id);
    src.markVerified(1);
    reg.changed(info.id);
    await waitFor('one progress event', () => seen.length === 1);
    expect(seen[0]!.verified).toEqual([[0, 200]]);
    src.markVerified(2);
    reg.changed(info.id);
    await waitFor('the complete event', () => seen.length === 2);
    expect(seen[1]).toMatchObject({ verified: [[0, 300]], complete: true });
    expect(await reg.close(info.id)).toBe(true);
    expect(await reg.close(info.id)).toBe(false);
  });
});
