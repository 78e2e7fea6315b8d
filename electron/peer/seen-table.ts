/**
 * A map bounded both in entries and in age: the duplicate table and the
 * reverse-path route table. Oldest entries go first (Map keeps insertion order).
 */
export class BoundedTable<V> {
  private readonly map = new Map<string, { value: V; expires: number }>();
  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expires < this.now()) {
      this.map.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, expires: this.now() + this.ttlMs });
    this.evict();
  }

  /** Set only if absent; returns true if it was added (first sighting). */
  add(key: string, value: V): boolean {
    if (this.has(key)) return false;
    this.set(key, value);
    return true;
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  /** Remove every entry whose value matches (a neighbour that left). */
  deleteWhere(pred: (v: V) => boolean): void {
    for (const [k, e] of this.map) if (pred(e.value)) this.map.delete(k);
  }

  get size(): number {
    return this.map.size;
  }

  /** Live (unexpired) values, oldest first. */
  *values(): Generator<V> {
    const t = this.now();
    for (const e of this.map.values()) if (e.expires >= t) yield e.value;
  }

  private evict(): void {
    const t = this.now();
    for (const [k, e] of this.map) {
      if (this.map.size <= this.maxEntries && e.expires >= t) break;
      this.map.delete(k);
    }
  }
}

/** Token bucket keyed by a string: rate-limits connect-backs per target and reconnects per IP. */
export class KeyedRateLimiter {
  private readonly buckets = new BoundedTable<{ tokens: number; at: number }>(10_000, 10 * 60_000);
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}
  take(key: string): boolean {
    const now = Date.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.buckets.set(key, b);
    return ok;
  }
}
