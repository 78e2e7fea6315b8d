/**
 * Audit finding 8: a remote listing could exhaust memory. A peer streaming
 * list-result frames with more:true grew the lister without bound. A listing
 * now stops at a cap on files and on bytes, with a clear error.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../electron/peer/v2/frame.js';
import { MAGIC, PROTOCOL_VERSION } from '../electron/peer/v2/messages.js';
import { newId, startPeer } from './helpers/harness.js';
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
  const s = net.createServer((c) => {
    c.on('error', () => {});
    c.once('data', () => {
      c.write(Buffer.concat([MAGIC, encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, peerId: newId(), port: 1, role: 'query' })]));
      const pump = () => {
        while (!c.destroyed && c.write(page)) sent++;
      };
      c.on('drain', pump);
      c.once('data', pump);
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as net.AddressInfo).port, sent: () => sent };
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
