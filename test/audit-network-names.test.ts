/**
 * Audit finding 6: forged hit names injected lines. A hit named
 * "song.mp3\r\nSET pwned 1\r\n" pointing at a local service was shown and could
 * be downloaded, writing those lines to that service. Names from the network
 * with control characters or commas are refused (v2 schema and transfer:start),
 * and the hosts in hits and pongs must be literal addresses, as in v1.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { operationArgs } from '../shared/contract.js';
import type { SearchHit } from '../shared/types.js';
import { startPeer, waitFor, type TestPeer } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';
import { RawNeighbour } from './helpers/raw-neighbour.js';
import { newPeerId } from './helpers/v2-wire.js';

const { peers } = cleanupAfterEach();
const raws: RawNeighbour[] = [];
afterEach(() => {
  for (const r of raws.splice(0)) r.close();
});

const SHA = 'a'.repeat(64);

/** A peer with one raw neighbour, and the id of a search it sent out. */
async function searching(): Promise<{ a: TestPeer; x: RawNeighbour; id: string; hits: SearchHit[] }> {
  const a = await startPeer();
  peers.push(a);
  const x = await RawNeighbour.connect(a.addr);
  raws.push(x);
  await waitFor('the raw neighbour', () => a.peer.peers().neighbours.length === 1);
  const hits: SearchHit[] = [];
  a.peer.events.on('search:hit', (h) => hits.push(h));
  const { searchId } = a.peer.search('song', 1);
  await waitFor('the query at the raw neighbour', () => x.of('query').some((q) => q.id === searchId));
  return { a, x, id: searchId, hits };
}

function hit(id: string, name: string, host = '127.0.0.1') {
  return {
    t: 'hit' as const,
    id,
    hops: 0,
    peer: { host, port: 6379, peerId: newPeerId() },
    files: [{ name, size: 5, type: 'music' as const, sha256: SHA }],
  };
}

describe('audit #6: names and hosts from the network', () => {
  for (const name of ['song.mp3\r\nSET pwned 1\r\n', 'song\u0000.mp3', 'a,b.mp3', 'song\u001b]0;x\u0007.mp3', 'evil\u202egnp.mp3']) {
    it(`a hit named ${JSON.stringify(name)} is refused and never shown`, async () => {
      const { a, x, id, hits } = await searching();
      x.send(hit(id, name));
      await waitFor('the link to close on the bad frame', () => x.closed);
      expect(hits).toEqual([]);
      expect(a.peer.statsSnapshot().drops['neighbour closed: protocol error']).toBe(1);
    });
  }

  for (const host of ['evil.example', '2130706433', '127.1', 'localhost\r\nX']) {
    it(`a hit naming host ${JSON.stringify(host)} is refused`, async () => {
      const { x, id, hits } = await searching();
      x.send(hit(id, 'song.mp3', host));
      await waitFor('the link to close on the bad frame', () => x.closed);
      expect(hits).toEqual([]);
    });
  }

  it('a hit or pong naming a bogon host (0.0.0.0, multicast) is dropped, the link kept', async () => {
    const { a, x, id, hits } = await searching();
    x.send(hit(id, 'song.mp3', '0.0.0.0'));
    const { discoverId } = a.peer.discover(1);
    await waitFor('the ping', () => x.of('ping').some((p) => p.id === discoverId));
    x.send({ t: 'pong', id: discoverId, hops: 0, peer: { host: '224.0.0.1', port: 5000, peerId: newPeerId() }, files: 1, bytes: 1 });
    x.send(hit(id, 'good.mp3'));
    await waitFor('the good hit', () => hits.length === 1);
    expect(hits.map((h) => h.name)).toEqual(['good.mp3']);
    expect(a.peer.statsSnapshot().drops['reply naming a bogon address']).toBe(2);
    expect(a.peer.peers().known).toEqual([]);
    expect(x.closed).toBe(false);
  });

  it('transfer:start refuses control characters and commas in the name', () => {
    const ok = { name: 'song.mp3', sources: [{ host: '127.0.0.1', port: 1 }] };
    expect(operationArgs['transfer:start'].safeParse(ok).success).toBe(true);
    for (const name of ['song.mp3\r\nSET pwned 1', 'a,b.mp3', 'x\u0000.mp3', 'x\u009b.mp3', 'x\u202e.mp3'])
      expect(operationArgs['transfer:start'].safeParse({ ...ok, name }).success, JSON.stringify(name)).toBe(false);
  });

  it('a shared file whose name the network refuses is left out of listings and hits, and the rest still flows', async () => {
    const a = await startPeer({ files: { 'a, b.mp3': 'x', 'song ok.mp3': 'y' } });
    peers.push(a);
    const b = await startPeer({ bootstrap: [a.addr] });
    peers.push(b);
    expect((await b.peer.listRemote(a.addr)).files.map((f) => f.name)).toEqual(['song ok.mp3']);
    await waitFor('the link', () => b.peer.peers().neighbours.length === 1);
    const hits: SearchHit[] = [];
    b.peer.events.on('search:hit', (h) => hits.push(h));
    b.peer.search('mp3', 1);
    await waitFor('the hit', () => hits.length === 1);
    expect(hits[0]!.name).toBe('song ok.mp3');
    expect(b.peer.peers().neighbours.length).toBe(1);
  });
});
