import { afterEach } from 'vitest';
import { cleanupTemp, type TestPeer } from './harness.js';

/**
 * After each test: force-quit the peers pushed onto the returned array (it is
 * emptied in place), then remove every folder the harness's tempDir made.
 */
export function cleanupAfterEach(): { peers: Pick<TestPeer, 'peer'>[] } {
  const peers: Pick<TestPeer, 'peer'>[] = [];
  afterEach(async () => {
    await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
    peers.length = 0;
    cleanupTemp();
  });
  return { peers };
}
