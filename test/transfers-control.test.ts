import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TransferInfo } from '../shared/types.js';
import type { PeerOptions } from '../electron/peer/options.js';
import { randomFile, sha256File, startPeer, tempDir, uploaderAndDownloader, waitFor, type TestPeer } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();

async function setup(size: number, up: Partial<PeerOptions> = {}) {
  const pair = await uploaderAndDownloader(size, { up });
  peers.push(pair.up, pair.down);
  return pair;
}

const get = (p: TestPeer, id: string): TransferInfo => p.peer.transfersList().find((x) => x.id === id)!;
const ended = (p: TestPeer, id: string) => {
  const t = get(p, id);
  return t.state === 'done' || t.state === 'failed' || t.state === 'cancelled' ? t : undefined;
};

describe('pause, resume and cancel', () => {
  it('pauses and resumes without refetching, and never shows a half-written file under its final name', async () => {
    const size = 6 * MiB;
    const { sha256, up, down, source } = await setup(size, { maxUploadRate: 3 * MiB });
    // Watch the downloads folder the whole time: the final name may only ever hold the complete file.
    const seen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const n of await fs.promises.readdir(down.downloads)) {
          if (n.endsWith('.part') || n.endsWith('.json') || n.endsWith('.tmp')) continue;
          const st = await fs.promises.stat(path.join(down.downloads, n)).catch(() => undefined);
          if (st && st.size !== size) seen.push(`${n} at ${st.size} bytes`);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const t = down.peer.download({ name: 'movie.mp4', sha256, sources: [source] });
    await waitFor('1 MiB', () => get(down, t.id).bytes >= MiB);
    expect(down.peer.pauseTransfer(t.id).state).toBe('paused');
    // Once the paused run has ended, no byte more arrives over a few publishing passes.
    await down.peer.transfers.settled(t.id);
    const at = get(down, t.id).bytes;
    await down.peer.transfers.publisher.ticks(3);
    expect(get(down, t.id).bytes).toBe(at);
    expect(get(down, t.id).state).toBe('paused');
    expect(fs.existsSync(path.join(down.downloads, 'movie.mp4.part'))).toBe(true);
    down.peer.resumeTransfer(t.id);
    const done = await waitFor('the download to end', () => ended(down, t.id));
    watching = false;
    await watcher;
    expect(done.state, done.error).toBe('done');
    expect(await sha256File(done.path!)).toBe(sha256);
    expect(seen).toEqual([]);
    expect(up.peer.statsSnapshot().bytesUp).toBeLessThan(size * 1.2);
    expect(fs.readdirSync(down.downloads).sort()).toEqual(['movie.mp4']);
  });

  it('cancel stops the download and removes the .part and its state', async () => {
    const size = 6 * MiB;
    const { sha256, down, source } = await setup(size, { maxUploadRate: 2 * MiB });
    const t = down.peer.download({ name: 'movie.mp4', sha256, sources: [source] });
    await waitFor('some data', () => get(down, t.id).bytes > 0);
    expect(fs.existsSync(path.join(down.downloads, 'movie.mp4.part'))).toBe(true);
    expect(down.peer.cancelTransfer(t.id).state).toBe('cancelled');
    await waitFor('the .part to go', () => fs.readdirSync(down.downloads).length === 0);
    // The cancelled run and its cleanup are over: nothing comes back.
    await down.peer.transfers.settled(t.id);
    expect(fs.readdirSync(down.downloads)).toEqual([]);
    expect(get(down, t.id).state).toBe('cancelled');
  });

  it('never overwrites: a name already in the downloads folder gets a unique name', async () => {
    const { sha256, down, source } = await setup(2 * MiB);
    await fs.promises.writeFile(path.join(down.downloads, 'movie.mp4'), 'mine');
    const t = down.peer.download({ name: 'movie.mp4', sha256, sources: [source] });
    const done = await waitFor('the download to end', () => ended(down, t.id));
    expect(done.state, done.error).toBe('done');
    expect(done.path).not.toBe(path.join(down.downloads, 'movie.mp4'));
    expect(await fs.promises.readFile(path.join(down.downloads, 'movie.mp4'), 'utf8')).toBe('mine');
    expect(await sha256File(done.path!)).toBe(sha256);
  });
});

describe('upload slots and queue', () => {
  it('holds with 50 concurrent downloaders: never more than the slots, queued ones see their position, all finish', async () => {
    const size = MiB;
    const root = tempDir();
    const sha256 = await randomFile(path.join(root, 'up', 'share', 'clip.mp4'), size);
    const up = await startPeer({ dir: path.join(root, 'up'), options: { uploadSlots: 4, maxUploadRate: 16 * MiB } });
    peers.push(up);
    const downs = await Promise.all(Array.from({ length: 50 }, (_, i) => startPeer({ dir: path.join(root, `d${i}`) })));
    peers.push(...downs);
    let maxRunning = 0;
    let maxPosition = 0;
    const positions = new Set<number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRunning = Math.max(maxRunning, up.peer.transfersList().filter((t) => t.direction === 'up' && t.state === 'running').length);
        for (const d of downs)
          for (const t of d.peer.transfersList())
            if (t.queuePosition) {
              positions.add(t.queuePosition);
              maxPosition = Math.max(maxPosition, t.queuePosition);
            }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const ids = downs.map((d) => d.peer.download({ name: 'clip.mp4', sha256, sources: [{ host: '127.0.0.1', port: up.port }] }).id);
    const results = await Promise.all(downs.map((d, i) => waitFor('all downloads', () => ended(d, ids[i]!), 40_000)));
    sampling = false;
    await sampler;
    for (const r of results) expect(r.state, r.error).toBe('done');
    for (const r of results.slice(0, 3)) expect(await sha256File(r.path!)).toBe(sha256);
    expect(maxRunning).toBeGreaterThan(0);
    expect(maxRunning).toBeLessThanOrEqual(4);
    expect(maxPosition).toBeGreaterThan(20);
    expect(positions.size).toBeGreaterThan(5);
  }, 60_000);
});
