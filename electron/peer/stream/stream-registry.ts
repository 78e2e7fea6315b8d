import crypto from 'node:crypto';
import type { MediaType, StreamInfo } from '../../../shared/types.js';
import type { StreamSource } from './stream-source.js';

/** A source the registry can close when the stream goes. */
type ClosableSource = StreamSource & { close?(): Promise<void> | void };

interface StreamEntryInit {
  name: string;
  type: MediaType;
  source: ClosableSource;
  transferId?: string;
}

interface Entry extends StreamEntryInit {
  id: string;
  timer?: NodeJS.Timeout;
}

/** Streams open at once; opening one more closes the oldest. */
export const MAX_STREAMS = 8;
/** Progress for one stream is published at most this often (ms). */
const PROGRESS_MS = 250;

/**
 * The streams a peer serves, by unguessable id: what `/stream/ID` (web
 * host), `mactella-media://stream/ID` (Electron) and the CLI's local URL
 * read from. Bounded; a stream's source is closed when it goes.
 */
export class StreamRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly publish: (info: StreamInfo) => void,
    private readonly max = MAX_STREAMS,
    /** A stream was closed to make room for a newer one. */
    private readonly evicted: (id: string) => void = () => {},
  ) {}

  /** Register a source; returns its id and current state. */
  add(init: StreamEntryInit): StreamInfo {
    const entry: Entry = { ...init, id: crypto.randomUUID() };
    this.entries.set(entry.id, entry);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value!;
      void this.close(oldest);
      this.evicted(oldest);
    }
    return this.info(entry);
  }

  /** The source behind a stream id, if it is open. */
  source(id: string): StreamSource | undefined {
    return this.entries.get(id)?.source;
  }

  get(id: string): StreamInfo | undefined {
    const e = this.entries.get(id);
    return e && this.info(e);
  }

  /** Open streams reading from a download. */
  forTransfer(transferId: string): StreamInfo[] {
    return [...this.entries.values()].filter((e) => e.transferId === transferId).map((e) => this.info(e));
  }

  /** Verified bytes changed: publish soon (coalesced). */
  changed(id: string): void {
    const e = this.entries.get(id);
    if (!e || e.timer) return;
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (this.entries.get(id) === e) this.publish(this.info(e));
    }, PROGRESS_MS);
    e.timer.unref?.();
  }

  async close(id: string): Promise<boolean> {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    clearTimeout(e.timer);
    await Promise.resolve(e.source.close?.()).catch(() => {});
    return true;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.close(id)));
  }

  private info(e: Entry): StreamInfo {
    const verified = e.source.verifiedRanges().map((r): [number, number] => [r.start, r.end]);
    const complete = e.source.size === 0 || (verified.length === 1 && verified[0]![0] === 0 && verified[0]![1] === e.source.size);
    return { id: e.id, name: e.name, type: e.type, size: e.source.size, transferId: e.transferId, verified, complete };
  }
}
