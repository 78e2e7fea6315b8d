import net from 'node:net';
import { normalizeHost } from '../address.js';
import { readUntil } from '../net/read-until.js';
import { TokenBucket } from '../token-bucket.js';
import { TypedEmitter } from '../typed-emitter.js';
import { encodeFrame, FrameDecoder, MAX_FRAME } from './frame.js';
import { couldBeMagic, MAGIC, V2ProtocolError, type V2Message, type V2Of } from './messages.js';

export type Hello = V2Of<'hello'>;

export interface ConnectionLimits {
  keepaliveMs: number;
  idleTimeoutMs: number;
  /** Sustained messages per second a neighbour may send, and the burst allowance. */
  maxMessagesPerSecond: number;
  messageBurst: number;
  /** Bytes queued in the socket before low-priority messages are dropped. */
  congestionBytes: number;
  /** A neighbour congested this long is dropped. */
  maxCongestedMs: number;
  maxFrame: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  keepaliveMs: 15_000,
  idleTimeoutMs: 45_000,
  maxMessagesPerSecond: 200,
  messageBurst: 1000,
  congestionBytes: 512 * 1024,
  maxCongestedMs: 30_000,
  maxFrame: MAX_FRAME,
};

/** Send priority under congestion: queries go first, then hits; control is always sent. */
function priorityOf(t: V2Message['t']): 0 | 1 | 2 {
  if (t === 'query' || t === 'ping') return 0;
  if (t === 'hit' || t === 'pong') return 1;
  return 2;
}

interface ConnectionEvents {
  message: V2Message;
  close: { reason: string };
  dropped: { type: string; reason: string };
}

/**
 * One persistent v2 neighbour connection after the handshake: framing with a
 * size cap, keepalive and idle timeout, an inbound rate limit, and a send path
 * that sheds low-priority traffic when the peer cannot keep up.
 */
export class V2Connection {
  readonly events = new TypedEmitter<ConnectionEvents>();
  readonly since = Date.now();
  private closed = false;
  private lastRecv = Date.now();
  private lastSend = Date.now();
  private readonly inbound: TokenBucket;
  private congestedSince = 0;
  private readonly timer: NodeJS.Timeout;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly decoder: FrameDecoder,
    readonly remote: Hello,
    readonly direction: 'in' | 'out',
    private readonly limits: ConnectionLimits,
  ) {
    this.inbound = new TokenBucket(limits.maxMessagesPerSecond, limits.messageBurst);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.finish('connection closed'));
    const tick = Math.max(50, Math.min(limits.keepaliveMs, limits.idleTimeoutMs, limits.maxCongestedMs) / 3);
    this.timer = setInterval(() => this.onTick(), tick);
    this.timer.unref();
    const rest = decoder.takeRest();
    if (rest.length) queueMicrotask(() => this.onData(rest));
    socket.resume();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** The address the remote side reached us on: what we advertise to it. */
  get localHost(): string {
    return normalizeHost(this.socket.localAddress ?? '127.0.0.1');
  }

  get remoteHost(): string {
    return normalizeHost(this.socket.remoteAddress ?? '');
  }

  /** Bytes waiting in this neighbour's send queue (the socket's user-space buffer). */
  get queuedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Queue a message. The send queue is bounded: above `congestionBytes` queries
   * and pings are shed, above twice that hits and pongs too, and control
   * messages go on up to four times that, where the neighbour is dropped.
   * Returns false if the message was shed.
   */
  send(msg: V2Message): boolean {
    if (this.closed) return false;
    const queued = this.socket.writableLength;
    const p = priorityOf(msg.t);
    if (queued > this.limits.congestionBytes) {
      if (!this.congestedSince) this.congestedSince = Date.now();
      if (queued > this.limits.congestionBytes * 4) {
        this.events.emit('dropped', { type: msg.t, reason: 'send queue full' });
        this.close('send queue full', false);
        return false;
      }
      const shed = p === 0 || (p === 1 && queued > this.limits.congestionBytes * 2);
      if (shed) {
        this.events.emit('dropped', { type: msg.t, reason: p === 0 ? 'congested: query shed' : 'congested: hit shed' });
        return false;
      }
    } else {
      this.congestedSince = 0;
    }
    const frame = encodeFrame(msg);
    this.bytesOut += frame.length;
    this.lastSend = Date.now();
    this.socket.write(frame);
    return true;
  }

  close(reason: string, notifyRemote = true): void {
    if (this.closed) return;
    if (notifyRemote && !this.socket.destroyed) {
      try {
        this.socket.end(encodeFrame({ t: 'bye', reason: reason.slice(0, 256) }));
      } catch {
        /* socket already gone */
      }
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else {
      this.socket.destroy();
    }
    this.finish(reason);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.events.emit('close', { reason });
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesIn += chunk.length;
    this.lastRecv = Date.now();
    let msgs: V2Message[];
    try {
      msgs = this.decoder.push(chunk);
    } catch (e) {
      this.close(e instanceof V2ProtocolError ? `protocol error: ${e.message}` : 'protocol error', true);
      return;
    }
    for (const m of msgs) {
      if (this.closed) return;
      if (!this.inbound.tryTake(1)) {
        this.close(`rate limit: more than ${this.limits.maxMessagesPerSecond} messages/s`);
        return;
      }
      if (m.t === 'ka') continue;
      if (m.t === 'bye') {
        this.close(`remote said bye: ${m.reason}`, false);
        return;
      }
      this.events.emit('message', m);
    }
  }

  private onTick(): void {
    const now = Date.now();
    if (now - this.lastRecv > this.limits.idleTimeoutMs) return this.close('idle timeout');
    if (this.congestedSince && this.socket.writableLength <= this.limits.congestionBytes) this.congestedSince = 0;
    if (this.congestedSince && now - this.congestedSince > this.limits.maxCongestedMs) return this.close('congested for too long');
    if (now - this.lastSend >= this.limits.keepaliveMs) this.send({ t: 'ka' });
  }
}

/** Read until the remote's MAGIC + hello arrive. Resolves `v1` if the peer closes without answering (a seed peer). */
export function readHandshake(socket: net.Socket, decoder: FrameDecoder, timeoutMs: number, initial?: Buffer): Promise<Hello | 'v1'> {
  let buf = Buffer.alloc(0);
  let magicSeen = false;
  const take = (chunk: Buffer): Hello | 'v1' | undefined => {
    if (!magicSeen) {
      buf = Buffer.concat([buf, chunk]);
      if (!couldBeMagic(buf)) return 'v1';
      if (buf.length < MAGIC.length) return undefined;
      magicSeen = true;
      chunk = buf.subarray(MAGIC.length);
    }
    decoder.append(chunk);
    const m = decoder.next();
    if (!m) return undefined;
    if (m.t !== 'hello') throw new V2ProtocolError(`expected hello, got ${m.t}`);
    return m;
  };
  const closed = (error?: Error): 'v1' => {
    if (error) throw error;
    if (magicSeen) throw new Error('connection closed during handshake');
    return 'v1';
  };
  return readUntil(socket, take, timeoutMs, 'the handshake', { initial, closed, timedOut: 'handshake timed out' });
}

/** Open a TCP connection; rejects with a readable error. Aborting destroys the socket. */
export function connectTcp(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(new Error(`connect to ${host}:${port} timed out`)), timeoutMs);
    const onAbort = () => fail(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (e: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(e);
    };
    socket.once('connect', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      resolve(socket);
    });
    socket.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        new Error(
          e.code === 'ECONNREFUSED'
            ? `could not connect to ${host}:${port} (connection refused)`
            : `could not connect to ${host}:${port}: ${e.message}`,
        ),
      ),
    );
  });
}

/** Write MAGIC + hello. */
export function sendHello(socket: net.Socket, hello: Hello): void {
  socket.write(Buffer.concat([MAGIC, encodeFrame(hello)]));
}
