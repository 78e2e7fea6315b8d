import { describe, expect, it } from 'vitest';
import { byteSpansToBar, formatTime, timeRangesToBar } from '../../renderer/src/lib/player-bar.js';
import { createAppStore } from '../../renderer/src/store/store.js';
import { FakeHost } from './fake-host.js';

const ranges = (...r: [number, number][]): TimeRanges => ({ length: r.length, start: (i) => r[i]![0], end: (i) => r[i]![1] });

describe('the player panel state', () => {
  it('opens a complete file as wholly verified, a streaming one as not yet', () => {
    const store = createAppStore(new FakeHost());
    const s = store.getState;
    s().openPlayer({ name: 'a.mp4', type: 'video', url: 'u', size: 100 });
    expect(s().playerVerified).toEqual([{ start: 0, end: 100 }]);
    s().openPlayer({ name: 'b.mp4', type: 'video', url: 'v', size: 100, transferId: 't1' });
    expect(s().player?.name).toBe('b.mp4');
    expect(s().playerVerified).toEqual([]);
    s().setPlayerVerified([{ start: 0, end: 40 }]);
    expect(s().playerVerified).toEqual([{ start: 0, end: 40 }]);
    s().closePlayer();
    expect(s().player).toBeNull();
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
