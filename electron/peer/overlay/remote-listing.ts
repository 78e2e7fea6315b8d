import type net from 'node:net';
import type { PeerAddress, RemoteListing } from '../../../shared/types.js';
import type { PeerComponents, PeerSelf } from '../components.js';
import { readUntil } from '../net/read-until.js';
import { listV1 } from '../v1/client.js';
import { encodeFrame, type FrameDecoder } from '../v2/frame.js';
import { dialSecureV2 } from '../v2/secure-v2.js';
import type { FileRef } from '../v2/messages.js';

type Components = Pick<PeerComponents, 'hostCache' | 'stats'>;

/** Bounds on one remote listing: a peer streaming pages forever cannot exhaust our memory. */
interface ListingLimits {
  timeoutMs: number;
  maxFiles: number;
  maxBytes: number;
}

/**
 * A remote peer's shared files, whatever protocol it speaks (v2 `list`, else
 * v1 `LISTR`). Over v2 the listing names the ID the peer proved, and the
 * peer must prove the ID given with the address or pinned for it.
 */
export async function listRemote(c: Components, self: PeerSelf, addr: PeerAddress, limits: ListingLimits): Promise<RemoteListing> {
  const { timeoutMs } = limits;
  const peer = { host: addr.host, port: addr.port };
  if (c.hostCache.get(peer)?.protocol !== 'v1') {
    const link = await dialSecureV2(peer, self.identity(), self.hello('query'), {
      expectedId: addr.id ?? c.hostCache.pinnedId(peer),
      timeoutMs,
    });
    if (link !== 'v1') {
      try {
        c.hostCache.setProtocol(peer, 'v2');
        c.hostCache.pin(peer, link.remoteId);
        link.socket.write(encodeFrame({ t: 'list' }));
        c.stats.out('list');
        const files = await readListing(link.socket, link.decoder, limits);
        return { peer: { ...peer, id: link.remoteId }, protocol: 'v2', files };
      } finally {
        link.socket.destroy();
      }
    }
    c.hostCache.setProtocol(peer, 'v1');
  }
  return { peer, protocol: 'v1', files: await listV1(addr.host, addr.port, timeoutMs) };
}

/** Read `list-result` pages until the last; the caller destroys the socket whatever the outcome. */
function readListing(socket: net.Socket, decoder: FrameDecoder, limits: ListingLimits): Promise<FileRef[]> {
  const files: FileRef[] = [];
  let bytes = 0;
  const take = (chunk: Buffer): FileRef[] | undefined => {
    bytes += chunk.length;
    if (bytes > limits.maxBytes) throw new Error(`listing larger than ${mib(limits.maxBytes)} MiB: stopped`);
    for (const m of decoder.push(chunk)) {
      if (m.t === 'list-result') {
        files.push(...m.files);
        if (files.length > limits.maxFiles) throw new Error(`listing of more than ${limits.maxFiles} files: stopped`);
        if (!m.more) return files;
      } else if (m.t === 'error') throw new Error(m.message);
    }
    return undefined;
  };
  const closed = (): never => {
    throw new Error('connection closed before the listing ended');
  };
  return readUntil(socket, take, 10_000, 'the listing', { closed });
}

function mib(n: number): string {
  return String(Math.round((n / 1024 / 1024) * 10) / 10);
}
