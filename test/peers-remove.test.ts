/**
 * Removing a known peer (issue 10): the way out of a refused pin. Real peers
 * on loopback: a pin conflict, then Remove, then adding the address again
 * pins the key that answers there now.
 */
import { describe, expect, it } from 'vitest';
import { createOperations } from '../electron/peer/operations.js';
import { cleanupAfterEach } from './helpers/cleanup.js';
import { waitFor } from './helpers/harness.js';

const { start } = cleanupAfterEach();

describe('removing a known peer', () => {
  it('a refused pin: Remove forgets it, and adding the address again pins the new key', async () => {
    const a = await start();
    const b = await start();
    const port = a.port;
    const addr = { host: '127.0.0.1', port };
    b.peer.addPeer(addr);
    await waitFor('the pin on A', () => b.peer.peers().known[0]?.id === a.peer.id && b.peer.peers().neighbours.length === 1);
    // Another peer (another key) now listens at the pinned address.
    await a.peer.quit({ force: true });
    const c = await start({ options: { port } });
    const want = `expected peer ${a.peer.id} at 127.0.0.1:${port}, but it presented ${c.peer.id}`;
    await waitFor('the refusal', () => b.peer.peers().known[0]?.refused === want, 15_000);
    expect(b.peer.peers().neighbours).toEqual([]);

    const changed: number[] = [];
    b.peer.events.on('peers:changed', (p) => changed.push(p.known.length));
    const after = b.peer.removePeer(addr);
    expect(after.known).toEqual([]);
    expect(after.selfId).toBe(b.peer.id);
    expect(changed).toEqual([0]); // the front ends hear of it at once

    b.peer.addPeer(addr);
    await waitFor('the pin on C', () => b.peer.peers().known[0]?.id === c.peer.id && b.peer.peers().neighbours.length === 1, 15_000);
    expect(b.peer.peers().known[0]?.refused).toBeUndefined();
    expect(b.peer.peers().neighbours[0]?.peerId).toBe(c.peer.id);
  });

  it('closes the link we dialled to the removed peer, which is not dialled again', async () => {
    const a = await start();
    const b = await start();
    b.peer.addPeer(a.addr);
    await waitFor('the link', () => b.peer.peers().neighbours.length === 1 && a.peer.peers().neighbours.length === 1);
    b.peer.removePeer(a.addr);
    await waitFor(
      'both ends to see the link close',
      () => b.peer.peers().neighbours.length === 0 && a.peer.peers().neighbours.length === 0,
    );
    expect(b.peer.peers().known).toEqual([]);
    // The dial loop runs for another peer added after; it does not bring A back.
    const c = await start();
    b.peer.addPeer(c.addr);
    await waitFor('the link to C', () => b.peer.peers().neighbours.length === 1);
    expect(b.peer.peers().neighbours.map((n) => n.peerId)).toEqual([c.peer.id]);
    expect(a.peer.peers().neighbours).toEqual([]);
  });

  it('through the contract: an unknown address or a bad port is a clear error, not a crash', async () => {
    const b = await start();
    const ops = createOperations(b.peer);
    await expect(ops['peers:remove']({ host: '127.0.0.1', port: 9 })).rejects.toThrow('127.0.0.1:9 is not a known peer');
    await expect(ops['peers:remove']({ host: '127.0.0.1', port: 70000 })).rejects.toThrow(/invalid arguments for peers:remove: port/);
    await expect(ops['peers:remove']({ host: '127.0.0.1', port: 9, id: 'x' })).rejects.toThrow(/invalid arguments for peers:remove/);
    b.peer.addPeer({ host: '127.0.0.1', port: 9 });
    expect((await ops['peers:remove']({ host: '127.0.0.1', port: 9 })).known).toEqual([]);
  });
});
