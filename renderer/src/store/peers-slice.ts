import type { DoctorReport, KnownPeer, NeighbourInfo, PeerAddress, PeersSnapshot, RemoteListing, Stats } from '../../../shared/types.js';
import { parsePeerAddress } from '../lib/address.js';
import { humanError } from '../lib/errors.js';
import { formatAddress } from '../lib/format.js';
import type { SliceFactory } from './types.js';

/** A remote peer's listing being browsed (the seed's LISTR). */
export interface RemoteBrowse {
  address: PeerAddress;
  loading: boolean;
  listing?: RemoteListing;
  error?: string;
}

export interface PeersSlice {
  /** Our own peer ID (null until the first peer list arrives). */
  selfId: string | null;
  known: KnownPeer[];
  neighbours: NeighbourInfo[];
  stats: Stats | null;
  /** While true the UI shows that discovery replies are still arriving. */
  discovering: boolean;
  remote: RemoteBrowse | null;
  /** The network doctor's last report (null until checked), and whether a check is running. */
  doctor: DoctorReport | null;
  checkingNetwork: boolean;
  /** Run the network doctor. */
  checkNetwork(): Promise<void>;
  refreshPeers(): Promise<void>;
  refreshStats(): Promise<void>;
  /** Add a peer typed as `host:port`; resolves to an error sentence, or null when added. */
  addPeer(text: string): Promise<string | null>;
  discover(ttl: number): Promise<void>;
  resetPeers(): Promise<void>;
  /** Forget a known peer and its pinned ID (e.g. after a refusal naming another ID). */
  removePeer(address: PeerAddress): Promise<void>;
  browsePeer(address: PeerAddress): Promise<void>;
  closeRemote(): void;
  applyPeers(p: PeersSnapshot): void;
  applyPeerFound(p: KnownPeer): void;
  applyPeerLost(p: KnownPeer): void;
  applyStats(s: Stats): void;
}

/** How long the "discovering" state lasts after a DISCOVER is sent. */
const DISCOVER_WINDOW_MS = 4000;

const key = (a: PeerAddress) => `${a.host.toLowerCase()}:${a.port}`;

function upsert(list: KnownPeer[], p: KnownPeer): KnownPeer[] {
  const i = list.findIndex((x) => key(x) === key(p));
  if (i < 0) return [...list, p];
  const next = [...list];
  next[i] = { ...list[i], ...p };
  return next;
}

export const createPeersSlice: SliceFactory<PeersSlice> = (host) => (set, get) => {
  let discoverTimer: ReturnType<typeof setTimeout> | undefined;
  return {
    selfId: null,
    known: [],
    neighbours: [],
    stats: null,
    discovering: false,
    remote: null,
    doctor: null,
    checkingNetwork: false,
    async checkNetwork() {
      set({ checkingNetwork: true });
      try {
        set({ doctor: await host.api.invoke('network:doctor', {}) });
      } catch (err) {
        get().notify('error', humanError(err, 'check the network'));
      } finally {
        set({ checkingNetwork: false });
      }
    },
    async refreshPeers() {
      try {
        get().applyPeers(await host.api.invoke('peers:list', {}));
      } catch (err) {
        get().notify('error', humanError(err, 'list the peers'));
      }
    },
    async refreshStats() {
      try {
        get().applyStats(await host.api.invoke('stats:get', {}));
      } catch {
        // Stats are informative; the next `stats` event brings them.
      }
    },
    async addPeer(text) {
      const parsed = parsePeerAddress(text);
      if (!parsed.ok) return parsed.error;
      try {
        get().applyPeerFound(await host.api.invoke('peers:add', parsed.address));
        return null;
      } catch (err) {
        return humanError(err, `add ${formatAddress(parsed.address)}`);
      }
    },
    async discover(ttl) {
      set({ discovering: true });
      try {
        await host.api.invoke('discover:start', { ttl });
        clearTimeout(discoverTimer);
        discoverTimer = setTimeout(() => {
          set({ discovering: false });
          void get().refreshPeers();
        }, DISCOVER_WINDOW_MS);
      } catch (err) {
        set({ discovering: false });
        get().notify('error', humanError(err, 'discover peers'));
      }
    },
    async resetPeers() {
      try {
        const known = await host.api.invoke('peers:reset', {});
        set({ known });
        get().notify('info', known.length === 0 ? 'The peer list is empty again.' : `Back to the ${known.length} bootstrap peer(s).`);
      } catch (err) {
        get().notify('error', humanError(err, 'reset the peer list'));
      }
    },
    async removePeer(address) {
      const addr = formatAddress(address);
      try {
        get().applyPeers(await host.api.invoke('peers:remove', { host: address.host, port: address.port }));
        get().notify('info', `Removed ${addr}; the next peer there is pinned anew.`);
      } catch (err) {
        get().notify('error', humanError(err, `remove ${addr}`));
      }
    },
    async browsePeer(address) {
      set({ remote: { address, loading: true } });
      try {
        const listing = await host.api.invoke('remote:list', address);
        if (get().remote?.address === address) set({ remote: { address, loading: false, listing } });
      } catch (err) {
        if (get().remote?.address === address)
          set({ remote: { address, loading: false, error: humanError(err, `list ${formatAddress(address)}`) } });
      }
    },
    closeRemote: () => set({ remote: null }),
    applyPeers: ({ selfId, known, neighbours }) => set({ selfId, known, neighbours }),
    applyPeerFound: (p) => set((s) => ({ known: upsert(s.known, p) })),
    applyPeerLost: (p) => set((s) => ({ known: upsert(s.known, { ...p, connected: false }) })),
    applyStats: (stats) => set({ stats }),
  };
};
