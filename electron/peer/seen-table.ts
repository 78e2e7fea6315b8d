import { TokenBucket } from './token-bucket.js';

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

/** A token bucket per key: rate-limits connect-backs per target and per requester. */
export class KeyedRateLimiter {
  private readonly buckets: BoundedTable<TokenBucket>;
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    maxKeys = 10_000,
  ) {
    this.buckets = new BoundedTable(maxKeys, 10 * 60_000, now);
  }

  /** Take one token for `key`; false if its bucket is empty. */
  take(key: string): boolean {
    const b = this.buckets.get(key) ?? new TokenBucket(this.perSecond, this.burst, this.now);
    const ok = b.tryTake(1);
    this.buckets.set(key, b);
    return ok;
  }
}
