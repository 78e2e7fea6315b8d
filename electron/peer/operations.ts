import { parseOperationArgs, type OperationName, type OperationResult } from '../../shared/contract.js';
import type { Peer } from './peer.js';

export type OperationHandlers = { [K in OperationName]: (args: unknown) => Promise<OperationResult<K>> };

/**
 * The contract's operations bound to one peer. Every adapter (Electron IPC,
 * the web host) calls through this table, so argument validation and the
 * mapping to peer methods exist once.
 */
export function createOperations(peer: Peer): OperationHandlers {
  return {
    'library:list': async (a) => (parseOperationArgs('library:list', a), peer.listLocal()),
    'remote:list': async (a) => peer.listRemote(parseOperationArgs('remote:list', a)),
    'search:start': async (a) => {
      const { query, ttl, type } = parseOperationArgs('search:start', a);
      return peer.search(query, ttl, type);
    },
    'discover:start': async (a) => peer.discover(parseOperationArgs('discover:start', a).ttl),
    'peers:list': async (a) => (parseOperationArgs('peers:list', a), peer.peers()),
    'peers:add': async (a) => peer.addPeer(parseOperationArgs('peers:add', a)),
    'peers:reset': async (a) => (parseOperationArgs('peers:reset', a), peer.reset()),
    'peers:remove': async (a) => peer.removePeer(parseOperationArgs('peers:remove', a)),
    'transfer:list': async (a) => (parseOperationArgs('transfer:list', a), peer.transfersList()),
    'transfer:start': async (a) => peer.download(parseOperationArgs('transfer:start', a)),
    'transfer:pause': async (a) => peer.pauseTransfer(parseOperationArgs('transfer:pause', a).id),
    'transfer:resume': async (a) => peer.resumeTransfer(parseOperationArgs('transfer:resume', a).id),
    'transfer:cancel': async (a) => peer.cancelTransfer(parseOperationArgs('transfer:cancel', a).id),
    'settings:get': async (a) => (parseOperationArgs('settings:get', a), peer.settings()),
    'settings:set': async (a) => peer.updateSettings(parseOperationArgs('settings:set', a)),
    'library:import': async (a) => peer.importFiles(parseOperationArgs('library:import', a).paths),
    'stats:get': async (a) => (parseOperationArgs('stats:get', a), peer.statsSnapshot()),
    'stream:open': async (a) => peer.streams.open(parseOperationArgs('stream:open', a)),
    'stream:close': async (a) => ({ closed: await peer.streams.close(parseOperationArgs('stream:close', a).id) }),
    'network:doctor': async (a) => (parseOperationArgs('network:doctor', a), peer.doctor()),
  };
}
