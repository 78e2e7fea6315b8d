import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PeerAddress } from '../../shared/types.js';
import type { PeerOptions } from '../../electron/peer/options.js';
import type { Peer, PeerTuning } from '../../electron/peer/peer.js';
import { startPeer as startHarnessPeer, waitFor as waitForValue } from '../../bench/lib/harness.js';

export const tmpRoots: string[] = [];

/** A fresh temp folder, removed by cleanupTemp(). */
export function tempDir(prefix = 'mactella-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tmpRoots.push(d);
  return d;
}

export function cleanupTemp(): void {
  for (const d of tmpRoots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export interface TestPeer {
  peer: Peer;
  addr: PeerAddress;
  root: string;
  share: string;
  downloads: string;
}

/** Tunables that make test networks settle quickly. */
export const FAST_TUNING: Partial<PeerTuning> = { dialIntervalMs: 100, handshakeTimeoutMs: 2000 };

/**
 * Start a real peer on 127.0.0.1, port 0, with its own temp folders and the given shared files
 * (the benchmark harness's peer, with the test network's quick tuning).
 */
export async function startPeer(
  opts: {
    bootstrap?: PeerAddress[];
    files?: Record<string, Buffer | string>;
    options?: Partial<PeerOptions>;
    tuning?: Partial<PeerTuning>;
  } = {},
): Promise<TestPeer> {
  const root = tempDir();
  const share = path.join(root, 'share');
  for (const [name, data] of Object.entries(opts.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(share, name)), { recursive: true });
    fs.writeFileSync(path.join(share, name), data);
  }
  const p = await startHarnessPeer(root, { bootstrap: opts.bootstrap ?? [], ...opts.options }, { ...FAST_TUNING, ...opts.tuning });
  return { peer: p.peer, addr: { host: '127.0.0.1', port: p.port }, root, share: p.share, downloads: p.downloads };
}

/** Poll until `cond` is true, or fail with `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await waitForValue(what, cond, timeoutMs, 25);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function randomBytes(n: number): Buffer {
  return crypto.randomBytes(n);
}

export function sha256(b: Buffer): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** Byte equality without vitest's slow element-by-element diff of large buffers. */
export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.equals(b);
}
