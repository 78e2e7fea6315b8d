import type net from 'node:net';
import type tls from 'node:tls';
import type { PeerAddress } from '../../../shared/types.js';
import { formatAddress } from '../address.js';
import type { PeerIdentity } from '../identity/identity.js';
import { secureAccept, secureDial, TlsLinkError, type SecureDialOptions } from '../identity/tls-link.js';
import { readHandshake, sendHello, type Hello } from './connection.js';
import { FrameDecoder, MAX_FRAME } from './frame.js';
import { couldBeMagic, MAGIC } from './messages.js';
import { readUntil } from '../net/read-until.js';

/**
 * v2 over TLS 1.3. Both ends authenticate with their certificates first
 * (tls-link.ts); the v2 magic and hello then travel inside TLS, and the ID a
 * hello claims must be the ID the certificate proved.
 */

/** A hello that claims another ID than the certificate proved. */
export class HelloIdMismatchError extends Error {
  override readonly name = 'HelloIdMismatchError';
  constructor(
    readonly claimed: string,
    readonly proven: string,
    readonly where: string,
  ) {
    super(`peer at ${where} claims ID ${claimed} in its hello, but its certificate proves ${proven}`);
  }
}

/** Throw {@link HelloIdMismatchError} unless `hello` claims the ID the TLS handshake proved. */
export function checkHelloId(hello: Hello, proven: string, where: string): void {
  if (hello.peerId !== proven) throw new HelloIdMismatchError(hello.peerId, proven, where);
}

/** An outgoing v2 link after both hellos: the other end is `remoteId`, proved and claimed. */
export interface SecureV2Link {
  socket: tls.TLSSocket;
  decoder: FrameDecoder;
  remote: Hello;
  remoteId: string;
}

interface DialV2Options {
  /** The ID the peer at this address must prove (a pin, or the ID a hit named). */
  expectedId?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  maxFrame?: number;
  /** Run TLS over this stream instead of a new TCP connection (a relayed link, reach/relay.ts). */
  socket?: SecureDialOptions['socket'];
}

/**
 * Dial a v2 peer: TLS 1.3 (refusing any other ID than `expectedId`), then our
 * magic and hello, then theirs. Resolves `'v1'` when the address does not
 * speak TLS at all (it closed or answered in plain text: a seed peer), so the
 * caller can fall back to v1, unless an ID is expected there: a peer known by
 * its ID speaks TLS, so no fallback (and no plain-text request) goes to
 * whatever answers in its place. Rejects on anything else, the socket destroyed.
 */
export async function dialSecureV2(
  addr: PeerAddress,
  identity: PeerIdentity,
  hello: Hello,
  opts: DialV2Options,
): Promise<SecureV2Link | 'v1'> {
  let link;
  try {
    link = await secureDial(addr.host, addr.port, identity, {
      expectedId: opts.expectedId,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      socket: opts.socket,
    });
  } catch (e) {
    if (!(e instanceof TlsLinkError) || e.kind !== 'not-tls') throw e;
    // A peer we know by ID speaks TLS: a plain-text answer at its address is someone else, or a downgrade.
    if (opts.expectedId)
      throw new TlsLinkError(
        `${e.message.replace(/ \(a v1 seed peer\?\)$/, '')}, but peer ${opts.expectedId} is expected there: refused`,
        'not-tls',
      );
    return 'v1';
  }
  const where = formatAddress(addr);
  try {
    const decoder = new FrameDecoder(opts.maxFrame ?? MAX_FRAME);
    sendHello(link.socket, hello);
    const remote = await readHandshake(link.socket, decoder, opts.timeoutMs);
    if (remote === 'v1') throw new Error(`peer at ${where} completed TLS but sent no v2 hello`);
    checkHelloId(remote, link.remoteId, where);
    return { socket: link.socket, decoder, remote, remoteId: link.remoteId };
  } catch (e) {
    link.socket.destroy();
    throw e;
  }
}

/** An inbound v2 link after TLS and the magic; the hello is next in `rest` and on the socket. */
interface AcceptedV2 {
  socket: tls.TLSSocket;
  /** What arrived after the magic (the start of the hello). */
  rest: Buffer;
  remoteId: string;
}

/**
 * Upgrade a connection whose first bytes were a TLS ClientHello: TLS 1.3 as
 * the server (the client must present a certificate), then the v2 magic
 * inside. The socket is returned paused. Rejects (socket destroyed) on a
 * failed handshake, a client without certificate, or anything but the magic.
 */
export async function acceptSecureV2(raw: net.Socket, first: Buffer, identity: PeerIdentity, timeoutMs: number): Promise<AcceptedV2> {
  const link = await secureAccept(raw, identity, first, { timeoutMs });
  try {
    const rest = await readMagic(link.socket, timeoutMs);
    return { socket: link.socket, rest, remoteId: link.remoteId };
  } catch (e) {
    link.socket.destroy();
    throw e;
  }
}

/** Read exactly the magic from a fresh socket; resolves with the bytes after it, the socket paused. */
function readMagic(socket: tls.TLSSocket, timeoutMs: number): Promise<Buffer> {
  let buf = Buffer.alloc(0);
  const take = (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    if (!couldBeMagic(buf)) throw new Error('no v2 magic inside TLS');
    return buf.length >= MAGIC.length ? buf.subarray(MAGIC.length) : undefined;
  };
  return readUntil(socket, take, timeoutMs, 'the v2 magic');
}
