import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomFile, startPeer, tempDir, uploaderAndDownloader, waitFor, sleep } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();

/** Bytes per second over `ms`, measured by a counter. */
async function rateOver(count: () => number, ms: number): Promise<number> {
  const b0 = count();
  const t0 = performance.now();
  await sleep(ms);
  return ((count() - b0) * 1000) / (performance.now() - t0);
}

describe('bandwidth limits', () => {
  it('a download limit holds within 10% over 5 s, and a change at run time applies at once', async () => {
    const { sha256, up, down } = await uploaderAndDownloader(24 * MiB, { down: { maxDownloadRate: MiB } });
    peers.push(up, down);
    down.peer.download({ name: 'movie.mp4', sha256, sources: [{ host: '127.0.0.1', port: up.port }] });
    const bytes = () => down.peer.statsSnapshot().bytesDown;
    await sleep(700);
    const r1 = await rateOver(bytes, 5000);
    expect(r1).toBeGreaterThan(MiB * 0.9);
    expect(r1).toBeLessThan(MiB * 1.1);
    await down.peer.updateSettings({ maxDownloadRate: 3 * MiB });
    await sleep(300);
    const r2 = await rateOver(bytes, 2000);
    expect(r2).toBeGreaterThan(3 * MiB * 0.9);
    expect(r2).toBeLessThan(3 * MiB * 1.1);
  }, 20_000);

  it('a per-transfer download limit set on the peer holds within 10%, and 0 lifts it', async () => {
    const { sha256, up, down } = await uploaderAndDownloader(32 * MiB);
    peers.push(up, down);
    const t = down.peer.download({ name: 'movie.mp4', sha256, sources: [{ host: '127.0.0.1', port: up.port }] });
    expect(down.peer.setTransferLimit(t.id, MiB).id).toBe(t.id);
    expect(() => down.peer.setTransferLimit(t.id, -1)).toThrow(/bad limit/);
    expect(() => down.peer.setTransferLimit('nope', MiB)).toThrow(/no transfer/);
    const bytes = () => down.peer.statsSnapshot().bytesDown;
    await sleep(500);
    const r = await rateOver(bytes, 3000);
    expect(r).toBeGreaterThan(MiB * 0.9);
    expect(r).toBeLessThan(MiB * 1.1);
    down.peer.setTransferLimit(t.id, 0);
    const done = await waitFor('the download', () => {
      const x = down.peer.transfersList().find((y) => y.id === t.id);
      return x?.state === 'done' || x?.state === 'failed' ? x : undefined;
    });
    expect(done.state, done.error).toBe('done');
  }, 20_000);

  it('a global upload limit is shared by two downloaders and holds within 10% over 5 s', async () => {
    const root = tempDir();
    const sha256 = await randomFile(path.join(root, 'up', 'share', 'movie.mp4'), 16 * MiB);
    const up = await startPeer({ dir: path.join(root, 'up'), options: { maxUploadRate: 1.5 * MiB } });
    const a = await startPeer({ dir: path.join(root, 'a') });
    const b = await startPeer({ dir: path.join(root, 'b') });
    peers.push(up, a, b);
    for (const d of [a, b]) d.peer.download({ name: 'movie.mp4', sha256, sources: [{ host: '127.0.0.1', port: up.port }] });
    // Count what the downloaders received: what sits in socket buffers does not count as delivered.
    const got = () => a.peer.statsSnapshot().bytesDown + b.peer.statsSnapshot().bytesDown;
    await sleep(1000);
    const r = await rateOver(got, 5000);
    expect(r).toBeGreaterThan(1.5 * MiB * 0.9);
    expect(r).toBeLessThan(1.5 * MiB * 1.1);
    expect(a.peer.statsSnapshot().bytesDown).toBeGreaterThan(0);
    expect(b.peer.statsSnapshot().bytesDown).toBeGreaterThan(0);
  }, 20_000);
});
