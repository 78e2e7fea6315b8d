import { describe, expect, it } from 'vitest';
import type { StreamInfo } from '../../shared/types.js';
import { byteSpansToBar, formatTime, timeRangesToBar } from '../../renderer/src/lib/player-bar.js';
import { createAppStore } from '../../renderer/src/store/store.js';
import { FakeHost, flush } from './fake-host.js';

const ranges = (...r: [number, number][]): TimeRanges => ({ length: r.length, start: (i) => r[i]![0], end: (i) => r[i]![1] });
const stream = (over: Partial<StreamInfo> = {}): StreamInfo => ({
  id: 's1',
  name: 'movie.mp4',
  type: 'video',
  size: 100,
  transferId: 't1',
  verified: [[0, 25]],
  complete: false,
  ...over,
});

describe('the player panel state', () => {
  it('plays a shared file from its media URL, wholly verified', () => {
    const store = createAppStore(new FakeHost());
    store.getState().playFile({ name: 'a.mp4', type: 'video', size: 100, sha256: 'a'.repeat(64), mtimeMs: 0 });
    expect(store.getState().player).toMatchObject({ name: 'a.mp4', url: 'media://a.mp4' });
    expect(store.getState().playerVerified).toEqual([{ start: 0, end: 100 }]);
    expect(store.getState().playerComplete).toBe(true);
  });

  it('plays a search hit through stream:open, follows its progress and closes the stream with the panel', async () => {
    const host = new FakeHost({
      'stream:open': () => stream(),
      'stream:close': () => ({ closed: true }),
      'transfer:list': () => [],
    });
    const store = createAppStore(host);
    const s = store.getState;
    await s().play({ name: 'movie.mp4', sources: [{ host: '127.0.0.1', port: 1 }] });
    expect(s().player).toMatchObject({ name: 'movie.mp4', url: 'stream:s1', streamId: 's1', transferId: 't1' });
    expect(s().playerVerified).toEqual([{ start: 0, end: 25 }]);
    host.emit('stream:progress', stream({ verified: [[0, 60]] }));
    expect(s().playerVerified).toEqual([{ start: 0, end: 60 }]);
    host.emit('stream:progress', stream({ id: 'other', verified: [[0, 99]] }));
    expect(s().playerVerified).toEqual([{ start: 0, end: 60 }]);
    host.emit('stream:progress', stream({ verified: [[0, 100]], complete: true }));
    expect(s().playerComplete).toBe(true);
    s().closePlayer();
    await flush();
    expect(s().player).toBeNull();
    expect(host.calls.filter((c) => c.op === 'stream:close')).toEqual([{ op: 'stream:close', args: { id: 's1' } }]);
  });

  it('offers the system player only where the host has one (the desktop app)', async () => {
    expect(createAppStore(new FakeHost()).getState().openInSystemPlayer).toBeUndefined();
    const desktop = new FakeHost();
    const opened: string[] = [];
    desktop.openFile = async (id) => void opened.push(id);
    await createAppStore(desktop).getState().openInSystemPlayer!('t1');
    expect(opened).toEqual(['t1']);
  });

  it('says plainly when a file cannot be played', async () => {
    const host = new FakeHost({
      'stream:open': () => {
        throw new Error('only video, music and pictures can be played');
      },
    });
    const store = createAppStore(host);
    await store.getState().play({ name: 'notes.txt', sources: [{ host: '127.0.0.1', port: 1 }] });
    expect(store.getState().player).toBeNull();
    expect(store.getState().notices.at(-1)?.text).toMatch(/notes\.txt/);
  });
});

describe('the seek bar geometry', () => {
  it('maps verified bytes and buffered seconds to fractions of the bar', () => {
    expect(
      byteSpansToBar(
        [
          { start: 0, end: 25 },
          { start: 50, end: 100 },
        ],
        100,
      ),
    ).toEqual([
      { from: 0, to: 0.25 },
      { from: 0.5, to: 1 },
    ]);
    expect(byteSpansToBar([{ start: 0, end: 1 }], 0)).toEqual([]);
    expect(timeRangesToBar(ranges([0, 5], [8, 12]), 10)).toEqual([
      { from: 0, to: 0.5 },
      { from: 0.8, to: 1 },
    ]);
    expect(timeRangesToBar(ranges([0, 5]), NaN)).toEqual([]);
  });

  it('formats times as m:ss and h:mm:ss', () => {
    expect(formatTime(0)).toBe('0:00');
    expect(formatTime(75.4)).toBe('1:15');
    expect(formatTime(3725)).toBe('1:02:05');
    expect(formatTime(NaN)).toBe('0:00');
  });
});
