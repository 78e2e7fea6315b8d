import { describe, expect, it } from 'vitest';
import {
  emptyStats,
  type KnownPeer,
  type LocalFile,
  type SearchHit,
  type Settings,
  type Stats,
  type TransferInfo,
} from '../../shared/types.js';
import { createAppStore } from '../../renderer/src/store/store.js';
import { groupKey } from '../../renderer/src/store/search-slice.js';
import { FakeHost, flush } from './fake-host.js';

const file = (name: string, size = 100): LocalFile => ({ name, size, type: 'video', sha256: 'a'.repeat(64), mtimeMs: 0 });
const peer = (port: number, connected = false): KnownPeer => ({ host: '127.0.0.1', port, protocol: 'v2', source: 'user', connected });
const SELF_ID = 'AAAAAAA-BBBBBBB-CCCCCCC-DDDDDDD-EEEEEEE-FFFFFFF-GGGGGGG-HHHHHHH';
const settings: Settings = {
  sharedDir: '/s',
  downloadDir: '/d',
  port: 10000,
  host: '0.0.0.0',
  bootstrap: [],
  neighbourCap: 8,
  uploadSlots: 4,
  maxUploadRate: 0,
  maxDownloadRate: 0,
};
const stats: Stats = emptyStats();
const transfer = (over: Partial<TransferInfo> = {}): TransferInfo => ({
  id: 't1',
  direction: 'down',
  name: 'movie.mp4',
  state: 'running',
  bytes: 0,
  total: 1000,
  speed: 0,
  eta: null,
  sources: [{ host: '127.0.0.1', port: 1 }],
  ...over,
});
const hit = (searchId: string, port: number, sha: string | undefined, name = 'beach.mp4'): SearchHit => ({
  searchId,
  peer: { host: '127.0.0.1', port },
  protocol: sha ? 'v2' : 'v1',
  name,
  size: 10,
  type: 'video',
  sha256: sha,
});

function baseHost(extra: ConstructorParameters<typeof FakeHost>[0] = {}) {
  return new FakeHost({
    'library:list': () => [file('b.mp4'), file('A.mp4')],
    'peers:list': () => ({ selfId: SELF_ID, known: [peer(1, true)], neighbours: [] }),
    'transfer:list': () => [],
    'settings:get': () => settings,
    'stats:get': () => stats,
    ...extra,
  });
}

describe('store wiring', () => {
  it('loads every slice once the host is connected, and tells the host it subscribed', async () => {
    const host = baseHost();
    const store = createAppStore(host);
    await flush();
    const s = store.getState();
    expect(s.files.map((f) => f.name)).toEqual(['A.mp4', 'b.mp4']);
    expect(s.libraryLoaded).toBe(true);
    expect(s.known).toHaveLength(1);
    expect(s.settings).toEqual(settings);
    expect(s.stats).toEqual(stats);
    expect(s.connection).toBe('open');
    expect(host.readyCalls).toBe(1);
    expect(host.listeners.get('search:hit')?.size).toBe(1);
  });

  it('reloads after a reconnection', async () => {
    const host = baseHost();
    const store = createAppStore(host);
    await flush();
    host.setConnection('closed');
    expect(store.getState().connection).toBe('closed');
    host.setConnection('open');
    await flush();
    expect(host.callsOf('library:list')).toHaveLength(2);
  });

  it('turns a failed load into a notice a person can read', async () => {
    const store = createAppStore(
      baseHost({
        'library:list': () => {
          throw new Error("Error invoking remote method 'mactella:invoke': Error: connect ECONNREFUSED 127.0.0.1:9");
        },
      }),
    );
    await flush();
    const n = store.getState().notices;
    expect(n).toHaveLength(1);
    expect(n[0]!.text).toMatch(/^Could not load your library\. The peer refused the connection/);
  });
});

describe('library slice', () => {
  it('follows library:changed and import:progress events', async () => {
    const host = baseHost();
    const store = createAppStore(host);
    await flush();
    host.emit('library:changed', [file('z.mp4'), file('c.mp4')]);
    expect(store.getState().files.map((f) => f.name)).toEqual(['c.mp4', 'z.mp4']);
    host.emit('import:progress', { name: 'big.mov', bytes: 10, total: 100, done: false });
    host.emit('import:progress', { name: 'big.mov', bytes: 100, total: 100, done: true });
    expect(store.getState().imports).toEqual([{ name: 'big.mov', bytes: 100, total: 100, done: true }]);
    store.getState().clearFinishedImports();
    expect(store.getState().imports).toEqual([]);
  });

  it('shares dropped files through the host and refreshes the list', async () => {
    const host = baseHost();
    const store = createAppStore(host);
    await flush();
    await store.getState().importFiles([new File(['x'], 'new.jpg')]);
    expect(host.imported.map((f) => f.name)).toEqual(['new.jpg']);
    expect(host.callsOf('library:list')).toHaveLength(2);
    expect(store.getState().notices.at(-1)?.text).toBe('Shared new.jpg.');
  });
});

describe('peers slice', () => {
  it('checks a typed address before asking the peer', async () => {
    const host = baseHost({ 'peers:add': (a) => ({ ...a, protocol: 'unknown', source: 'user', connected: false }) });
    const store = createAppStore(host);
    await flush();
    expect(await store.getState().addPeer('nonsense')).toMatch(/not an address/);
    expect(await store.getState().addPeer('host:99999')).toMatch(/port .* must be a number from 1 to 65535/);
    expect(host.callsOf('peers:add')).toEqual([]);
    expect(await store.getState().addPeer(' 10.0.0.2:10001 ')).toBeNull();
    expect(await store.getState().addPeer('[::1]:7')).toBeNull();
    expect(host.callsOf('peers:add')).toEqual([
      { host: '10.0.0.2', port: 10001 },
      { host: '::1', port: 7 },
    ]);
    expect(store.getState().known.map((p) => p.port)).toEqual([1, 10001, 7]);
  });

  it('discovers with the TTL given, and merges found and lost peers', async () => {
    const host = baseHost({ 'discover:start': () => ({ discoverId: 'd' }) });
    const store = createAppStore(host);
    await flush();
    const p = store.getState().discover(4);
    expect(store.getState().discovering).toBe(true);
    await p;
    expect(host.callsOf('discover:start')).toEqual([{ ttl: 4 }]);
    host.emit('peer:found', peer(2, true));
    host.emit('peer:found', { ...peer(2, true), files: 5 });
    expect(store.getState().known.find((x) => x.port === 2)?.files).toBe(5);
    host.emit('peer:lost', peer(2, true));
    expect(store.getState().known.find((x) => x.port === 2)?.connected).toBe(false);
    host.emit('peers:changed', { selfId: SELF_ID, known: [], neighbours: [] });
    expect(store.getState().known).toEqual([]);
  });

  it('resets to the bootstrap list and browses a remote listing', async () => {
    const host = baseHost({
      'peers:reset': () => [peer(9)],
      'remote:list': (a) => ({ peer: a, protocol: 'v1', files: [{ name: 'x.mp3', size: 3, type: 'music' }] }),
    });
    const store = createAppStore(host);
    await flush();
    await store.getState().resetPeers();
    expect(store.getState().known.map((p) => p.port)).toEqual([9]);
    await store.getState().browsePeer({ host: '127.0.0.1', port: 9 });
    expect(store.getState().remote?.listing?.files[0]?.name).toBe('x.mp3');
    expect(store.getState().remote?.loading).toBe(false);
  });
});

describe('removing a peer', () => {
  it('shows our own ID, and Remove sends only the address and takes the list the peer returns', async () => {
    const refused = { ...peer(5), id: SELF_ID.replace(/A/g, 'Q'), refused: 'expected peer X at 127.0.0.1:5, but it presented Y' };
    const host = baseHost({
      'peers:list': () => ({ selfId: SELF_ID, known: [peer(1, true), refused], neighbours: [] }),
      'peers:remove': () => ({ selfId: SELF_ID, known: [peer(1, true)], neighbours: [] }),
    });
    const store = createAppStore(host);
    await flush();
    expect(store.getState().selfId).toBe(SELF_ID);
    await store.getState().removePeer(refused);
    expect(host.callsOf('peers:remove')).toEqual([{ host: '127.0.0.1', port: 5 }]);
    expect(store.getState().known.map((p) => p.port)).toEqual([1]);
    expect(store.getState().notices.at(-1)?.text).toMatch(/^Removed 127\.0\.0\.1:5/);
  });

  it('says why when the peer refuses the removal, and keeps the list', async () => {
    const host = baseHost({
      'peers:remove': () => {
        throw new Error('127.0.0.1:8 is not a known peer');
      },
    });
    const store = createAppStore(host);
    await flush();
    await store.getState().removePeer({ host: '127.0.0.1', port: 8 });
    expect(store.getState().known.map((p) => p.port)).toEqual([1]);
    const last = store.getState().notices.at(-1);
    expect(last?.kind).toBe('error');
    expect(last?.text).toMatch(/not a known peer/);
  });
});

describe('search slice', () => {
  it('groups hits by SHA-256 with one source per peer, and ignores other searches', async () => {
    const host = baseHost({ 'search:start': () => ({ searchId: 'S' }) });
    const store = createAppStore(host, { hitFlushMs: 0 });
    await flush();
    await store.getState().startSearch('  beach ', 3, 'video');
    expect(host.callsOf('search:start')).toEqual([{ query: 'beach', ttl: 3, type: 'video' }]);
    const a = 'a'.repeat(64);
    const b = 'b'.repeat(64);
    store
      .getState()
      .applyHits([
        hit('S', 1, a),
        hit('S', 2, a),
        hit('S', 2, a),
        hit('S', 3, b),
        hit('OLD', 4, a),
        hit('S', 5, undefined),
        hit('S', 6, undefined),
      ]);
    const g = store.getState().groups;
    expect(g.map((x) => x.sources.length)).toEqual([2, 1, 2]);
    expect(g[0]!.sha256).toBe(a);
    expect(g[2]!.key).toBe(groupKey({ name: 'beach.mp4', size: 10 }));
    expect(store.getState().hitCount).toBe(6);
  });

  it('keeps hits that arrive before the search id is known', async () => {
    let answer!: (v: { searchId: string }) => void;
    const host = baseHost({ 'search:start': () => new Promise((r) => (answer = r)) });
    const store = createAppStore(host, { hitFlushMs: 0 });
    await flush();
    const started = store.getState().startSearch('beach', 2, '');
    store.getState().applyHits([hit('S', 1, 'c'.repeat(64)), hit('OTHER', 2, 'd'.repeat(64))]);
    expect(store.getState().groups).toEqual([]);
    answer({ searchId: 'S' });
    await started;
    expect(store.getState().groups.map((x) => x.sha256)).toEqual(['c'.repeat(64)]);
  });

  it('batches live search:hit events', async () => {
    const host = baseHost({ 'search:start': () => ({ searchId: 'S' }) });
    const store = createAppStore(host, { hitFlushMs: 20 });
    await flush();
    await store.getState().startSearch('beach', 2, '');
    let renders = 0;
    store.subscribe(() => renders++);
    for (let i = 0; i < 500; i++) host.emit('search:hit', hit('S', 1000 + i, i.toString(16).padStart(64, '0')));
    expect(store.getState().groups).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 60));
    expect(store.getState().groups).toHaveLength(500);
    expect(renders).toBe(1);
  });

  it('folds 10,000 hits quickly', async () => {
    const host = baseHost({ 'search:start': () => ({ searchId: 'S' }) });
    const store = createAppStore(host, { hitFlushMs: 0 });
    await flush();
    await store.getState().startSearch('x', 7, '');
    const t0 = performance.now();
    for (let batch = 0; batch < 100; batch++) {
      store
        .getState()
        .applyHits(
          Array.from({ length: 100 }, (_, i) => hit('S', (batch * 100 + i) % 3, ((batch * 100 + i) % 5000).toString(16).padStart(64, '0'))),
        );
    }
    expect(store.getState().groups).toHaveLength(5000);
    expect(store.getState().hitCount).toBe(10_000);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('says what is wrong with an empty query without asking the peer', async () => {
    const host = baseHost();
    const store = createAppStore(host);
    await flush();
    await store.getState().startSearch('   ', 2, '');
    expect(store.getState().searchError).toBe('Type something to search for.');
    expect(host.callsOf('search:start')).toEqual([]);
  });
});

describe('transfers slice', () => {
  it('starts downloads and follows progress, done and failure events', async () => {
    const host = baseHost({ 'transfer:start': (r) => transfer({ name: r.name, state: 'queued' }) });
    const store = createAppStore(host);
    await flush();
    await store.getState().download({ name: 'movie.mp4', sources: [{ host: '127.0.0.1', port: 1 }] });
    expect(store.getState().transfers.t1?.state).toBe('queued');
    host.emit('transfer:progress', transfer({ bytes: 500, speed: 100, eta: 5 }));
    expect(store.getState().transfers.t1?.bytes).toBe(500);
    host.emit('transfer:failed', transfer({ state: 'failed', error: 'every source is gone' }));
    expect(store.getState().transfers.t1?.state).toBe('failed');
    expect(store.getState().notices.at(-1)?.text).toBe('Could not download movie.mp4. Every source is gone.');
    host.emit('transfer:progress', transfer({ id: 't2' }));
    expect(store.getState().transferOrder).toEqual(['t2', 't1']);
  });

  it('pauses, resumes and cancels through the contract', async () => {
    const host = baseHost({
      'transfer:pause': ({ id }) => transfer({ id, state: 'paused' }),
      'transfer:resume': ({ id }) => transfer({ id, state: 'running' }),
      'transfer:cancel': () => {
        throw new Error('no such transfer');
      },
    });
    const store = createAppStore(host);
    await flush();
    await store.getState().pauseTransfer('t1');
    expect(store.getState().transfers.t1?.state).toBe('paused');
    await store.getState().resumeTransfer('t1');
    expect(store.getState().transfers.t1?.state).toBe('running');
    await store.getState().cancelTransfer('t1');
    expect(store.getState().notices.at(-1)?.text).toBe('Could not cancel movie.mp4. No such transfer.');
  });

  it('offers show-in-folder only where the host can do it', () => {
    const web = createAppStore(baseHost());
    expect(web.getState().canShowInFolder).toBe(false);
    const desktop = baseHost();
    desktop.showInFolder = async () => {};
    expect(createAppStore(desktop).getState().canShowInFolder).toBe(true);
  });
});

describe('settings slice', () => {
  it('saves a patch and reports a refusal in words', async () => {
    let fail = false;
    const host = baseHost({
      'settings:set': (p) => {
        if (fail) throw new Error('invalid arguments for settings:set: port Too big');
        return { ...settings, ...p };
      },
    });
    const store = createAppStore(host);
    await flush();
    expect(await store.getState().saveSettings({ uploadSlots: 2 })).toBeNull();
    expect(store.getState().settings?.uploadSlots).toBe(2);
    fail = true;
    expect(await store.getState().saveSettings({ port: 1 })).toMatch(/^Could not save the settings\. MacTella did not accept that request/);
    expect(store.getState().savingSettings).toBe(false);
  });
});
