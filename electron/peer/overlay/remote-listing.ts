import type net from 'node:net';
import type { PeerAddress, RemoteListing } from '../../../shared/types.js';
import type { PeerComponents, PeerSelf } from '../components.js';
import { listV1 } from '../v1/client.js';
import { encodeFrame, type FrameDecoder } from '../v2/frame.js';
import { dialSecureV2 } from '../v2/secure-v2.js';
import type { FileRef } from '../v2/messages.js';

type Components = Pick<PeerComponents, 'hostCache' | 'stats'>;

/** Bounds on one remote listing: a peer streaming pages forever cannot exhaust our memory. */
export interface ListingLimits {
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

function readListing(socket: net.Socket, decoder: FrameDecoder, limits: ListingLimits): Promise<FileRef[]> {
  return new Promise((resolve, reject) => {
    const files: FileRef[] = [];
    let bytes = 0;
    const timer = setTimeout(() => fail(new Error('timed out waiting for the listing')), 10_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(e);
    };
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limits.maxBytes) return fail(new Error(`listing larger than ${mib(limits.maxBytes)} MiB: stopped`));
      try {
        for (const m of decoder.push(chunk)) {
          if (m.t === 'list-result') {
            files.push(...m.files);
            if (files.length > limits.maxFiles) return fail(new Error(`listing of more than ${limits.maxFiles} files: stopped`));
            if (!m.more) {
              clearTimeout(timer);
              resolve(files);
              return;
            }
          } else if (m.t === 'error') return fail(new Error(m.message));
        }
      } catch (e) {
        fail(e as Error);
      }
    });
    socket.on('close', () => fail(new Error('connection closed before the listing ended')));
    socket.resume();
  });
}

function mib(n: number): string {
  return String(Math.round((n / 1024 / 1024) * 10) / 10);
}
