/** Helpers shared by the transfer tests and the transfer benchmark: temp peers, random files, hashes. */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Peer, type PeerTuning } from '../../electron/peer/peer.js';
import { defaultPeerOptions, type PeerOptions } from '../../electron/peer/options.js';
import type { Logger } from '../../electron/peer/logger.js';

export async function tempDir(prefix = 'mactella-xfer-'): Promise<string> {
  return fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Write `size` random bytes (in 1 MiB blocks) to `file`. */
export async function randomFile(file: string, size: number): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const fh = await fs.promises.open(file, 'w');
  try {
    const block = 1 << 20;
    for (let at = 0; at < size; at += block) {
      const n = Math.min(block, size - at);
      await fh.write(crypto.randomBytes(n), 0, n, at);
    }
  } finally {
    await fh.close();
  }
}

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

export interface TestPeer {
  peer: Peer;
  dir: string;
  share: string;
  downloads: string;
  data: string;
  port: number;
  logs: string[];
}

/** A peer on 127.0.0.1, port 0, with its own folders under `dir`. */
export async function startPeer(
  dir: string,
  opts: Partial<PeerOptions> = {},
  tuning: Partial<PeerTuning> = {},
  logger?: Logger,
): Promise<TestPeer> {
  const share = opts.sharedDir ?? path.join(dir, 'share');
  const downloads = opts.downloadDir ?? path.join(dir, 'downloads');
  const data = opts.dataDir ?? path.join(dir, 'data');
  for (const d of [share, downloads, data]) await fs.promises.mkdir(d, { recursive: true });
  const logs: string[] = [];
  const log: Logger = logger ?? {
    info: (m) => logs.push(`info: ${m}`),
    warn: (m) => logs.push(`warn: ${m}`),
    error: (m) => logs.push(`error: ${m}`),
  };
  const peer = await Peer.start(
    {
      ...defaultPeerOptions(data),
      host: '127.0.0.1',
      port: 0,
      sharedDir: share,
      downloadDir: downloads,
      dataDir: data,
      watch: false,
      ...opts,
    },
    { logger: log, tuning: { dialIntervalMs: 60_000, ...tuning } },
  );
  return { peer, dir, share, downloads, data, port: peer.address().port, logs };
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 20,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
