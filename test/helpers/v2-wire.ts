/**
 * v2 by hand, for tests that play a scripted or hostile peer: v2 runs inside
 * TLS 1.3 with a certificate on both sides, so a hand-written client or
 * server needs an identity and the TLS handshake before its magic and hello.
 */
import crypto from 'node:crypto';
import type net from 'node:net';
import type tls from 'node:tls';
import type { PeerAddress } from '../../shared/types.js';
import { loadOrCreateIdentity, type PeerIdentity } from '../../electron/peer/identity/identity.js';
import { peerIdFromSpki } from '../../electron/peer/identity/peer-id.js';
import { secureDial } from '../../electron/peer/identity/tls-link.js';
import { readHandshake, sendHello, type Hello } from '../../electron/peer/v2/connection.js';
import { FrameDecoder } from '../../electron/peer/v2/frame.js';
import { PROTOCOL_VERSION } from '../../electron/peer/v2/messages.js';
import { acceptSecureV2 } from '../../electron/peer/v2/secure-v2.js';
import { tempDir } from './harness.js';
import { listenSniffing } from './tls-sniff.js';

const identities = new Map<string, Promise<PeerIdentity>>();

/** A test identity, made once per process and name (its files live in a temp folder; the keys stay in memory). */
export function testIdentity(name = 'default'): Promise<PeerIdentity> {
  let p = identities.get(name);
  if (!p) identities.set(name, (p = loadOrCreateIdentity(tempDir('mactella-test-id-'))));
  return p;
}

let fresh = 0;
/** A new test identity each call: for scripted peers that must not share an ID (the peer keeps one link per ID). */
export function newTestIdentity(): Promise<PeerIdentity> {
  return testIdentity(`fresh-${fresh++}`);
}

/** A well-formed peer ID that no key behind it proves (for messages that only name a peer). */
export function newPeerId(): string {
  return peerIdFromSpki(crypto.randomBytes(91));
}

/** A hand-made v2 link after both hellos. */
export interface HandV2 {
  socket: tls.TLSSocket;
  decoder: FrameDecoder;
  remote: Hello;
  identity: PeerIdentity;
}

export interface HandDialOptions {
  role?: Hello['role'];
  /** Our advertised listening port (default 1). */
  port?: number;
  /** The ID the hello claims; default the identity's own (anything else is an impostor and is dropped). */
  claim?: string;
  identity?: PeerIdentity;
  localAddress?: string;
  timeoutMs?: number;
}

/** Dial a peer's port as a scripted v2 peer: TLS, then our magic and hello, then theirs. */
export async function dialV2ByHand(to: PeerAddress, o: HandDialOptions = {}): Promise<HandV2> {
  const identity = o.identity ?? (await testIdentity());
  const timeoutMs = o.timeoutMs ?? 5000;
  const { socket } = await secureDial(to.host, to.port, identity, { timeoutMs, localAddress: o.localAddress });
  const decoder = new FrameDecoder();
  sendHello(socket, {
    t: 'hello',
    v: PROTOCOL_VERSION,
    peerId: o.claim ?? identity.id,
    port: o.port ?? 1,
    role: o.role ?? 'transfer',
    agent: 'raw-test',
  });
  const remote = await readHandshake(socket, decoder, timeoutMs).catch((e: unknown) => {
    socket.destroy();
    throw e;
  });
  if (remote === 'v1') {
    socket.destroy();
    throw new Error('peer did not answer the v2 handshake');
  }
  return { socket, decoder, remote, identity };
}

/**
 * A scripted v2 server on 127.0.0.1: it accepts TLS as `identity` (the
 * client must present a certificate), reads the magic, and hands the TLS
 * socket (paused), the bytes after the magic and the client's proved ID to
 * `onLink`. Anything that is not TLS is closed.
 */
export async function serveV2ByHand(
  identity: PeerIdentity,
  onLink: (socket: tls.TLSSocket, rest: Buffer, remoteId: string) => void,
): Promise<{ port: number; addr: PeerAddress & { id: string }; server: net.Server; close: () => void }> {
  const { server, port, close } = await listenSniffing((raw, first, isTls) => {
    if (!isTls) return void raw.destroy();
    acceptSecureV2(raw, first, identity, 5000).then(
      ({ socket, rest, remoteId }) => onLink(socket, rest, remoteId),
      () => raw.destroy(),
    );
  });
  return { port, addr: { host: '127.0.0.1', port, id: identity.id }, server, close: () => void close() };
}
