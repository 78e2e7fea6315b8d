import { createOperations } from '../../electron/peer/operations.js';
import type { Peer } from '../../electron/peer/peer.js';
import { startWebHost, type WebHost, type WebHostOptions, type WebHostPeer } from '../../electron/web-host/server.js';

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
