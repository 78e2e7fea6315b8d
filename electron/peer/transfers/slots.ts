/** A waiter for a slot. */
interface Waiter {
  key: string;
  grant: () => void;
  onPosition: (p: number) => void;
}

/**
 * Upload slots with a bounded FIFO queue, and at most `perKey()` slots per
 * key (the downloader's IP), so one host cannot take them all. A waiter
 * learns its queue position whenever it changes, so a queued downloader can
 * be told where it stands; a waiter blocked by its key's cap lets those
 * behind it go first.
 */
export class SlotQueue {
  private active = 0;
  private readonly byKey = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  constructor(
    private slots: number,
    private readonly maxQueue = 1000,
    private readonly perKey: () => number = () => Infinity,
  ) {}

  setSlots(n: number): void {
    this.slots = Math.max(1, n);
    this.pump();
  }

  get capacity(): number {
    return this.slots;
  }
  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Wait for a slot. Resolves with a release function. Rejects at once if the
   * queue is full. `signal` abandons the wait (the downloader went away).
   */
  acquire(onPosition: (position: number) => void, signal?: AbortSignal, key = ''): Promise<() => void> {
    if (this.canGrant(key) && !this.waiting.some((w) => this.canGrant(w.key))) return Promise.resolve(this.take(key));
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new Error('upload queue is full'));
    if (signal?.aborted) return Promise.reject(new Error('aborted while queued'));
    return new Promise((resolve, reject) => {
      const w: Waiter = { key, onPosition, grant: () => resolve(this.take(key)) };
      this.waiting.push(w);
      onPosition(this.waiting.length);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            this.notifyPositions(i);
            reject(new Error('aborted while queued'));
          }
        },
        { once: true },
      );
    });
  }

  private canGrant(key: string): boolean {
    return this.active < this.slots && (this.byKey.get(key) ?? 0) < this.perKey();
  }

  /** Take a slot for `key`; the function returned gives it back (once). */
  private take(key: string): () => void {
    this.active++;
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      const n = (this.byKey.get(key) ?? 1) - 1;
      if (n > 0) this.byKey.set(key, n);
      else this.byKey.delete(key);
      this.pump();
    };
  }

  private pump(): void {
    let first = -1;
    for (let i = 0; i < this.waiting.length && this.active < this.slots;) {
      const w = this.waiting[i]!;
      if (!this.canGrant(w.key)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      if (first < 0) first = i;
      w.grant();
    }
    if (first >= 0) this.notifyPositions(first);
  }

  private notifyPositions(from: number): void {
    for (let i = from; i < this.waiting.length; i++) this.waiting[i]!.onPosition(i + 1);
  }
}
