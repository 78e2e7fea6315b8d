/** Limits on transfer connections, against downloaders that hold resources without using them. */
export interface UploadLimits {
  /** An upload whose downloader takes no data for this long is cut off. */
  uploadStallMs: number;
  /** Upload slots one IP may hold at once (default: half the slots, at least 1). */
  slotsPerIp?: number;
  /** A connection holding no slot is closed once it is this old. */
  connectionLifetimeMs: number;
  /** Requests that move no data (zero-length gets, piece lists) allowed per connection. */
  metaRequestBudget: number;
  /** Connections holding no slot (idle or queued), in total and per IP. */
  maxSlotlessConnections: number;
  maxSlotlessPerIp: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  uploadStallMs: 30_000,
  connectionLifetimeMs: 10 * 60_000,
  metaRequestBudget: 64,
  maxSlotlessConnections: 256,
  maxSlotlessPerIp: 64,
};

/**
 * Counts transfer connections that hold no upload slot, in total and per IP,
 * and refuses more than the caps allow: idle connections cannot fill the
 * listener and lock honest peers out.
 */
export class SlotlessCounter {
  private total = 0;
  private readonly byIp = new Map<string, number>();

  constructor(private readonly limits: Pick<UploadLimits, 'maxSlotlessConnections' | 'maxSlotlessPerIp'>) {}

  /** Count a connection from `ip`; false (and nothing counted) when a cap is reached. */
  tryAdd(ip: string): boolean {
    const n = this.byIp.get(ip) ?? 0;
    if (this.total >= this.limits.maxSlotlessConnections || n >= this.limits.maxSlotlessPerIp) return false;
    this.total++;
    this.byIp.set(ip, n + 1);
    return true;
  }

  remove(ip: string): void {
    const n = (this.byIp.get(ip) ?? 0) - 1;
    if (n < 0) return;
    this.total--;
    if (n > 0) this.byIp.set(ip, n);
    else this.byIp.delete(ip);
  }
}
