/**
 * The one harness for tests and benchmarks: real peers on loopback (port 0)
 * with their own temp folders, polling with a bounded wait, random files and
 * hashes. `bench/` imports it; it imports nothing from `bench/` nor vitest.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PeerAddress, TransferInfo } from '../../shared/types.js';
import type { Logger } from '../../electron/peer/logger.js';
import { defaultPeerOptions, type PeerOptions } from '../../electron/peer/options.js';
import { Peer, type PeerTuning } from '../../electron/peer/peer.js';

const tmpRoots: string[] = [];

/** A fresh temp folder, removed by {@link cleanupTemp}. */
export function tempDir(prefix = 'mactella-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpRoots.push(d);
  return d;
}

/** Remove every folder {@link tempDir} made so far. */
export function cleanupTemp(): void {
  for (const d of tmpRoots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A started peer, its address and folders, and its last log lines. */
export interface TestPeer {
  peer: Peer;
  addr: PeerAddress;
  port: number;
  root: string;
  share: string;
  downloads: string;
  data: string;
  logs: string[];
}

/** Tunables that make test networks settle quickly. */
const FAST_TUNING: Partial<PeerTuning> = { dialIntervalMs: 100, handshakeTimeoutMs: 2000 };

/** How many log lines a {@link TestPeer} keeps (the newest). */
const KEPT_LOG_LINES = 2000;

/** What {@link startPeer} builds; every field is optional. */
export interface PeerSetup {
  /** The peer's folder (share, downloads and data below it); a new temp folder if absent. */
  dir?: string;
  /** The address to listen on (127.0.0.x); 127.0.0.1 by default. */
  host?: string;
  bootstrap?: PeerAddress[];
  /** Files written into the share before the peer starts, by relative name. */
  files?: Record<string, Buffer | string>;
  options?: Partial<PeerOptions>;
  /** Merged over {@link FAST_TUNING}. */
  tuning?: Partial<PeerTuning>;
  /** Replaces the recording logger (then `logs` stays empty). */
  logger?: Logger;
}

/** Start a real peer on loopback, port 0, with its own folders (watching off). */
export async function startPeer(setup: PeerSetup = {}): Promise<TestPeer> {
  const root = setup.dir ?? tempDir();
  const o = setup.options ?? {};
  const share = o.sharedDir ?? path.join(root, 'share');
  const downloads = o.downloadDir ?? path.join(root, 'downloads');
  const data = o.dataDir ?? path.join(root, 'data');
  for (const d of [share, downloads, data]) await fs.promises.mkdir(d, { recursive: true });
  for (const [name, content] of Object.entries(setup.files ?? {})) {
    await fs.promises.mkdir(path.dirname(path.join(share, name)), { recursive: true });
    await fs.promises.writeFile(path.join(share, name), content);
  }
  const logs: string[] = [];
  const keep = (level: string) => (m: string) => {
    logs.push(`${level}: ${m}`);
    if (logs.length > KEPT_LOG_LINES) logs.shift();
  };
  const host = setup.host ?? '127.0.0.1';
  const peer = await Peer.start(
    {
      ...defaultPeerOptions(data),
      host,
      port: 0,
      sharedDir: share,
      downloadDir: downloads,
      dataDir: data,
      bootstrap: setup.bootstrap ?? [],
      watch: false,
      ...o,
    },
    {
      logger: setup.logger ?? { info: keep('info'), warn: keep('warn'), error: keep('error') },
      tuning: { ...FAST_TUNING, ...setup.tuning },
    },
  );
  const port = peer.address().port;
  return { peer, addr: { host, port }, port, root, share, downloads, data, logs };
}

/**
 * Poll `cond` until it returns a truthy value, and return that value; after
 * `timeoutMs` fail with "timed out waiting for `what`".
 */
export async function waitFor<T>(
  what: string,
  cond: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  everyMs = 20,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until transfer `id` of `peer` is done or failed, and return it. */
export function transferEnded(peer: Peer, id: string, what = 'the transfer to end'): Promise<TransferInfo> {
  return waitFor(what, () => {
    const t = peer.transfersList().find((x) => x.id === id);
    return t?.state === 'done' || t?.state === 'failed' ? t : undefined;
  });
}

/** Write `size` random bytes (in 1 MiB blocks) to `file`, making its folder; returns their SHA-256. */
export async function randomFile(file: string, size: number): Promise<string> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const h = crypto.createHash('sha256');
  const fh = await fs.promises.open(file, 'w');
  try {
    const block = 1 << 20;
    for (let at = 0; at < size; at += block) {
      const bytes = crypto.randomBytes(Math.min(block, size - at));
      h.update(bytes);
      await fh.write(bytes, 0, bytes.length, at);
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** An uploader sharing `name` (`size` random bytes) and a downloader, each in its own folder under one new temp folder. */
export async function uploaderAndDownloader(
  size: number,
  o: { name?: string; up?: Partial<PeerOptions>; down?: Partial<PeerOptions> } = {},
): Promise<{ root: string; sha256: string; up: TestPeer; down: TestPeer; source: PeerAddress }> {
  const root = tempDir();
  const sha256 = await randomFile(path.join(root, 'up', 'share', o.name ?? 'movie.mp4'), size);
  const up = await startPeer({ dir: path.join(root, 'up'), options: o.up });
  const down = await startPeer({ dir: path.join(root, 'down'), options: o.down });
  return { root, sha256, up, down, source: up.addr };
}

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

export function randomBytes(n: number): Buffer {
  return crypto.randomBytes(n);
}

/** Byte equality without vitest's slow element-by-element diff of large buffers. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}

/** A random 128-bit id in hex, as peers and messages use. */
export function newId(): string {
  return crypto.randomBytes(16).toString('hex');
}

/** Run `fn` over `items` with at most `limit` in flight. */
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
