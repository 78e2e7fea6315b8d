import type { KnownPeer, PeerAddress, PeerSource, ProtocolVersion } from '../../shared/types.js';
import { addressKey } from './address.js';
import { readJson, writeFileAtomic } from './fs-util.js';

interface Entry {
  host: string;
  port: number;
  protocol: ProtocolVersion;
  source: PeerSource;
  lastSeen?: number;
  files?: number;
  bytes?: number;
}

const MAX_KNOWN = 1000;

/**
 * The known-peer list (host cache): bootstrap peers, peers the user added, and
 * peers DISCOVER found. Nothing else joins it. Persisted so it survives restarts;
 * RESET returns it to the bootstrap list.
 */
export class HostCache {
  private readonly entries = new Map<string, Entry>();
  private saveTimer?: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private bootstrap: PeerAddress[],
  ) {}

  async load(): Promise<void> {
    const saved = await readJson<{ peers?: Entry[] }>(this.file);
    this.resetToBootstrap();
    for (const e of saved?.peers ?? []) {
      if (typeof e?.host === 'string' && Number.isInteger(e.port) && e.port > 0 && e.port < 65536) {
        const key = addressKey(e);
        // A bootstrap peer from an earlier configuration is not one now.
        if (e.source === 'bootstrap') continue;
        if (!this.entries.has(key)) this.entries.set(key, { ...e, protocol: e.protocol ?? 'unknown' });
      }
    }
  }

  list(): Entry[] {
    return [...this.entries.values()];
  }

  get(addr: PeerAddress): Entry | undefined {
    return this.entries.get(addressKey(addr));
  }

  has(addr: PeerAddress): boolean {
    return this.entries.has(addressKey(addr));
  }

  /** Add or refresh a peer. Returns the entry and whether it was new. */
  add(
    addr: PeerAddress,
    source: PeerSource,
    info: Partial<Pick<Entry, 'protocol' | 'files' | 'bytes'>> = {},
  ): { entry: Entry; added: boolean } {
    const key = addressKey(addr);
    const old = this.entries.get(key);
    if (old) {
      Object.assign(old, stripUndefined(info), { lastSeen: Date.now() });
      if (source === 'user' && old.source === 'discovered') old.source = 'user';
      this.scheduleSave();
      return { entry: old, added: false };
    }
    if (this.entries.size >= MAX_KNOWN) this.evictOneDiscovered();
    const entry: Entry = {
      host: addr.host,
      port: addr.port,
      source,
      protocol: info.protocol ?? 'unknown',
      lastSeen: Date.now(),
      ...stripUndefined(info),
    };
    this.entries.set(key, entry);
    this.scheduleSave();
    return { entry, added: true };
  }

  setProtocol(addr: PeerAddress, protocol: ProtocolVersion): void {
    const e = this.entries.get(addressKey(addr));
    if (e && e.protocol !== protocol) {
      e.protocol = protocol;
      this.scheduleSave();
    }
  }

  remove(addr: PeerAddress): void {
    if (this.entries.delete(addressKey(addr))) this.scheduleSave();
  }

  reset(bootstrap?: PeerAddress[]): void {
    if (bootstrap) this.bootstrap = bootstrap;
    this.resetToBootstrap();
    this.scheduleSave();
  }

  toKnownPeers(isConnected: (a: PeerAddress) => boolean): KnownPeer[] {
    return this.list().map((e) => ({ ...e, connected: isConnected(e) }));
  }

  async flush(): Promise<void> {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    await writeFileAtomic(this.file, JSON.stringify({ peers: this.list() }, null, 1));
  }

  private resetToBootstrap(): void {
    this.entries.clear();
    for (const b of this.bootstrap)
      this.entries.set(addressKey(b), { host: b.host, port: b.port, source: 'bootstrap', protocol: 'unknown' });
  }

  private evictOneDiscovered(): void {
    let oldest: [string, Entry] | undefined;
    for (const kv of this.entries)
      if (kv[1].source === 'discovered' && (!oldest || (kv[1].lastSeen ?? 0) < (oldest[1].lastSeen ?? 0))) oldest = kv;
    if (oldest) this.entries.delete(oldest[0]);
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void this.flush().catch(() => {});
    }, 200);
    this.saveTimer.unref();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
