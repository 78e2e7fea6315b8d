import type { Stats } from '../../shared/types.js';

/** Counters for messages in/out by type, drops by reason, and bytes. Shown by STATS and the UI. */
export class StatsCounter {
  private readonly messagesIn = new Map<string, number>();
  private readonly messagesOut = new Map<string, number>();
  private readonly drops = new Map<string, number>();
  duplicatesDropped = 0;
  bytesUp = 0;
  bytesDown = 0;
  connectBacks = 0;

  in(type: string): void {
    this.messagesIn.set(type, (this.messagesIn.get(type) ?? 0) + 1);
  }
  out(type: string, n = 1): void {
    this.messagesOut.set(type, (this.messagesOut.get(type) ?? 0) + n);
  }
  drop(reason: string): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + 1);
  }
  duplicate(): void {
    this.duplicatesDropped++;
    this.drop('duplicate');
  }
  snapshot(extra: { neighbours: number; knownPeers: number }): Stats {
    return {
      messagesIn: Object.fromEntries(this.messagesIn),
      messagesOut: Object.fromEntries(this.messagesOut),
      duplicatesDropped: this.duplicatesDropped,
      drops: Object.fromEntries(this.drops),
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      connectBacks: this.connectBacks,
      ...extra,
    };
  }
}
