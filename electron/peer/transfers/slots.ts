/**
 * Upload slots with a bounded FIFO queue. A waiter learns its queue position
 * whenever it changes, so a queued downloader can be told where it stands.
 */
export class SlotQueue {
  private active = 0;
  private readonly waiting: { grant: () => void; onPosition: (p: number) => void; cancelled: boolean }[] = [];
  constructor(
    private slots: number,
    private readonly maxQueue = 1000,
  ) {}

  setSlots(n: number): void {
    this.slots = Math.max(1, n);
    this.pump();
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
  acquire(onPosition: (position: number) => void, signal?: AbortSignal): Promise<() => void> {
    if (this.active < this.slots && this.waiting.length === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new Error('upload queue is full'));
    return new Promise((resolve, reject) => {
      const w = {
        cancelled: false,
        onPosition,
        grant: () => resolve(this.releaser()),
      };
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

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      this.pump();
    };
  }

  private pump(): void {
    let granted = false;
    while (this.active < this.slots && this.waiting.length) {
      const w = this.waiting.shift()!;
      this.active++;
      w.grant();
      granted = true;
    }
    if (granted) this.notifyPositions(0);
  }

  private notifyPositions(from: number): void {
    for (let i = from; i < this.waiting.length; i++) this.waiting[i]!.onPosition(i + 1);
  }
}
