/** A scripted v2 neighbour and one-shot v1 requests, to play a hostile or scripted peer over real sockets. */
import net from 'node:net';
import type { PeerAddress } from '../../shared/types.js';
import { connectTcp, readHandshake, sendHello, type Hello } from '../../electron/peer/v2/connection.js';
import { encodeFrame, FrameDecoder } from '../../electron/peer/v2/frame.js';
import { PROTOCOL_VERSION, type V2Message } from '../../electron/peer/v2/messages.js';
import { newId } from './harness.js';

/**
 * A scripted v2 neighbour over a real socket: it does the handshake, then
 * records every frame it gets and can send any frame (valid or not).
 */
export class RawNeighbour {
  readonly received: V2Message[] = [];
  closed = false;
  readonly peerId = newId();
  remote!: Hello;
  private constructor(readonly socket: net.Socket) {}

  static async connect(to: PeerAddress, o: { role?: Hello['role']; port?: number; localAddress?: string } = {}): Promise<RawNeighbour> {
    const socket = o.localAddress
      ? net.connect({ host: to.host, port: to.port, localAddress: o.localAddress })
      : await connectTcp(to.host, to.port, 2000);
    if (o.localAddress) await new Promise<void>((res, rej) => socket.once('connect', () => res()).once('error', rej));
    const n = new RawNeighbour(socket);
    const decoder = new FrameDecoder();
    sendHello(socket, {
      t: 'hello',
      v: PROTOCOL_VERSION,
      peerId: n.peerId,
      port: o.port ?? 1,
      role: o.role ?? 'neighbour',
      agent: 'raw-test',
    });
    const remote = await readHandshake(socket, decoder, 2000);
    if (remote === 'v1') throw new Error('peer did not answer the handshake');
    n.remote = remote;
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
