import type net from 'node:net';
import { couldBeTlsClientHello, looksLikeTlsClientHello } from '../../electron/peer/identity/tls-link.js';
import { listenTracked, type TrackedServer } from './tracked-server.js';

/**
 * Read a connection's first bytes until they tell whether it opens with a TLS
 * ClientHello (as the peer's one listening port tells v2 from v1), then pause
 * the socket and hand the bytes on: the TLS side passes them to secureAccept.
 */
export function sniffTls(raw: net.Socket, onFirst: (first: Buffer, isTls: boolean) => void): void {
  let first = Buffer.alloc(0);
  const onData = (c: Buffer) => {
    first = Buffer.concat([first, c]);
    if (first.length < 2 && couldBeTlsClientHello(first)) return;
    raw.off('data', onData);
    raw.pause();
    onFirst(first, looksLikeTlsClientHello(first));
  };
  raw.on('data', onData);
}

/**
 * A loopback server (port 0, every socket closed with it) that sniffs each
 * connection with {@link sniffTls}: for scripted peers and the TLS benchmarks.
 */
export function listenSniffing(onFirst: (raw: net.Socket, first: Buffer, isTls: boolean) => void): Promise<TrackedServer> {
  return listenTracked((raw) => sniffTls(raw, (first, isTls) => onFirst(raw, first, isTls)));
}
