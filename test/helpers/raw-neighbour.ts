/** A scripted v2 neighbour and one-shot v1 requests, to play a hostile or scripted peer over real sockets. */
import net from 'node:net';
import type tls from 'node:tls';
import type { PeerAddress } from '../../shared/types.js';
import type { Hello } from '../../electron/peer/v2/connection.js';
import { encodeFrame, FrameDecoder } from '../../electron/peer/v2/frame.js';
import type { V2Message } from '../../electron/peer/v2/messages.js';
import { dialV2ByHand, newTestIdentity } from './v2-wire.js';

/**
 * A scripted v2 neighbour over a real socket: it does the handshake, then
 * records every frame it gets and can send any frame (valid or not).
 */
export class RawNeighbour {
  readonly received: V2Message[] = [];
  closed = false;
  remote!: Hello;
  private constructor(
    readonly socket: tls.TLSSocket,
    /** The ID this neighbour proved (its test identity's) and claimed. */
    readonly peerId: string,
  ) {}

  /** Dial over TLS with a test identity (v2 runs only inside TLS), then the hellos. */
  static async connect(to: PeerAddress, o: { role?: Hello['role']; port?: number; localAddress?: string } = {}): Promise<RawNeighbour> {
    const identity = await newTestIdentity();
    const link = await dialV2ByHand(to, {
      role: o.role ?? 'neighbour',
      port: o.port,
      localAddress: o.localAddress,
      identity,
      timeoutMs: 2000,
    });
    const { socket, decoder } = link;
    const n = new RawNeighbour(socket, link.identity.id);
    n.remote = link.remote;
    socket.on('data', (c: Buffer) => {
      try {
        n.received.push(...decoder.push(c));
      } catch {
        socket.destroy();
      }
    });
    socket.on('close', () => (n.closed = true));
    socket.on('error', () => {});
    const rest = decoder.takeRest();
    if (rest.length) n.received.push(...new FrameDecoder().push(rest));
    socket.resume();
    return n;
  }

  send(m: V2Message): void {
    this.socket.write(encodeFrame(m));
  }

  of<T extends V2Message['t']>(t: T): Extract<V2Message, { t: T }>[] {
    return this.received.filter((m): m is Extract<V2Message, { t: T }> => m.t === t);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One v1 request on its own connection; resolves with the whole reply ('' if the peer just closed or reset). */
export function v1Request(to: PeerAddress, text: string | Buffer, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = net.connect({ host: to.host, port: to.port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(), timeoutMs);
    s.on('connect', () => s.write(text));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}
