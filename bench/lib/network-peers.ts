/**
 * Helpers shared by the network tests, the soak and the network benchmark:
 * peers on loopback with their own temp folders, a raw v2 neighbour client
 * (to play a hostile or scripted neighbour), and one-shot v1 requests.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { PeerAddress } from '../../shared/types.js';
import type { Logger } from '../../electron/peer/logger.js';
import { defaultPeerOptions, type PeerOptions } from '../../electron/peer/options.js';
import { Peer, type PeerTuning } from '../../electron/peer/peer.js';
import { connectTcp, readHandshake, sendHello, type Hello } from '../../electron/peer/v2/connection.js';
import { encodeFrame, FrameDecoder } from '../../electron/peer/v2/frame.js';
import { PROTOCOL_VERSION, type V2Message } from '../../electron/peer/v2/messages.js';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../../electron/peer/listener.js';

const roots: string[] = [];

export function tempDir(prefix = 'mactella-net-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  roots.push(d);
  return d;
}

export function cleanupTemp(): void {
  for (const d of roots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export interface NetPeer {
  peer: Peer;
  addr: PeerAddress;
  root: string;
  share: string;
  downloads: string;
  logs: string[];
}

/** A real peer on `host` (127.0.0.x), port 0, with its own folders. `logs` keeps the last 500 log lines. */
export async function startNetPeer(
  o: {
    host?: string;
    bootstrap?: PeerAddress[];
    files?: Record<string, Buffer | string>;
    options?: Partial<PeerOptions>;
    tuning?: Partial<PeerTuning>;
  } = {},
): Promise<NetPeer> {
  const root = tempDir();
  const share = path.join(root, 'share');
  const downloads = path.join(root, 'downloads');
  fs.mkdirSync(share, { recursive: true });
  for (const [name, data] of Object.entries(o.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(share, name)), { recursive: true });
    fs.writeFileSync(path.join(share, name), data);
  }
  const logs: string[] = [];
  const keep = (level: string) => (m: string) => {
    logs.push(`${level}: ${m}`);
    if (logs.length > 500) logs.shift();
  };
  const logger: Logger = { info: keep('info'), warn: keep('warn'), error: keep('error') };
  const host = o.host ?? '127.0.0.1';
  const peer = await Peer.start(
    {
      ...defaultPeerOptions(path.join(root, 'data')),
      port: 0,
      host,
      sharedDir: share,
      downloadDir: downloads,
      bootstrap: o.bootstrap ?? [],
      watch: false,
      ...o.options,
    },
    { logger, tuning: { dialIntervalMs: 100, handshakeTimeoutMs: 2000, ...o.tuning } },
  );
  return { peer, addr: { host, port: peer.address().port }, root, share, downloads, logs };
}

export function newId(): string {
  return crypto.randomBytes(16).toString('hex');
}

/** Poll until `cond` holds; throws after `timeoutMs` with `what`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

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

/** Run `tasks` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Listener limits for load runs on one loopback address: every simulated peer
 * shares 127.0.0.1, so the per-IP caps and bans that guard a real peer are lifted.
 */
export const LOOPBACK_LOAD_LISTENER_LIMITS: ListenerLimits = {
  ...DEFAULT_LISTENER_LIMITS,
  connectsPerSecondPerIp: 1e5,
  connectBurstPerIp: 1e5,
  maxConnectionsPerIp: 4096,
  maxConnections: 4096,
};
