import type net from 'node:net';
import { afterEach } from 'vitest';
import { cleanupTemp, startPeer, type TestPeer } from './harness.js';

/**
 * After each test: force-quit the peers and close the servers pushed onto the
 * returned arrays (they are emptied in place), then remove every folder the
 * harness's tempDir made. `start` is the harness's startPeer with the peer
 * pushed onto `peers`.
 */
export function cleanupAfterEach(): {
  peers: Pick<TestPeer, 'peer'>[];
  servers: net.Server[];
  start: (o?: Parameters<typeof startPeer>[0]) => Promise<TestPeer>;
} {
  const peers: Pick<TestPeer, 'peer'>[] = [];
  const servers: net.Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) s.close();
    await Promise.all(peers.splice(0).map((p) => p.peer.quit({ force: true }).catch(() => {})));
    cleanupTemp();
  });
  const start = async (o: Parameters<typeof startPeer>[0] = {}): Promise<TestPeer> => {
    const p = await startPeer(o);
    peers.push(p);
    return p;
  };
  return { peers, servers, start };
}
