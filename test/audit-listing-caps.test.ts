/**
 * Audit finding 8: a remote listing could exhaust memory. A peer streaming
 * list-result frames with more:true grew the lister without bound. A listing
 * now stops at a cap on files and on bytes, with a clear error.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../electron/peer/v2/frame.js';
import { MAGIC, PROTOCOL_VERSION } from '../electron/peer/v2/messages.js';
import { startPeer } from './helpers/harness.js';
import { serveV2ByHand, testIdentity } from './helpers/v2-wire.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const { peers, servers } = cleanupAfterEach();

/** A v2 peer whose listing never ends: full pages with more:true for as long as the lister reads. */
async function endlessLister(nameLength = 40): Promise<{ port: number; sent: () => number }> {
  let sent = 0;
  const page = encodeFrame({
    t: 'list-result',
    files: Array.from({ length: 256 }, (_, i) => ({
      name: `${'n'.repeat(nameLength)}${i}.mp3`,
      size: 1,
      type: 'music',
      sha256: 'b'.repeat(64),
    })),
    more: true,
  });
  // v2 runs inside TLS: the scripted lister has an identity of its own.
  const identity = await testIdentity('endless-lister');
  const srv = await serveV2ByHand(identity, (c, rest) => {
    c.on('error', () => {});
    const answer = () => {
      c.write(Buffer.concat([MAGIC, encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, peerId: identity.id, port: 1, role: 'query' })]));
      const pump = () => {
        while (!c.destroyed && c.write(page)) sent++;
      };
      c.on('drain', pump);
      c.once('data', pump);
    };
    if (rest.length) answer();
    else c.once('data', answer);
    c.resume();
  });
  servers.push(srv.server);
  return { port: srv.port, sent: () => sent };
}

describe('audit #8: remote listing caps', () => {
  it('stops a listing past the file cap with a clear error', async () => {
    const a = await startPeer({ tuning: { listingMaxFiles: 5000, listingMaxBytes: 1 << 30 } });
    peers.push(a);
    const srv = await endlessLister();
    const t0 = Date.now();
    await expect(a.peer.listRemote({ host: '127.0.0.1', port: srv.port })).rejects.toThrow(/more than 5000 files/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('stops a listing past the byte cap with a clear error', async () => {
    const a = await startPeer({ tuning: { listingMaxFiles: 1_000_000, listingMaxBytes: 2 * 1024 * 1024 } });
    peers.push(a);
    const srv = await endlessLister(100);
    await expect(a.peer.listRemote({ host: '127.0.0.1', port: srv.port })).rejects.toThrow(/larger than 2 MiB/);
  });
});
