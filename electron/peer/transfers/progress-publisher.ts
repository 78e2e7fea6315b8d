import type { TransferInfo } from '../../../shared/types.js';
import { etaSeconds, type SpeedMeter } from './progress.js';

/** The events a transfer's state goes out on. */
export type TransferEvent = 'transfer:progress' | 'transfer:done' | 'transfer:failed';

/** What the publisher reads from a running transfer. */
interface Published {
  info: TransferInfo;
  meter: SpeedMeter;
}

const PROGRESS_INTERVAL_MS = 250;

/**
 * Progress for the UI: every 250 ms, each running or queued transfer's speed
 * and ETA are sampled, and a `transfer:progress` event goes out only if what
 * it says changed since the last one. State changes (pause, done, failed) go
 * out at once through `now`.
 */
export class ProgressPublisher {
  private readonly lastSent = new Map<string, string>();
  private readonly ticker: NodeJS.Timeout;
  private readonly tickWaiters = new Set<() => void>();

  constructor(
    private readonly transfers: () => Iterable<Published>,
    private readonly emit: (event: TransferEvent, t: TransferInfo) => void,
    intervalMs = PROGRESS_INTERVAL_MS,
  ) {
    this.ticker = setInterval(() => this.publish(), intervalMs);
    this.ticker.unref();
  }

  /** Sample and publish what changed (the ticker calls this). */
  publish(): void {
    for (const t of this.transfers()) {
      if (t.info.state !== 'running' && t.info.state !== 'queued') continue;
      t.info.speed = Math.round(t.meter.sample(t.info.bytes));
      t.info.eta = etaSeconds(t.info.bytes, t.info.total, t.info.speed);
      const key = `${t.info.state}:${t.info.bytes}:${t.info.total}:${t.info.queuePosition ?? ''}`;
      if (this.lastSent.get(t.info.id) === key) continue;
      this.lastSent.set(t.info.id, key);
      this.emit('transfer:progress', { ...t.info });
    }
    const waiters = [...this.tickWaiters];
    this.tickWaiters.clear();
    for (const w of waiters) w();
  }

  /** Publish a state change now (the next tick publishes progress again even if unchanged). */
  now(info: TransferInfo, event: TransferEvent): void {
    this.lastSent.delete(info.id);
    this.emit(event, { ...info });
  }

  /** Resolves after `n` more publishing passes (tests wait on this instead of sleeping). */
  async ticks(n = 1): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise<void>((r) => this.tickWaiters.add(r));
  }

  close(): void {
    clearInterval(this.ticker);
    for (const w of this.tickWaiters) w();
    this.tickWaiters.clear();
  }
}
