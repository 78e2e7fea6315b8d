/**
 * Audit finding 15: RESET emptied the known-peer list but kept the links to
 * discovered peers, so a TTL-1 search after RESET still reached them; and a
 * connected bootstrap peer showed protocol "unknown" afterwards.
 */
import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../shared/types.js';
import { waitFor } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const { start } = cleanupAfterEach();

describe('audit #15: RESET', () => {
  it('closes outgoing links to peers no longer known; the bootstrap link stays and keeps its protocol', async () => {
    const b = await start({ files: { 'b song.mp3': 'b' } });
    const c = await start({ files: { 'c song.mp3': 'c' } });
    const a = await start({ bootstrap: [b.addr] });
    a.peer.addPeer(c.addr);
    await waitFor('links to B and C', () => a.peer.peers().neighbours.length === 2);
    a.peer.reset();
    await waitFor('the link to C to close', () => a.peer.peers().neighbours.length === 1);
    expect(a.peer.peers().neighbours[0]!.port).toBe(b.addr.port);
    expect(a.peer.peers().known).toEqual([
      expect.objectContaining({ port: b.addr.port, protocol: 'v2', connected: true, source: 'bootstrap' }),
    ]);
    const hits: SearchHit[] = [];
    a.peer.events.on('search:hit', (h) => hits.push(h));
    const first = a.peer.search('song', 1).searchId;
    await waitFor('the hit from B', () => hits.length === 1);
    // A hit from C would have come with B's; one more round trip to B makes sure.
    const second = a.peer.search('b song', 1).searchId;
    await waitFor('a second answer from B', () => hits.some((h) => h.searchId === second));
    expect(hits.filter((h) => h.searchId === first).map((h) => h.name)).toEqual(['b song.mp3']);
  });
});
