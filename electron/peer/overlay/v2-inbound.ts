import type net from 'node:net';
import { isSafeNetworkName } from '../../../shared/types.js';
import type { PeerComponents, PeerSelf } from '../components.js';
import type { PeerTuning } from '../tuning.js';
import type { Hello } from '../v2/connection.js';
import { encodeFrame, FrameDecoder } from '../v2/frame.js';
import { MAGIC, PROTOCOL_VERSION, type V2Message } from '../v2/messages.js';
import { readUntil } from '../net/read-until.js';
import { checkHelloId } from '../v2/secure-v2.js';

type Components = Pick<PeerComponents, 'library' | 'transfers' | 'log' | 'stats'>;

const LISTING_PAGE = 200;

/** Read the next frame from a paused socket, within a time limit. */
export function nextFrame(socket: net.Socket, decoder: FrameDecoder, timeoutMs: number): Promise<V2Message> {
  return readUntil(
    socket,
    (c) => {
      decoder.append(c);
      return decoder.next();
    },
    timeoutMs,
    'a frame',
  );
}

/**
 * An inbound v2 connection after the magic: read the hello, answer with ours,
 * and hand the connection to the part its role names (neighbour, transfer, listing).
 */
export class V2Inbound {
  constructor(
    private readonly c: Components,
    private readonly self: PeerSelf,
    private readonly tuning: Pick<PeerTuning, 'connection' | 'handshakeTimeoutMs'>,
    private readonly neighbour: (socket: net.Socket, decoder: FrameDecoder, hello: Hello) => void,
    /** A source we asked to push dialled in (reach/push.ts), or a relay link (reach/relay.ts). */
    private readonly reachLink?: (socket: net.Socket, decoder: FrameDecoder, hello: Hello, remoteId: string) => void,
  ) {}

  /**
   * An inbound v2 link after TLS and the magic: `remoteId` is the ID its
   * certificate proved; a hello that claims any other is dropped.
   */
  async accept(socket: net.Socket, rest: Buffer, remoteId: string): Promise<void> {
    const decoder = new FrameDecoder(this.tuning.connection.maxFrame);
    decoder.append(rest);
    let hello: V2Message | undefined;
    try {
      hello = decoder.next() ?? (await nextFrame(socket, decoder, this.tuning.handshakeTimeoutMs));
    } catch (e) {
      this.c.stats.drop('bad handshake');
      this.c.log.warn(`dropped connection from ${socket.remoteAddress}: ${(e as Error).message}`);
      socket.destroy();
      return;
    }
    if (hello.t !== 'hello') {
      this.c.stats.drop('bad handshake');
      socket.destroy();
      return;
    }
    this.c.stats.in('hello');
    try {
      checkHelloId(hello, remoteId, String(socket.remoteAddress));
    } catch (e) {
      this.c.stats.drop('hello claims another ID');
      this.c.log.warn(`dropped connection: ${(e as Error).message}`);
      socket.destroy();
      return;
    }
    if (hello.v < PROTOCOL_VERSION) {
      socket.destroy();
      return;
    }
    socket.write(Buffer.concat([MAGIC, encodeFrame(this.self.hello(hello.role))]));
    if (hello.role === 'neighbour') return this.neighbour(socket, decoder, hello);
    if (hello.role === 'push' || hello.role === 'relay') {
      if (this.reachLink) return this.reachLink(socket, decoder, hello, remoteId);
      socket.destroy();
      return;
    }
    await this.serveRequest(socket, decoder, hello);
  }

  /** A transfer or listing connection: one request. */
  private async serveRequest(socket: net.Socket, decoder: FrameDecoder, hello: Hello): Promise<void> {
    try {
      const req = decoder.next() ?? (await nextFrame(socket, decoder, this.tuning.handshakeTimeoutMs));
      this.c.stats.in(req.t);
      if (hello.role === 'transfer' && (req.t === 'get' || req.t === 'pieces'))
        return await this.c.transfers!.serveTransfer(socket, decoder, req, hello);
      if (hello.role === 'query' && req.t === 'list') return this.serveListing(socket);
      socket.end(encodeFrame({ t: 'error', code: 'bad-request', message: `unexpected ${req.t} on a ${hello.role} connection` }));
    } catch (e) {
      this.c.stats.drop('bad request');
      socket.destroy();
      this.c.log.warn(`bad request from ${socket.remoteAddress}: ${(e as Error).message}`);
    }
  }

  private serveListing(socket: net.Socket): void {
    // A name the network refuses would make the whole listing invalid; such files are left out.
    const files = this.c
      .library()
      .list()
      .filter((f) => isSafeNetworkName(f.name));
    const frames: Buffer[] = [];
    for (let i = 0; i < files.length || i === 0; i += LISTING_PAGE) {
      const page = files.slice(i, i + LISTING_PAGE).map((f) => ({ name: f.name, size: f.size, type: f.type, sha256: f.sha256 }));
      frames.push(encodeFrame({ t: 'list-result', files: page, more: i + LISTING_PAGE < files.length }));
      this.c.stats.out('list-result');
    }
    socket.end(Buffer.concat(frames));
  }
}
