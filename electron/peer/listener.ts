import net from 'node:net';
import { limitKey } from './address.js';
import type { Logger } from './logger.js';
import { TokenBucket } from './token-bucket.js';
import { couldBeTlsClientHello, looksLikeTlsClientHello } from './identity/tls-link.js';
import { couldBeMagic, MAGIC } from './v2/messages.js';

export interface ListenerLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Time allowed for the first bytes of a connection. */
  firstByteTimeoutMs: number;
  /**
   * New connections per remote IP: sustained per second, and the burst. v1
   * opens one connection per message and many honest peers may share one
   * NAT address, so this is generous; it catches reconnect storms.
   */
  connectsPerSecondPerIp: number;
  connectBurstPerIp: number;
  /** First temporary ban for an IP over its connect rate; each repeat doubles it, up to the max. */
  banBaseMs: number;
  banMaxMs: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  maxConnections: 1024,
  maxConnectionsPerIp: 256,
  firstByteTimeoutMs: 10_000,
  connectsPerSecondPerIp: 50,
  connectBurstPerIp: 500,
  banBaseMs: 30_000,
  banMaxMs: 60 * 60_000,
};

interface IpRecord {
  connects: TokenBucket;
  bannedUntil: number;
  /** Bans so far; the next one lasts banBaseMs * 2^bans. */
  bans: number;
}

/**
 * Connection attempts per remote IP: a token bucket, and a temporary ban that
 * doubles with each repeat. Bounded: at most `maxIps` records, oldest first out.
 */
export class ConnectTracker {
  private readonly ips = new Map<string, IpRecord>();
  constructor(
    private readonly limits: Pick<ListenerLimits, 'connectsPerSecondPerIp' | 'connectBurstPerIp' | 'banBaseMs' | 'banMaxMs'>,
    private readonly now: () => number = Date.now,
    private readonly maxIps = 10_000,
  ) {}

  /** Record a connection attempt. `ok`, `banned` (still serving a ban) or `ban` (this attempt earned a new ban of `ms`). */
  attempt(ip: string): { verdict: 'ok' } | { verdict: 'banned'; until: number } | { verdict: 'ban'; ms: number; count: number } {
    const t = this.now();
    let r = this.ips.get(ip);
    if (!r) {
      r = {
        connects: new TokenBucket(this.limits.connectsPerSecondPerIp, this.limits.connectBurstPerIp, this.now),
        bannedUntil: 0,
        bans: 0,
      };
    } else {
      this.ips.delete(ip); // re-insert below: most recently seen last
      // An IP that has behaved for a long while starts over.
      if (r.bans > 0 && r.bannedUntil + this.limits.banMaxMs < t) r.bans = 0;
    }
    this.ips.set(ip, r);
    if (this.ips.size > this.maxIps) this.evict(t);
    if (r.bannedUntil > t) return { verdict: 'banned', until: r.bannedUntil };
    if (r.connects.tryTake(1, t)) return { verdict: 'ok' };
    const ms = Math.min(this.limits.banMaxMs, this.limits.banBaseMs * 2 ** r.bans);
    r.bans++;
    r.bannedUntil = t + ms;
    r.connects.reset();
    return { verdict: 'ban', ms, count: r.bans };
  }

  /** Make room: the oldest record not serving a ban goes first, so a churn of new addresses cannot wash out bans. */
  private evict(t: number): void {
    for (const [ip, r] of this.ips) {
      if (r.bannedUntil <= t) {
        this.ips.delete(ip);
        return;
      }
    }
    this.ips.delete(this.ips.keys().next().value!);
  }

  /** The IPs currently banned, with when each ban ends. */
  banned(): { ip: string; until: number; bans: number }[] {
    const t = this.now();
    return [...this.ips].filter(([, r]) => r.bannedUntil > t).map(([ip, r]) => ({ ip, until: r.bannedUntil, bans: r.bans }));
  }
}

interface ListenerHandlers {
  /** The connection started with a TLS ClientHello (v2 runs inside TLS); `first` is what arrived so far. */
  tls(socket: net.Socket, first: Buffer): void;
  /** Anything else is a seed (v1) message; `first` is what arrived so far. */
  v1(socket: net.Socket, first: Buffer, ended: boolean): void;
  drop(reason: string): void;
}

/**
 * The one listening port. It tells v1 and v2 apart from the first bytes
 * (v2 starts with a TLS ClientHello, `0x16 0x03`; v1 is plain text),
 * enforces connection limits (total and per remote IP), and tracks every open
 * socket so that close() really closes.
 */
export class Listener {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly perIp = new Map<string, number>();
  readonly connects: ConnectTracker;

  constructor(
    private readonly handlers: ListenerHandlers,
    private readonly limits: ListenerLimits,
    private readonly log: Logger,
  ) {
    this.connects = new ConnectTracker(limits);
    this.server = net.createServer({ pauseOnConnect: false }, (s) => this.accept(s));
    this.server.on('error', (e) => log.error(`listener: ${e.message}`));
  }

  listen(port: number, host: string): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => {
        // Keep the errno code: callers (the app's busy-port fallback) match on it.
        const err: NodeJS.ErrnoException = new Error(
          e.code === 'EADDRINUSE' ? `port ${port} is already in use on ${host}` : `cannot listen on ${host}:${port}: ${e.message}`,
        );
        err.code = e.code;
        reject(err);
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
    // IPv4 by address, IPv6 by /64: the unit one host or customer holds.
    const ip = limitKey(socket.remoteAddress ?? '?');
    const a = this.connects.attempt(ip);
    if (a.verdict === 'banned') {
      this.handlers.drop('banned IP');
      socket.destroy();
      return;
    }
    if (a.verdict === 'ban') {
      this.handlers.drop('reconnecting too often');
      this.log.warn(
        `banned ${ip} for ${Math.round(a.ms / 1000)}s: more than ${this.limits.connectsPerSecondPerIp} connections/s (burst ${this.limits.connectBurstPerIp}), ban #${a.count}`,
      );
      socket.destroy();
      return;
    }
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
      if (buf.length < 2 && couldBeTlsClientHello(buf)) return; // could still be TLS
      const plainV2 = couldBeMagic(buf);
      if (plainV2 && buf.length < MAGIC.length) return; // could still be the magic
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      if (looksLikeTlsClientHello(buf)) return this.handlers.tls(socket, buf);
      if (plainV2) {
        // v2 runs only inside TLS now; the magic in plain text is an old or a forged client.
        this.handlers.drop('plain-text v2');
        this.log.warn(`refused plain-text v2 from ${socket.remoteAddress}: v2 needs TLS`);
        return void socket.destroy();
      }
      this.handlers.v1(socket, buf, false);
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
