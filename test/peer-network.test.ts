/**
 * Every seed function over real loopback TCP in a v2 network with a cycle:
 * SEARCH and DISCOVER reach exactly the peers within the TTL, each peer
 * forwards a message at most once, and hits come back by the reverse path.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { SearchHit } from '../shared/types.js';
import { cleanupTemp, startPeer, waitFor, type TestPeer } from './helpers/harness.js';

// A ring of six peers: P0-P1-P2-P3-P4-P5-P0. Distances from P0: P1,P5 = 1; P2,P4 = 2; P3 = 3.
const N = 6;
let ring: TestPeer[] = [];

function collectHits(p: TestPeer, searchId: string): SearchHit[] {
  const hits: SearchHit[] = [];
  p.peer.events.on('search:hit', (h) => {
    if (h.searchId === searchId) hits.push(h);
  });
  return hits;
}

function portsOf(hits: SearchHit[]): number[] {
  return [...new Set(hits.map((h) => h.peer.port))].sort((a, b) => a - b);
}

function sorted(ps: TestPeer[]): number[] {
  return ps.map((p) => p.addr.port).sort((a, b) => a - b);
}

/** A ring of N peers, each bootstrapped to the next and P5 also dialling P0; resolves once every peer has two neighbours. */
async function startRing(): Promise<TestPeer[]> {
  // Start in reverse so each peer's bootstrap (the next peer) is already listening.
  const peers: TestPeer[] = new Array(N);
  peers[N - 1] = await startPeer({ files: { [`ring song ${N - 1}.mp3`]: `song ${N - 1}` } });
  for (let i = N - 2; i >= 0; i--)
    peers[i] = await startPeer({ bootstrap: [peers[i + 1]!.addr], files: { [`ring song ${i}.mp3`]: `song ${i}` } });
  // Close the cycle: P5 also dials P0.
  peers[N - 1]!.peer.addPeer(peers[0]!.addr);
  await waitFor('the ring to connect', () => peers.every((p) => p.peer.peers().neighbours.length === 2));
  return peers;
}

// The ring is shared by the tests that only search and list it; a test that changes a peer's state starts its own.
beforeAll(async () => {
  ring = await startRing();
});

afterAll(async () => {
  await Promise.all(ring.map((p) => p.peer.quit({ force: true })));
  cleanupTemp();
});

/**
 * Wait until a flood has died out: every message of these types that any of the
 * peers sent has been received by another (a peer answers and forwards in the
 * same turn as it receives, so when nothing is in flight nothing more will come).
 */
async function settled(peers: TestPeer[], types: string[]): Promise<void> {
  const sum = (k: 'messagesIn' | 'messagesOut') =>
    peers.reduce((n, p) => n + types.reduce((m, t) => m + (p.peer.statsSnapshot()[k][t] ?? 0), 0), 0);
  await waitFor(`no ${types.join('/')} in flight`, () => sum('messagesOut') === sum('messagesIn'));
}

async function searchFromP0(query: string, ttl: number): Promise<SearchHit[]> {
  const before = ring.map((p) => p.peer.statsSnapshot());
  const { searchId } = ring[0]!.peer.search(query, ttl);
  const hits: SearchHit[] = [];
  ring[0]!.peer.events.on('search:hit', (h) => h.searchId === searchId && hits.push(h));
  await settled(ring, ['query', 'hit']);
  // Each peer forwards a given query at most once: at most (degree - 1) copies out, the origin degree copies.
  ring.forEach((p, i) => {
    const out = (p.peer.statsSnapshot().messagesOut.query ?? 0) - (before[i]!.messagesOut.query ?? 0);
    expect(out, `queries sent by P${i}`).toBeLessThanOrEqual(i === 0 ? 2 : 1);
  });
  return hits;
}

describe('v2 flooding on a ring of six peers', () => {
  it('TTL 1 reaches only the two direct neighbours', async () => {
    const hits = await searchFromP0('ring song', 1);
    expect(portsOf(hits)).toEqual(sorted([ring[1]!, ring[5]!]));
  });

  it('TTL 2 reaches exactly the peers within two hops', async () => {
    const hits = await searchFromP0('ring song', 2);
    expect(portsOf(hits)).toEqual(sorted([ring[1]!, ring[5]!, ring[2]!, ring[4]!]));
  });

  it('TTL 3 reaches everyone; the far peer answers once although the query reaches it twice, by the reverse path', async () => {
    const dupBefore =
      ring[3]!.peer.statsSnapshot().duplicatesDropped + ring.reduce((a, p) => a + p.peer.statsSnapshot().duplicatesDropped, 0);
    const hits = await searchFromP0('ring song', 3);
    expect(portsOf(hits)).toEqual(sorted(ring.slice(1)));
    // One hit per peer, never two.
    expect(hits.length).toBe(5);
    // P3 is not P0's neighbour: its hit travelled three hops back along the path.
    const far = hits.find((h) => h.peer.port === ring[3]!.addr.port)!;
    expect(far.hops).toBe(3);
    expect(ring[0]!.peer.peers().neighbours.map((n) => n.port)).not.toContain(ring[3]!.addr.port);
    // The query met itself somewhere around the cycle and the copy was dropped.
    const dupAfter =
      ring[3]!.peer.statsSnapshot().duplicatesDropped + ring.reduce((a, p) => a + p.peer.statsSnapshot().duplicatesDropped, 0);
    expect(dupAfter).toBeGreaterThan(dupBefore);
  });

  it('keyword search: every term must match, case and accents folded, type filter honoured', async () => {
    const p = await startPeer({
      bootstrap: [ring[0]!.addr],
      files: { 'Café del Mar - Sunset.MP3': 'x', 'sunset beach.jpg': 'y', 'other.mp3': 'z' },
    });
    try {
      await waitFor('join', () => p.peer.peers().neighbours.length === 1);
      const hits = collectHits(ring[0]!, ring[0]!.peer.search('cafe SUNSET', 1).searchId);
      const pics = collectHits(ring[0]!, ring[0]!.peer.search('sunset', 1, 'picture').searchId);
      await waitFor('hits', () => hits.length >= 1 && pics.length >= 1);
      await settled([...ring, p], ['query', 'hit']);
      expect(hits.map((h) => h.name)).toEqual(['Café del Mar - Sunset.MP3']);
      expect(hits[0]).toMatchObject({ size: 1, type: 'music', protocol: 'v2' });
      expect(hits[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(pics.map((h) => h.name)).toEqual(['sunset beach.jpg']);
    } finally {
      await p.peer.quit({ force: true });
      await waitFor('P0 back to its two ring neighbours', () => ring[0]!.peer.peers().neighbours.length === 2);
    }
  });

  it('LISTR of a v2 peer lists its files with hashes', async () => {
    const r = await ring[0]!.peer.listRemote(ring[3]!.addr);
    expect(r.protocol).toBe('v2');
    expect(r.files.map((f) => f.name)).toEqual(['ring song 3.mp3']);
    expect(r.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('counts messages in and out by type', async () => {
    const before = ring[0]!.peer.statsSnapshot();
    const hits = await searchFromP0('ring song', 1);
    await waitFor('both neighbours to answer', () => hits.length === 2);
    const s = ring[0]!.peer.statsSnapshot();
    expect((s.messagesOut.query ?? 0) - (before.messagesOut.query ?? 0)).toBe(2);
    expect((s.messagesIn.hit ?? 0) - (before.messagesIn.hit ?? 0)).toBe(2);
    expect(s.neighbours).toBe(2);
  });

  // Discovery adds peers to the known list and the peer then connects to them: a ring of its own, so no other test sees that.
  it('DISCOVER with TTL 2 adds exactly the peers within two hops, then RESET returns to the bootstrap list', async () => {
    const ring = await startRing();
    onTestFinished(async () => {
      await Promise.all(ring.map((p) => p.peer.quit({ force: true })));
    });
    const p0 = ring[0]!.peer;
    p0.discover(2);
    const expected = sorted([ring[1]!, ring[2]!, ring[4]!, ring[5]!]);
    await waitFor('pongs', () => p0.peers().known.length >= 4);
    await settled(ring, ['ping', 'pong']);
    expect(
      p0
        .peers()
        .known.map((k) => k.port)
        .sort((a, b) => a - b),
    ).toEqual(expected);
    expect(
      p0
        .peers()
        .known.filter((k) => k.source === 'discovered')
        .map((k) => k.port).length,
    ).toBe(3);
    // Discovered peers become neighbours, up to the cap.
    await waitFor('new neighbours', () => p0.peers().neighbours.length >= 4);
    const known = p0.reset();
    expect(known.map((k) => k.port)).toEqual([ring[1]!.addr.port]);
    expect(known[0]!.source).toBe('bootstrap');
  });
});
