/**
 * Audit finding 12: a neighbour could be displaced by anyone whose hello
 * claimed its peer ID, and the impostor then received the user's searches.
 * An established link now stays; the ID tie-break is only for a simultaneous
 * dial (same host, links a moment apart). And with TLS an ID cannot be
 * claimed at all: a hello must claim the ID its certificate proves.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { V2Message } from '../electron/peer/v2/messages.js';
import { startPeer, waitFor, type TestPeer } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';
import { dialV2ByHand, newTestIdentity } from './helpers/v2-wire.js';

const { peers } = cleanupAfterEach();
const sockets: net.Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

/**
 * A neighbour link over TLS with a key of its own, whose hello claims
 * `peerId`, from `localAddress`; collects what it is sent. With TLS the claim
 * no longer matches the certificate, so the link is dropped during the
 * handshake: `closed()` is then true and nothing was received.
 */
async function impostor(to: TestPeer, peerId: string, localAddress: string) {
  const got: V2Message[] = [];
  let closed = false;
  let link;
  try {
    link = await dialV2ByHand(to.addr, {
      role: 'neighbour',
      claim: peerId,
      localAddress,
      identity: await newTestIdentity(),
      timeoutMs: 2000,
    });
  } catch {
    return { got, closed: () => true };
  }
  const { socket, decoder } = link;
  sockets.push(socket);
  socket.on('data', (c: Buffer) => {
    try {
      got.push(...decoder.push(c));
    } catch {
      socket.destroy();
    }
  });
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  socket.resume();
  return { got, closed: () => closed };
}

/** Two linked peers; `dialer` dialled `other` and has the larger ID (the case the old tie-break handed to an impostor). */
async function linkedPair(): Promise<{ dialer: TestPeer; other: TestPeer }> {
  const p = await startPeer({ files: { 'song.mp3': 'x' }, tuning: { duplicateGraceMs: 100 } });
  const q = await startPeer({ files: { 'song.mp3': 'y' }, tuning: { duplicateGraceMs: 100 } });
  peers.push(p, q);
  const [dialer, other] = p.peer.id > q.peer.id ? [p, q] : [q, p];
  dialer.peer.addPeer(other.addr);
  await waitFor('the link', () => dialer.peer.peers().neighbours.length === 1 && other.peer.peers().neighbours.length === 1);
  return { dialer, other };
}

describe('audit #12: a claimed ID cannot displace a neighbour', () => {
  for (const from of ['127.0.0.2', '127.0.0.1']) {
    it(`a hello claiming a linked neighbour's ID (from ${from}) is refused; the real link stays and gets the searches`, async () => {
      const { dialer, other } = await linkedPair();
      const since = dialer.peer.peers().neighbours[0]!.since;
      await waitFor('the link to be past its first moments', () => Date.now() - since > 150);
      const fake = await impostor(dialer, other.peer.id, from);
      await waitFor('the impostor to be refused', () => fake.closed());
      const n = dialer.peer.peers().neighbours;
      expect(n).toHaveLength(1);
      expect(n[0]!.since).toBe(since);
      const hits: string[] = [];
      dialer.peer.events.on('search:hit', (h) => hits.push(h.name));
      dialer.peer.search('song', 1);
      await waitFor('the real neighbour to answer', () => hits.length === 1);
      expect(fake.got.filter((m) => m.t === 'query')).toEqual([]);
    });
  }

  it('two peers dialling each other at once end with one link, the same on both sides', async () => {
    const p = await startPeer();
    const q = await startPeer();
    peers.push(p, q);
    p.peer.addPeer(q.addr);
    q.peer.addPeer(p.addr);
    await waitFor('one link each, the two ends of one connection', () => {
      const [a, b] = [p.peer.peers().neighbours, q.peer.peers().neighbours];
      return a.length === 1 && b.length === 1 && a[0]!.direction !== b[0]!.direction;
    });
  });
});
