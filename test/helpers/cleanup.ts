import fs from 'node:fs';
import { afterEach } from 'vitest';

interface Quittable {
  peer: { quit(o: { force: boolean }): Promise<void> };
}

/**
 * The peers and folders a test file creates, force-quit and removed after
 * each test. Push onto the returned arrays; they are emptied in place.
 */
export function cleanupAfterEach<P extends Quittable>(): { peers: P[]; dirs: string[] } {
  const peers: P[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
    await Promise.all(dirs.map((d) => fs.promises.rm(d, { recursive: true, force: true })));
    peers.length = 0;
    dirs.length = 0;
  });
  return { peers, dirs };
}
