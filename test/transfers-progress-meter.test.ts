import { describe, expect, it } from 'vitest';
import { etaSeconds, SpeedMeter } from '../electron/peer/transfers/progress.js';

describe('SpeedMeter', () => {
  it('reports the rate over its window, so an initial burst does not inflate it', () => {
    const m = new SpeedMeter(4000);
    m.reset(0, 0);
    // A 2 MB burst in the first 250 ms, then a steady 1 MB/s.
    m.sample(2_000_000, 250);
    expect(m.speed).toBe(0);
    let bytes = 2_000_000;
    for (let t = 500; t <= 10_000; t += 250) {
      bytes += 250_000;
      m.sample(bytes, t);
    }
    expect(m.speed).toBeGreaterThan(950_000);
    expect(m.speed).toBeLessThan(1_050_000);
  });

  it('falls to zero when nothing moves for a whole window', () => {
    const m = new SpeedMeter(2000);
    m.reset(0, 0);
    for (let t = 250; t <= 2000; t += 250) m.sample(t * 1000, t);
    expect(m.speed).toBeGreaterThan(0);
    for (let t = 2250; t <= 5000; t += 250) m.sample(2_000_000, t);
    expect(m.speed).toBe(0);
  });

  it('ETA is unknown without a speed', () => {
    expect(etaSeconds(10, 100, 0)).toBeNull();
    expect(etaSeconds(10, 100, 9)).toBe(10);
  });
});
