import fs from 'node:fs';
import path from 'node:path';
import { createOperations } from '../../electron/peer/operations.js';
import type { Peer } from '../../electron/peer/peer.js';
import { startWebHost, type WebHost, type WebHostOptions, type WebHostPeer } from '../../electron/web-host/server.js';
import { tempDir } from './harness.js';

/**
 * The web host on 127.0.0.1, any free port, over a stand-in peer (the
 * operations are built from it as the real host builds them), with a silent
 * log unless `o.log` is given.
 */
export function startTestWebHost(
  peer: WebHostPeer,
  o: Omit<WebHostOptions, 'peer' | 'operations' | 'host' | 'port' | 'log'> & Partial<Pick<WebHostOptions, 'log'>>,
): Promise<WebHost> {
  return startWebHost({
    peer,
    operations: createOperations(peer as unknown as Peer),
    host: '127.0.0.1',
    port: 0,
    log: { info() {}, warn() {}, error() {} },
    ...o,
  });
}

/**
 * A new temp folder (removed by the harness's cleanupTemp) holding a minimal
 * built UI in `web/` (index.html) for the host to serve as its webRoot; the
 * test adds its own files in and around it.
 */
export async function tempWebRoot(prefix: string): Promise<{ dir: string; web: string }> {
  const dir = tempDir(prefix);
  const web = path.join(dir, 'web');
  await fs.promises.mkdir(web, { recursive: true });
  await fs.promises.writeFile(path.join(web, 'index.html'), '<!doctype html><title>MacTella</title>');
  return { dir, web };
}
