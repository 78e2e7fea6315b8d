import type { MediaType, PeerAddress, ProtocolVersion, SearchHit } from '../../../shared/types.js';
import { humanError } from '../lib/errors.js';
import type { SliceFactory } from './types.js';

/** Hits for the same content: one row in the results, with every peer that has it. */
export interface SearchGroup {
  /** The SHA-256, or (for v1 peers, which give none) name and size. */
  key: string;
  name: string;
  size?: number;
  type?: MediaType;
  sha256?: string;
  sources: PeerAddress[];
  protocols: ProtocolVersion[];
}

export interface SearchSlice {
  query: string;
  ttl: number;
  typeFilter: MediaType | '';
  searchId: string | null;
  /** When the current search was sent (ms); hits keep arriving for a while. */
  searchStartedAt: number | null;
  groups: SearchGroup[];
  hitCount: number;
  searchError: string | null;
  startSearch(query: string, ttl: number, type: MediaType | ''): Promise<void>;
  /** Fold a batch of hits into the groups (hits of other searches are ignored). */
  applyHits(hits: readonly SearchHit[]): void;
  clearSearch(): void;
}

export function groupKey(hit: Pick<SearchHit, 'sha256' | 'name' | 'size'>): string {
  return hit.sha256 ? `sha:${hit.sha256}` : `name:${hit.name.toLowerCase()}:${hit.size ?? '?'}`;
}

const sameAddress = (a: PeerAddress, b: PeerAddress) => a.host === b.host && a.port === b.port;

const MAX_EARLY_IDS = 8;
const MAX_EARLY_HITS = 20_000;

/** Hits kept per search; past this the list stops growing (the UI says so). */
const MAX_GROUPS = 50_000;

export const createSearchSlice: SliceFactory<SearchSlice> = (host) => (set, get) => {
  /** Index from group key to position in `groups`; rebuilt with each new search. */
  let index = new Map<string, number>();
  /** Hits that arrive before `search:start` has answered with their id wait here (bounded). */
  const early = new Map<string, SearchHit[]>();
  let awaitingId = false;

  return {
    query: '',
    ttl: 3,
    typeFilter: '',
    searchId: null,
    searchStartedAt: null,
    groups: [],
    hitCount: 0,
    searchError: null,
    async startSearch(query, ttl, type) {
      const q = query.trim();
      if (q === '') {
        set({ searchError: 'Type something to search for.' });
        return;
      }
      index = new Map();
      early.clear();
      awaitingId = true;
      set({ query: q, ttl, typeFilter: type, searchId: null, groups: [], hitCount: 0, searchError: null, searchStartedAt: Date.now() });
      try {
        const { searchId } = await host.api.invoke('search:start', { query: q, ttl, ...(type ? { type } : {}) });
        awaitingId = false;
        set({ searchId });
        const waiting = early.get(searchId);
        early.clear();
        if (waiting) get().applyHits(waiting);
      } catch (err) {
        awaitingId = false;
        set({ searchError: humanError(err, 'search'), searchStartedAt: null });
      }
    },
    applyHits(hits) {
      const { searchId } = get();
      const mine: SearchHit[] = [];
      for (const h of hits) {
        if (searchId !== null && h.searchId === searchId) mine.push(h);
        else if (searchId === null && awaitingId) {
          let list = early.get(h.searchId);
          if (!list) {
            if (early.size >= MAX_EARLY_IDS) continue;
            early.set(h.searchId, (list = []));
          }
          if (list.length < MAX_EARLY_HITS) list.push(h);
        }
      }
      if (mine.length === 0) return;
      set((s) => {
        const groups = [...s.groups];
        for (const h of mine) {
          const k = groupKey(h);
          const i = index.get(k);
          if (i === undefined) {
            if (groups.length >= MAX_GROUPS) continue;
            index.set(k, groups.length);
            groups.push({ key: k, name: h.name, size: h.size, type: h.type, sha256: h.sha256, sources: [h.peer], protocols: [h.protocol] });
            continue;
          }
          const g = groups[i]!;
          if (g.sources.some((p) => sameAddress(p, h.peer))) continue;
          groups[i] = {
            ...g,
            size: g.size ?? h.size,
            type: g.type ?? h.type,
            sources: [...g.sources, h.peer],
            protocols: g.protocols.includes(h.protocol) ? g.protocols : [...g.protocols, h.protocol],
          };
        }
        return { groups, hitCount: s.hitCount + mine.length };
      });
    },
    clearSearch() {
      index = new Map();
      set({ query: '', searchId: null, groups: [], hitCount: 0, searchError: null, searchStartedAt: null });
    },
  };
};
