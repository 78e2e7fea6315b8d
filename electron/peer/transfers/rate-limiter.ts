/**
 * A token bucket that may run into debt: `take(n)` always succeeds and says
 * how long the caller must wait before moving more bytes. Several transfers
 * sharing one bucket therefore share its rate. A rate of 0 means unlimited.
 */
export class TokenBucket {
  private tokens = 0;
  private last = Date.now();

  constructor(private bytesPerSecond = 0) {
    this.tokens = this.burst;
  }

  get rate(): number {
    return this.bytesPerSecond;
  }

  /** Change the rate at once; debt from the old rate is forgiven. */
  setRate(bytesPerSecond: number): void {
    this.bytesPerSecond = Math.max(0, bytesPerSecond);
    this.last = Date.now();
    this.tokens = Math.min(this.burst, Math.max(0, this.tokens));
  }

  /** A small burst (50 ms of traffic, at least 16 KiB) keeps the rate smooth over short windows. */
  private get burst(): number {
    return Math.max(16 * 1024, this.bytesPerSecond / 20);
  }

  /** Account for `n` bytes; returns the milliseconds to wait (0 = go on). */
  take(n: number, now = Date.now()): number {
    if (this.bytesPerSecond <= 0) return 0;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.bytesPerSecond) * 1000);
  }
}

/** Take `n` bytes from every bucket; the wait is the longest of them. */
export function takeAll(buckets: (TokenBucket | undefined)[], n: number): number {
  let wait = 0;
  const now = Date.now();
  for (const b of buckets) if (b) wait = Math.max(wait, b.take(n, now));
  return wait;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
