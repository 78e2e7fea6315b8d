import net from 'node:net';
import type { Logger } from './logger.js';
import { MAGIC } from './v2/messages.js';

export interface ListenerLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Time allowed for the first bytes of a connection. */
  firstByteTimeoutMs: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = { maxConnections: 1024, maxConnectionsPerIp: 256, firstByteTimeoutMs: 10_000 };

export interface ListenerHandlers {
  /** The connection started with the v2 magic; `rest` follows it. */
  v2(socket: net.Socket, rest: Buffer): void;
  /** Anything else is a seed (v1) message; `first` is what arrived so far. */
  v1(socket: net.Socket, first: Buffer, ended: boolean): void;
  drop(reason: string): void;
}

/**
 * The one listening port. It tells v1 and v2 apart from the first bytes,
 * enforces connection limits (total and per remote IP), and tracks every open
 * socket so that close() really closes.
 */
export class Listener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly handlers: ListenerHandlers,
    private readonly limits: ListenerLimits,
    private readonly log: Logger,
  ) {
    this.server = net.createServer({ pauseOnConnect: false }, (s) => this.accept(s));
    this.server.on('error', (e) => log.error(`listener: ${e.message}`));
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} is already in use on ${host}` : `cannot listen on ${host}:${port}: ${e.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => {
      this.server.close(() => r());
      for (const s of this.sockets) s.destroy();
    });
  }

  private accept(socket: net.Socket): void {
    const ip = (socket.remoteAddress ?? '?').replace(/^::ffff:/, '');
    if (this.sockets.size >= this.limits.maxConnections) {
      this.handlers.drop('connection limit');
      socket.destroy();
      return;
    }
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.limits.maxConnectionsPerIp) {
      this.handlers.drop('per-IP connection limit');
      this.log.warn(`refused connection from ${ip}: per-IP connection limit (${this.limits.maxConnectionsPerIp})`);
      socket.destroy();
      return;
    }
    this.perIp.set(ip, n + 1);
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => {
      this.sockets.delete(socket);
      const m = (this.perIp.get(ip) ?? 1) - 1;
      if (m <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, m);
    });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      this.handlers.drop('no data');
      socket.destroy();
    }, this.limits.firstByteTimeoutMs);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const n = Math.min(buf.length, MAGIC.length);
      const isPrefix = buf.subarray(0, n).equals(MAGIC.subarray(0, n));
      if (isPrefix && buf.length < MAGIC.length) return; // could still be v2
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (isPrefix) this.handlers.v2(socket, buf.subarray(MAGIC.length));
      else this.handlers.v1(socket, buf, false);
    };
    const onEnd = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      if (buf.length > 0) this.handlers.v1(socket, buf, true);
      else socket.destroy();
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
  }
}
