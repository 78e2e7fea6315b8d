import { describe, expect, it } from 'vitest';
import { TokenBucket, takeAll } from '../electron/peer/token-bucket.js';

describe('TokenBucket', () => {
  it('as a budget: refuses when empty and refills with time', () => {
    let t = 0;
    const b = new TokenBucket(2, 3, () => t);
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
    t = 499;
    expect(b.tryTake()).toBe(false);
    t = 500;
    expect(b.tryTake()).toBe(true);
    t = 100_000;
    expect(b.available()).toBe(3); // never above the burst
  });

  it('as a rate: runs into debt and says how long to wait', () => {
    let t = 0;
    const b = new TokenBucket(1000, 100, () => t);
    expect(b.take(100)).toBe(0);
    expect(b.take(500)).toBe(500);
    t = 500;
    expect(b.take(0)).toBe(0);
  });

  it('rate 0 is unlimited; setRate forgives debt', () => {
    const t = 0;
    const free = new TokenBucket(0, undefined, () => t);
    expect(free.take(1e9)).toBe(0);
    expect(free.tryTake(1e9)).toBe(true);
    const b = new TokenBucket(1000, 10, () => t);
    b.take(10_000);
    b.setRate(1000);
    expect(b.take(0)).toBe(0);
  });

  it('takeAll waits for the slowest bucket', () => {
    const t = 0;
    const a = new TokenBucket(1000, 0, () => t);
    const b = new TokenBucket(100, 0, () => t);
    expect(takeAll([a, undefined, b], 100)).toBe(1000);
  });
});
