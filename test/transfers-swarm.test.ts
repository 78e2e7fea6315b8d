import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TransferInfo } from '../shared/types.js';
import { randomFile, sha256File, startPeer, tempDir, waitFor, type TestPeer, type PeerSetup } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();

async function setup(sources: number, size: number, sourceOpts: PeerSetup['options'] = {}) {
  const root = tempDir();
  const original = path.join(root, 'original.mp4');
  const sha256 = await randomFile(original, size);
  const ups: TestPeer[] = [];
  for (let i = 0; i < sources; i++) {
    const share = path.join(root, `s${i}`, 'share');
    await fs.promises.mkdir(share, { recursive: true });
    await fs.promises.copyFile(original, path.join(share, 'movie.mp4'));
    ups.push(await startPeer({ dir: path.join(root, `s${i}`), options: sourceOpts }));
  }
  const down = await startPeer({ dir: path.join(root, 'down') });
  peers.push(...ups, down);
  return { root, original, sha256, ups, down };
}

function finished(p: TestPeer, id: string): TransferInfo | undefined {
  const t = p.peer.transfersList().find((x) => x.id === id);
  return t && (t.state === 'done' || t.state === 'failed' || t.state === 'cancelled') ? t : undefined;
}

describe('swarming', () => {
  it('takes pieces from three sources and finishes when one leaves midway', async () => {
    const size = 12 * MiB;
    // 2 MiB/s per source: the download lasts about two seconds, long enough to lose a source midway.
    const { sha256, ups, down } = await setup(3, size, { maxUploadRate: 2 * MiB });
    const t = down.peer.download({ name: 'movie.mp4', sha256, size, sources: ups.map((u) => ({ host: '127.0.0.1', port: u.port })) });
    await waitFor('a third of the file', () => (down.peer.transfersList().find((x) => x.id === t.id)?.bytes ?? 0) > size / 3);
    const sent = ups.map((u) => u.peer.statsSnapshot().bytesUp);
    expect(sent.filter((b) => b > 0).length).toBe(3);
    await ups[1]!.peer.quit({ force: true });
    const done = await waitFor('the download to end', () => finished(down, t.id), 30_000);
    expect(done.state, done.error).toBe('done');
    expect(done.verified).toBe(true);
    expect(await sha256File(done.path!)).toBe(sha256);
    expect(down.logs.some((l) => l.includes(`source 127.0.0.1:${ups[1]!.port} left`))).toBe(true);
    const total = ups.reduce((n, u) => n + u.peer.statsSnapshot().bytesUp, 0);
    expect(total).toBeLessThan(size * 1.2);
  });

  it('adds a source that arrives later with the same sha256', async () => {
    const size = 8 * MiB;
    const { sha256, ups, down } = await setup(2, size, { maxUploadRate: 2 * MiB });
    const t = down.peer.download({ name: 'movie.mp4', sha256, size, sources: [{ host: '127.0.0.1', port: ups[0]!.port }] });
    await waitFor('some progress', () => (down.peer.transfersList().find((x) => x.id === t.id)?.bytes ?? 0) > 0);
    const again = down.peer.download({ name: 'movie.mp4', sha256, size, sources: [{ host: '127.0.0.1', port: ups[1]!.port }] });
    expect(again.id).toBe(t.id);
    const done = await waitFor('the download to end', () => finished(down, t.id), 30_000);
    expect(done.state, done.error).toBe('done');
    expect(ups[1]!.peer.statsSnapshot().bytesUp).toBeGreaterThan(0);
    expect(await sha256File(done.path!)).toBe(sha256);
  });
});
