import fs from 'node:fs';
import path from 'node:path';
import type { EventPayloads } from '../../shared/contract.js';
import { createOperations } from '../../electron/peer/operations.js';
import type { Peer } from '../../electron/peer/peer.js';
import { TypedEmitter } from '../../electron/peer/typed-emitter.js';
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

/** A stand-in peer for the host's /media tests: it shares `sharedDir`, finds files with `mediaPath` and imports nothing. */
export function mediaOnlyPeer(sharedDir: string, mediaPath: (name: string) => string | undefined): WebHostPeer {
  return { events: new TypedEmitter<EventPayloads>(), mediaPath, settings: () => ({ sharedDir }), importStream: async () => '' };
}
