import crypto from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { formatAddress } from '../address.js';
import type { PeerIdentity } from './identity.js';
import { peerIdFromCertificate } from './peer-id.js';

/**
 * TLS 1.3 links between peers, authenticated both ways by peer ID.
 *
 * Certificates are self-signed, so no CA chain is checked
 * (`rejectUnauthorized: false`). What authenticates the peer is TLS 1.3's
 * CertificateVerify: the handshake only completes if the other side holds the
 * private key of the certificate it presented. We then derive the peer ID from
 * that certificate's public key and compare it with the ID we expect.
 *
 * Cipher suites: AES-GCM only, which both TLS libraries run in hardware on
 * current CPUs. Node takes TLS 1.3 suites in its `ciphers` option (names
 * starting `TLS_`; there is no separate `ciphersuites` option). In Node
 * (OpenSSL) the list is enforced: a client offering only ChaCha20 gets no
 * link (tested). In Electron's main process (BoringSSL) Node accepts the
 * TLS 1.3 names but does nothing with them (Node's SetCipherSuites is compiled
 * out under OPENSSL_IS_BORINGSSL, which has no API for TLS 1.3 suites):
 * BoringSSL always offers AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305,
 * ChaCha20 first only on CPUs without AES instructions. So a Node peer always
 * gets AES-GCM, and two Electron peers on such CPUs may get ChaCha20, which is
 * as safe. We therefore require exactly TLS 1.3, never a particular suite.
 * The list also names the TLS 1.2 ECDSA AES-GCM suites, never used (TLS 1.3
 * only), so that BoringSSL is never handed an empty TLS 1.2 list.
 */
const TLS_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256';

const CIPHERS = `${TLS_CIPHERSUITES}:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256`;

/** TLS 1.3 and nothing else, on both ends. */
const TLS13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const satisfies tls.SecureContextOptions;

/** Time allowed for a TLS handshake unless the caller says otherwise. */
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** A TLS link whose other end proved it holds the key of `remoteId`. */
export interface SecureLink {
  socket: tls.TLSSocket;
  remoteId: string;
}

/**
 * Why a link could not be made:
 * - `connect`: no TCP connection (refused, unreachable);
 * - `not-tls`: the other end closed, reset, or answered in plain text instead
 *   of TLS, as a v1 seed peer does;
 * - `handshake`: TLS itself failed (alert, no shared suite, not TLS 1.3);
 * - `no-certificate`: the other end presented none;
 * - `mismatch`: it proved another peer ID than required;
 * - `timeout`, `aborted`.
 */
export type TlsFailure = 'connect' | 'not-tls' | 'handshake' | 'no-certificate' | 'mismatch' | 'timeout' | 'aborted';

/** A link that failed; `kind` says how (see {@link TlsFailure}). The message is one line. */
export class TlsLinkError extends Error {
  override readonly name: string = 'TlsLinkError';
  constructor(
    message: string,
    readonly kind: TlsFailure,
  ) {
    super(message);
  }
}

/** The peer at an address proved a different ID than the one we required. */
export class PeerIdMismatchError extends TlsLinkError {
  override readonly name = 'PeerIdMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly address: string,
  ) {
    super(`expected peer ${expected} at ${address}, but it presented ${actual}`, 'mismatch');
  }
}

export interface SecureDialOptions {
  /** Refuse the link unless the other end proves this ID. */
  expectedId?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Local address to dial from (tests use 127.0.0.x to play several hosts). */
  localAddress?: string;
  /** Run TLS over this existing stream instead of dialling (a relayed link: TLS inside TLS). */
  socket?: Duplex;
}

interface SecureAcceptOptions {
  expectedId?: string;
  timeoutMs?: number;
}

const contexts = new WeakMap<PeerIdentity, tls.SecureContext>();

/** One SecureContext per identity: parsing the key for every link would cost more than the handshake's own work. */
function contextFor(identity: PeerIdentity): tls.SecureContext {
  let ctx = contexts.get(identity);
  if (!ctx) {
    ctx = tls.createSecureContext({ key: identity.keyPem, cert: identity.certPem, ...TLS13, ciphers: CIPHERS });
    contexts.set(identity, ctx);
  }
  return ctx;
}

/**
 * Whether the first bytes of a connection are a TLS handshake record
 * (content type 22, version major 3): how the one listening port tells a v2
 * (TLS) connection from a v1 seed message. Needs at least two bytes;
 * {@link couldBeTlsClientHello} says whether fewer could still become one.
 */
export function looksLikeTlsClientHello(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x16 && buf[1] === 0x03;
}

/** Whether `buf` is a prefix that could still turn out to be a TLS ClientHello. */
export function couldBeTlsClientHello(buf: Uint8Array): boolean {
  return buf.length === 0 || (buf[0] === 0x16 && (buf.length === 1 || buf[1] === 0x03));
}

/**
 * The peer ID proved by the other end of a finished handshake. Throws if it
 * presented no certificate, or not TLS 1.3.
 */
function authenticatedPeerId(socket: tls.TLSSocket, where: string): string {
  if (socket.getProtocol() !== 'TLSv1.3') {
    throw new TlsLinkError(`peer at ${where} negotiated ${socket.getProtocol() ?? 'no TLS'}, not TLS 1.3`, 'handshake');
  }
  const cert = peerCertificate(socket);
  if (!cert) throw new TlsLinkError(`peer at ${where} presented no certificate`, 'no-certificate');
  return peerIdFromCertificate(cert);
}

function peerCertificate(socket: tls.TLSSocket): crypto.X509Certificate | undefined {
  if (typeof socket.getPeerX509Certificate === 'function') return socket.getPeerX509Certificate();
  const raw = socket.getPeerCertificate(true)?.raw;
  return raw ? new crypto.X509Certificate(raw) : undefined;
}

/**
 * Dial `host:port` over TLS 1.3, present our certificate, and authenticate
 * the other end. Rejects on timeout, abort, a failed handshake, or (with
 * `expectedId`) a peer that proves another ID ({@link PeerIdMismatchError}).
 */
export function secureDial(host: string, port: number, identity: PeerIdentity, opts: SecureDialOptions = {}): Promise<SecureLink> {
  const where = formatAddress({ host, port });
  if (opts.signal?.aborted) return Promise.reject(new Error(`connecting to ${where}: aborted`));
  const socket = tls.connect({
    // Passed through to net.connect; @types/node's tls options do not list it.
    ...(opts.socket ? { socket: opts.socket } : { host, port, ...({ localAddress: opts.localAddress } as object) }),
    secureContext: contextFor(identity),
    ...TLS13,
    rejectUnauthorized: false, // self-signed by design: we authenticate the key below
    checkServerIdentity: () => undefined,
  });
  socket.setNoDelay(true);
  return settle(socket, 'secureConnect', where, opts);
}

/**
 * Upgrade a connection the listener accepted, whose first bytes it already
 * read (to sniff a ClientHello), into an authenticated TLS 1.3 link as the
 * server. The bytes are put back in front of the stream before TLS reads it.
 */
export function secureAccept(
  raw: net.Socket,
  identity: PeerIdentity,
  firstBytes: Buffer,
  opts: SecureAcceptOptions = {},
): Promise<SecureLink> {
  const where = formatAddress({ host: raw.remoteAddress ?? '?', port: raw.remotePort ?? 0 });
  raw.setNoDelay(true);
  if (firstBytes.length > 0) raw.unshift(firstBytes);
  // TLSSocket feeds whatever the raw socket has buffered (our unshifted bytes) to TLS first.
  const socket = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: contextFor(identity),
    requestCert: true,
    rejectUnauthorized: false,
  });
  return settle(socket, 'secure', where, opts);
}

/** Signs that the other end does not speak TLS at all (OpenSSL and BoringSSL spell them differently). */
const NOT_TLS = /wrong.version.number|packet.length.too.long|http.request|unexpected.record|record.too.large/i;

/** One line for a failed handshake, and how it failed. */
function classify(e: NodeJS.ErrnoException, where: string, connected: boolean): TlsLinkError {
  if (!connected) return new TlsLinkError(`cannot connect to ${where}: ${e.message}`, 'connect');
  const reason = (e as { reason?: string }).reason ?? e.message.split('\n')[0]!;
  if (NOT_TLS.test(`${e.code ?? ''} ${reason}`)) {
    return new TlsLinkError(`${where} answered in plain text, not TLS (a v1 seed peer?)`, 'not-tls');
  }
  // Node's "socket disconnected before secure TLS connection was established" is an ECONNRESET too.
  if (e.code === 'ECONNRESET' || e.code === 'EPIPE') {
    return new TlsLinkError(`${where} closed the connection without answering TLS (a v1 seed peer?)`, 'not-tls');
  }
  return new TlsLinkError(`TLS handshake with ${where} failed: ${reason}`, 'handshake');
}

/** Wait for the handshake, then authenticate; destroy the socket on any failure. */
function settle(socket: tls.TLSSocket, doneEvent: 'secure' | 'secureConnect', where: string, opts: SecureDialOptions): Promise<SecureLink> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  // Errors after the handshake are the caller's to handle; this keeps a late one from crashing the process meanwhile.
  socket.on('error', () => {});
  return new Promise<SecureLink>((resolve, reject) => {
    const fail = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new TlsLinkError(`TLS handshake with ${where} timed out after ${timeoutMs} ms`, 'timeout')),
      timeoutMs,
    );
    const onAbort = () => fail(new TlsLinkError(`connecting to ${where}: aborted`, 'aborted'));
    // A dial that never reached TCP "connect" failed to connect, not to shake hands.
    let connected = doneEvent === 'secure';
    socket.once('connect', () => (connected = true));
    const onError = (e: NodeJS.ErrnoException) => fail(classify(e, where, connected));
    const onClose = () =>
      fail(
        doneEvent === 'secureConnect' && connected
          ? new TlsLinkError(`${where} closed the connection without answering TLS (a v1 seed peer?)`, 'not-tls')
          : new TlsLinkError(`TLS handshake with ${where} failed: connection closed`, connected ? 'handshake' : 'connect'),
      );
    const onDone = () => {
      let remoteId: string;
      try {
        remoteId = authenticatedPeerId(socket, where);
      } catch (e) {
        return fail(e as Error);
      }
      if (opts.expectedId && remoteId !== opts.expectedId) return fail(new PeerIdMismatchError(opts.expectedId, remoteId, where));
      cleanup();
      resolve({ socket, remoteId });
    };
    const cleanup = () => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off(doneEvent, onDone);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once(doneEvent, onDone);
  });
}

/**
 * What this runtime's TLS negotiates between two of our contexts: a
 * handshake with ourselves over loopback. The peer logs it once at start, so
 * the desktop app's log shows what Electron's BoringSSL picked (TLS 1.3 with
 * AES-GCM where the CPU has AES instructions), not only what Node's OpenSSL does.
 */
export async function tlsSelfCheck(identity: PeerIdentity, timeoutMs = 5000): Promise<{ protocol: string; cipher: string }> {
  const server = net.createServer((raw) => {
    raw.on('error', () => {});
    raw.once('data', (first: Buffer) => {
      raw.pause();
      secureAccept(raw, identity, first, { timeoutMs }).then(
        (l) => l.socket.end(),
        () => raw.destroy(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { port } = server.address() as net.AddressInfo;
    const { socket } = await secureDial('127.0.0.1', port, identity, { expectedId: identity.id, timeoutMs });
    const result = { protocol: socket.getProtocol() ?? '?', cipher: socket.getCipher().standardName };
    socket.destroy();
    return result;
  } finally {
    server.close();
  }
}
