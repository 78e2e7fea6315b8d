import type { PeerAddress, TransferRoute } from '../../../shared/types.js';
import type { PeerIdentity } from '../identity/identity.js';
import type { Hello } from '../v2/connection.js';
import { encodeFrame } from '../v2/frame.js';
import { TlsLinkError, type TlsFailure } from '../identity/tls-link.js';
import { dialSecureV2, type SecureV2Link } from '../v2/secure-v2.js';
import type { V2Message } from '../v2/messages.js';
import { MAX_PIECE_SIZE, pieceCount, TRANSFER_MAX_FRAME } from './pieces.js';
import { TransferError, type SourceConn } from './source-conn.js';
import { SocketReader } from './socket-reader.js';

/** What opening a transfer connection needs from the peer. */
export interface SourceDialer {
  hello: () => Hello;
  /** Our key and certificate: the link is TLS 1.3, authenticated both ways. */
  identity: () => PeerIdentity;
  /** The ID pinned for an address, if any (a source's own `id`, from its hit, comes first). */
  pinnedId?: (a: PeerAddress) => string | undefined;
  /** The source proved this ID (pins it on first contact). */
  proved?: (a: PeerAddress, id: string) => void;
  setProtocol: (a: PeerAddress, v: 'v1' | 'v2') => void;
  connectTimeoutMs?: number;
  /**
   * PUSH (reach/push.ts): when the source cannot be dialled, ask it to dial us.
   * `idAt` names the peer a recent hit showed at an address.
   */
  push?: {
    idAt(a: PeerAddress): string | undefined;
    request(source: PeerAddress & { id: string }, signal: AbortSignal): Promise<RoutedLink>;
  };
}

/** A link to a source the source opened (PUSH) or a relay spliced, with the way it came. */
export type RoutedLink = SecureV2Link & { route: TransferRoute };

/** Failures where the source may still be there, unreachable from here: worth asking it to push. */
const PUSHABLE = new Set<TlsFailure>(['connect', 'timeout', 'not-tls', 'mismatch']);

/**
 * Open a v2 transfer connection; 'v1' if the peer turned out to be a seed
 * peer. The source must prove the ID its hit named (or the pinned one):
 * a forged hit pointing at another service gets no further than TLS.
 */
export async function openSource(dialer: SourceDialer, source: PeerAddress, signal: AbortSignal): Promise<SourceConn | 'v1'> {
  const timeout = dialer.connectTimeoutMs ?? 5000;
  const addr = { host: source.host, port: source.port };
  const expectedId = source.id ?? dialer.pinnedId?.(addr) ?? dialer.push?.idAt(addr);
  let link: SecureV2Link | 'v1';
  let route: TransferRoute = { kind: 'direct' };
  try {
    link = await dialSecureV2(addr, dialer.identity(), dialer.hello(), {
      expectedId,
      timeoutMs: timeout,
      signal,
      maxFrame: TRANSFER_MAX_FRAME,
    });
  } catch (e) {
    // A firewalled source (or one behind a NAT whose address names nothing from here): ask it to push.
    if (!dialer.push || !expectedId || signal.aborted || !(e instanceof TlsLinkError) || !PUSHABLE.has(e.kind)) throw e;
    const routed = await dialer.push.request({ ...addr, id: expectedId }, signal).catch((pe: Error) => {
      throw new TlsLinkError(`${e.message}; ${pe.message}`, e.kind);
    });
    link = routed;
    route = routed.route;
  }
  if (link === 'v1') {
    dialer.setProtocol(source, 'v1');
    return 'v1';
  }
  const { socket, decoder } = link;
  const onAbort = () => socket.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  socket.once('close', () => signal.removeEventListener('abort', onAbort));
  if (signal.aborted) socket.destroy();
  dialer.setProtocol(source, 'v2');
  dialer.proved?.(addr, link.remoteId);
  return { source, socket, decoder, reader: new SocketReader(socket, decoder.takeRest()), route };
}

/** Send a request and wait for its answer; `queued` frames on the way report the queue position. */
async function request(c: SourceConn, msg: V2Message, onQueued?: (position: number) => void): Promise<V2Message> {
  c.socket.write(encodeFrame(msg));
  for (;;) {
    const m = await c.reader.frame(c.decoder, 30_000);
    if (!m) throw new TransferError('source closed the connection');
    if (m.t === 'queued' && onQueued) {
      onQueued(m.position);
      continue;
    }
    if (m.t === 'error') throw new TransferError(m.message);
    return m;
  }
}

/** A file's identity as a source announces it. */
interface SourceHead {
  name: string;
  size: number;
  sha256: string;
}

/** Ask a source for a file (by hash, or by name) without data: its size and SHA-256. */
export async function fetchHead(
  c: SourceConn,
  want: { sha256?: string; name: string },
  onQueued?: (p: number) => void,
): Promise<SourceHead> {
  const head = await request(
    c,
    { t: 'get', offset: 0, length: 0, more: true, ...(want.sha256 ? { sha256: want.sha256 } : { name: want.name }) },
    onQueued,
  );
  if (head.t !== 'get-ok') throw new TransferError(`unexpected ${head.t} from source`);
  if (want.sha256 && head.sha256 !== want.sha256) throw new TransferError('source offered different content');
  return { name: head.name, size: head.size, sha256: head.sha256 };
}

/** The piece list of a file, checked against its head. */
export async function fetchPieceHashes(
  c: SourceConn,
  head: SourceHead,
  onQueued?: (p: number) => void,
): Promise<{ pieceSize: number; hashes: string[] }> {
  const list = await request(c, { t: 'pieces', sha256: head.sha256 }, onQueued);
  if (list.t !== 'pieces-ok') throw new TransferError(`unexpected ${list.t} from source`);
  if (list.sha256 !== head.sha256 || list.size !== head.size || list.hashes.length !== pieceCount(list.size, list.pieceSize))
    throw new TransferError('source sent an inconsistent piece list');
  // An endgame copy of a piece is held in memory until verified: a source may not make pieces huge.
  if (list.pieceSize > MAX_PIECE_SIZE)
    throw new TransferError(`source's piece size of ${list.pieceSize} bytes is over the ${MAX_PIECE_SIZE}-byte limit`);
  return { pieceSize: list.pieceSize, hashes: list.hashes };
}
