import type { KnownPeer, PeerAddress, PeerSource, ProtocolVersion } from '../../shared/types.js';
import { addressKey, formatAddress } from './address.js';
import { readJson, writeFileAtomic } from './fs-util.js';
import { isPeerId, type PeerSpec } from './identity/peer-id.js';

interface Entry {
  host: string;
  port: number;
  /** The pinned peer ID: given by the user (ID@HOST:PORT) or learned on first v2 contact. */
  id?: string;
  /** Why the last link here was refused (another ID than the pinned one), until the pin changes. */
  refused?: string;
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
 *
 * Each entry pins a peer ID (Syncthing-style): the ID the user gave, or the
 * one the peer proved on first contact. A v2 link to the address must then
 * prove that ID; see {@link HostCache.pinnedId} and {@link HostCache.pin}.
 */
export class HostCache {
  private readonly entries = new Map<string, Entry>();
  private saveTimer?: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private bootstrap: PeerSpec[],
  ) {}

  async load(): Promise<void> {
    const saved = await readJson<{ peers?: Entry[] }>(this.file);
    this.resetToBootstrap();
    for (const e of saved?.peers ?? []) {
      if (typeof e?.host === 'string' && Number.isInteger(e.port) && e.port > 0 && e.port < 65536) {
        const key = addressKey(e);
        const id = typeof e.id === 'string' && isPeerId(e.id) ? e.id : undefined;
        const refused = id && typeof e.refused === 'string' ? e.refused.slice(0, 512) : undefined;
        // A bootstrap peer from an earlier configuration is not one now; one still configured keeps the ID it proved.
        if (e.source === 'bootstrap') {
          const b = this.entries.get(key);
          if (b && !b.id && id) Object.assign(b, { id, refused });
          continue;
        }
        if (!this.entries.has(key)) this.entries.set(key, { ...e, id, refused, protocol: e.protocol ?? 'unknown' });
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

  /**
   * Add or refresh a peer. Returns the entry and whether it was new. An ID
   * the user gives (`ID@HOST:PORT`) replaces any pin at that address: it is
   * the user's word; an ID from anywhere else (a pong, the LAN, the DHT)
   * never pins: the first ID the peer proves does.
   */
  add(
    addr: PeerSpec,
    source: PeerSource,
    info: Partial<Pick<Entry, 'protocol' | 'files' | 'bytes'>> = {},
  ): { entry: Entry; added: boolean } {
    const key = addressKey(addr);
    const old = this.entries.get(key);
    if (old) {
      Object.assign(old, stripUndefined(info), { lastSeen: Date.now() });
      if (source === 'user' && old.source === 'discovered') old.source = 'user';
      if (source === 'user' && addr.id && addr.id !== old.id) Object.assign(old, { id: addr.id, refused: undefined });
      this.scheduleSave();
      return { entry: old, added: false };
    }
    if (this.entries.size >= MAX_KNOWN) this.evictOneDiscovered();
    const entry: Entry = {
      host: addr.host,
      port: addr.port,
      ...(addr.id && source === 'user' ? { id: addr.id } : {}),
      source,
      protocol: info.protocol ?? 'unknown',
      lastSeen: Date.now(),
      ...stripUndefined(info),
    };
    this.entries.set(key, entry);
    this.scheduleSave();
    return { entry, added: true };
  }

  /** The ID a v2 link to this address must prove, if one is pinned. */
  pinnedId(addr: PeerAddress): string | undefined {
    return this.entries.get(addressKey(addr))?.id;
  }

  /**
   * Record the ID a peer proved at `addr`: pins it on first contact.
   * `conflict` if another ID is pinned there (the link must be refused; the
   * pin stays, see {@link refuse}). Addresses not in the list are not added.
   */
  pin(addr: PeerAddress, id: string): 'pinned' | 'same' | 'conflict' | 'unknown' {
    const e = this.entries.get(addressKey(addr));
    if (!e) return 'unknown';
    if (e.id === id) {
      if (e.refused) {
        e.refused = undefined;
        this.scheduleSave();
      }
      return 'same';
    }
    if (e.id) return 'conflict';
    e.id = id;
    this.scheduleSave();
    return 'pinned';
  }

  /** Remember why a link to a pinned address was refused, to show the user; cleared when the right peer is back. */
  refuse(addr: PeerAddress, presented: string): string | undefined {
    const e = this.entries.get(addressKey(addr));
    if (!e?.id) return undefined;
    e.refused = `expected peer ${e.id} at ${formatAddress(addr)}, but it presented ${presented}`;
    this.scheduleSave();
    return e.refused;
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

  reset(bootstrap?: PeerSpec[]): void {
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
    // An ID a bootstrap peer proved stays pinned through RESET: forgetting it would let anyone at that address be pinned next.
    const learned = new Map([...this.entries].filter(([, e]) => e.source === 'bootstrap' && e.id).map(([k, e]) => [k, e.id!]));
    // What we learned of a peer's protocol stays too: a connected bootstrap peer is not "unknown" after RESET.
    const protocols = new Map([...this.entries].map(([k, e]) => [k, e.protocol]));
    this.entries.clear();
    for (const b of this.bootstrap) {
      const key = addressKey(b);
      const id = b.id ?? learned.get(key);
      const protocol = protocols.get(key) ?? 'unknown';
      this.entries.set(key, { host: b.host, port: b.port, ...(id ? { id } : {}), source: 'bootstrap', protocol });
    }
  }

  private evictOneDiscovered(): void {
    let oldest: [string, Entry] | undefined;
    for (const kv of this.entries)
      if ((kv[1].source === 'discovered' || kv[1].source === 'online') && (!oldest || (kv[1].lastSeen ?? 0) < (oldest[1].lastSeen ?? 0)))
        oldest = kv;
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
