/**
 * The one token bucket of the peer. Two ways to use it:
 * - `tryTake(n)`: a budget (connects, messages, requests). Refuses when empty.
 * - `take(n)`: a rate (bytes). Always accounts, may run into debt, and returns
 *   how long the caller must wait; several users of one bucket share its rate.
 * A rate of 0 means unlimited. The clock is injectable for tests.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param perSecond tokens added per second (0 = unlimited)
   * @param burst the most tokens held; by default 50 ms of the rate, at least 16 KiB (suits byte rates)
   */
  constructor(
    private perSecond = 0,
    private readonly fixedBurst?: number,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now();
    this.tokens = this.burst;
  }

  get rate(): number {
    return this.perSecond;
  }

  get burst(): number {
    return this.fixedBurst ?? Math.max(16 * 1024, this.perSecond / 20);
  }

  /** Tokens available now (after refilling). */
  available(t = this.now()): number {
    this.refill(t);
    return this.tokens;
  }

  /** Change the rate at once; debt from the old rate is forgiven. */
  setRate(perSecond: number): void {
    this.perSecond = Math.max(0, perSecond);
    this.last = this.now();
    this.tokens = Math.min(this.burst, Math.max(0, this.tokens));
  }

  /** Fill the bucket to its burst (e.g. after a ban is served). */
  reset(): void {
    this.last = this.now();
    this.tokens = this.burst;
  }

  /** Take `n` tokens if there are that many; false (and nothing taken) otherwise. */
  tryTake(n = 1, t = this.now()): boolean {
    if (this.perSecond <= 0 && this.fixedBurst === undefined) return true;
    this.refill(t);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Account for `n` (bytes); returns the milliseconds to wait (0 = go on). */
  take(n: number, t = this.now()): number {
    if (this.perSecond <= 0) return 0;
    this.refill(t);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.perSecond) * 1000);
  }

  private refill(t: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, t - this.last) / 1000) * this.perSecond);
    this.last = t;
  }
}

/** Take `n` from every bucket; the wait is the longest of them. */
export function takeAll(buckets: (TokenBucket | undefined)[], n: number): number {
  let wait = 0;
  for (const b of buckets) if (b) wait = Math.max(wait, b.take(n));
  return wait;
}
