import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { computePieces } from '../electron/peer/transfers/pieces.js';
import { randomFile, sha256File, startPeer, tempDir, waitFor } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();

describe('piece lists', () => {
  it('are computed when the library is indexed and kept beside the hash cache, so an upload never waits for them', async () => {
    const root = tempDir();
    const file = path.join(root, 'up', 'share', 'movie.mp4');
    const sha256 = await randomFile(file, 5 * MiB + 123);
    const up = await startPeer({ dir: path.join(root, 'up') });
    peers.push(up);
    const cached = JSON.parse(await fs.promises.readFile(path.join(up.data, 'pieces', `${sha256}.json`), 'utf8')) as unknown;
    expect(cached).toEqual(await computePieces(file));

    // A download gets that list.
    const down = await startPeer({ dir: path.join(root, 'down') });
    peers.push(down);
    const t = down.peer.download({ name: 'movie.mp4', sha256, sources: [{ host: '127.0.0.1', port: up.port }] });
    const done = await waitFor('the download', () => {
      const x = down.peer.transfersList().find((y) => y.id === t.id);
      return x?.state === 'done' || x?.state === 'failed' ? x : undefined;
    });
    expect(done.state, done.error).toBe('done');
    expect(await sha256File(done.path!)).toBe(sha256);
  });

  it('of files no longer shared are dropped at the next scan', async () => {
    const root = tempDir();
    const file = path.join(root, 'up', 'share', 'clip.mp4');
    const sha256 = await randomFile(file, MiB);
    const up = await startPeer({ dir: path.join(root, 'up') });
    peers.push(up);
    const cached = path.join(up.data, 'pieces', `${sha256}.json`);
    expect(fs.existsSync(cached)).toBe(true);
    await up.peer.quit({ force: true });
    await fs.promises.rm(file);
    peers.push(await startPeer({ dir: path.join(root, 'up') }));
    expect(fs.existsSync(cached)).toBe(false);
  });
});
