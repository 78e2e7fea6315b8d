import { createStore, type StoreApi } from 'zustand/vanilla';
import type { SearchHit } from '../../../shared/types.js';
import type { Host } from '../host/host.js';
import { sentence } from '../lib/errors.js';
import { createLibrarySlice } from './library-slice.js';
import { createPeersSlice } from './peers-slice.js';
import { createPlayerSlice } from './player-slice.js';
import { createSearchSlice } from './search-slice.js';
import { createSettingsSlice } from './settings-slice.js';
import { createTransfersSlice } from './transfers-slice.js';
import type { AppState } from './types.js';
import { createUiSlice } from './ui-slice.js';

interface AppStoreOptions {
  /** Search hits are folded into the store in batches this often (ms), so 10,000 hits do not mean 10,000 renders. */
  hitFlushMs?: number;
}

/** Load everything the views show; run at start and after each reconnection. */
async function loadAll(store: StoreApi<AppState>): Promise<void> {
  const s = store.getState();
  await Promise.all([s.refreshLibrary(), s.refreshPeers(), s.refreshTransfers(), s.loadSettings(), s.refreshStats()]);
}

/**
 * The app's one store, built from its slices, with the host's events wired in
 * here and nowhere else.
 */
export function createAppStore(host: Host, opts: AppStoreOptions = {}): StoreApi<AppState> {
  const store = createStore<AppState>()((...a) => ({
    ...createUiSlice(host)(...a),
    ...createLibrarySlice(host)(...a),
    ...createPeersSlice(host)(...a),
    ...createSearchSlice(host)(...a),
    ...createTransfersSlice(host)(...a),
    ...createSettingsSlice(host)(...a),
    ...createPlayerSlice(host)(...a),
  }));
  const get = store.getState;
  const { api } = host;

  api.on('library:changed', (files) => get().applyLibrary(files));
  api.on('import:progress', (p) => get().applyImportProgress(p));
  api.on('peers:changed', (p) => get().applyPeers(p));
  api.on('peer:found', (p) => get().applyPeerFound(p));
  api.on('peer:lost', (p) => get().applyPeerLost(p));
  api.on('stats', (s) => get().applyStats(s));
  api.on('transfer:progress', (t) => get().applyTransfer(t));
  api.on('transfer:done', (t) => get().applyTransfer(t));
  api.on('transfer:failed', (t) => {
    get().applyTransfer(t);
    if (t.state === 'failed') get().notify('error', `Could not download ${t.name}. ${sentence(t.error ?? 'the transfer failed')}`);
  });
  api.on('stream:progress', (info) => get().applyStream(info));
  api.on('log', (line) => {
    if (line.level === 'error') get().notify('error', line.msg);
  });

  let hits: SearchHit[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const flushMs = opts.hitFlushMs ?? 100;
  api.on('search:hit', (hit) => {
    hits.push(hit);
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      const batch = hits;
      hits = [];
      get().applyHits(batch);
    }, flushMs);
  });

  host.onConnectionChange((state) => {
    get().setConnection(state);
    if (state === 'open') void loadAll(store);
  });
  host.ready();
  return store;
}
