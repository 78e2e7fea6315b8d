import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Bitfield } from '../electron/peer/transfers/pieces.js';
import { randomFile, sha256File, startPeer, tempDir, transferEnded, type PeerSetup, type TestPeer } from './helpers/harness.js';
import { lyingSource } from './helpers/lying-source.js';
import { readResumeState } from './transfers-state-file.js';

const MiB = 1 << 20;
let peers: TestPeer[] = [];
let dirs: string[] = [];
let servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
  for (const s of servers) s.close();
  await Promise.all(dirs.map((d) => fs.promises.rm(d, { recursive: true, force: true })));
  peers = [];
  dirs = [];
  servers = [];
});

/** A v2 uploader that speaks the real handshake and protocol, but flips a byte in the first piece it sends. */
async function lyingUploader(file: string): Promise<{ port: number; badPieces: number[] }> {
  const liar = await lyingSource(file, 'movie.mp4', 'first-piece');
  servers.push(liar.server);
  return { port: liar.port, badPieces: liar.lies };
}

/** A fresh folder holding a random `original.mp4` of `size` bytes. */
async function makeOriginal(size: number): Promise<{ root: string; file: string; sha256: string }> {
  const root = tempDir();
  dirs.push(root);
  const file = path.join(root, 'original.mp4');
  return { root, file, sha256: await randomFile(file, size) };
}

/** A peer in `root/honest` sharing `file` as movie.mp4. */
async function honestPeer(root: string, file: string, options: PeerSetup['options'] = {}): Promise<TestPeer> {
  await fs.promises.mkdir(path.join(root, 'honest', 'share'), { recursive: true });
  await fs.promises.copyFile(file, path.join(root, 'honest', 'share', 'movie.mp4'));
  const p = await startPeer({ dir: path.join(root, 'honest'), options });
  peers.push(p);
  return p;
}

describe('piece-level integrity', () => {
  it('catches a source that lies in one piece, drops it, and gets that piece elsewhere', async () => {
    const size = 8 * MiB + 12345;
    const { root, file: original, sha256 } = await makeOriginal(size);
    const honest = await honestPeer(root, original, { maxUploadRate: 8 * MiB });
    const down = await startPeer({ dir: path.join(root, 'down') });
    peers.push(down);
    const liar = await lyingUploader(original);

    const t = down.peer.download({
      name: 'movie.mp4',
      sha256,
      size,
      sources: [
        { host: '127.0.0.1', port: liar.port },
        { host: '127.0.0.1', port: honest.port },
      ],
    });
    const done = await transferEnded(down.peer, t.id, 'the download to end');
    expect(done.state, done.error).toBe('done');
    expect(liar.badPieces.length).toBe(1);
    expect(down.logs.some((l) => l.includes(`dropping source 127.0.0.1:${liar.port}`) && l.includes(`piece ${liar.badPieces[0]}`))).toBe(
      true,
    );
    expect(await sha256File(done.path!)).toBe(sha256);
    expect(Buffer.compare(await fs.promises.readFile(done.path!), await fs.promises.readFile(original))).toBe(0);
  });

  it('finds a bad piece from a lone source by the whole-file check, names the source, and refetches only that piece', async () => {
    const size = 8 * MiB + 4321;
    const { root, file: original, sha256 } = await makeOriginal(size);
    const down = await startPeer({ dir: path.join(root, 'down') });
    peers.push(down);
    const liar = await lyingUploader(original);

    // Alone, the liar's pieces stream in file order and are checked only by the whole-file SHA-256.
    const t = down.peer.download({ name: 'movie.mp4', sha256, size, sources: [{ host: '127.0.0.1', port: liar.port }] });
    const failed = await transferEnded(down.peer, t.id, 'the download to fail');
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/every source sent bad data/);
    expect(liar.badPieces).toEqual([0]);
    expect(down.logs.some((l) => l.includes(`dropping source 127.0.0.1:${liar.port}: piece 0 failed verification`))).toBe(true);
    const state = await readResumeState(down.data);
    const kept = new Bitfield(state.pieces.length, state.done);
    expect(kept.has(0)).toBe(false);
    expect(kept.done).toBe(state.pieces.length - 1);
    expect(fs.existsSync(path.join(down.downloads, 'movie.mp4'))).toBe(false);

    // An honest source turns up: only the bad piece is fetched, and the liar stays dropped.
    const honest = await honestPeer(root, original);
    const again = down.peer.download({ name: 'movie.mp4', sha256, size, sources: [{ host: '127.0.0.1', port: honest.port }] });
    expect(again.id).toBe(t.id);
    const done = await transferEnded(down.peer, t.id, 'the download to finish');
    expect(done.state, done.error).toBe('done');
    expect(Buffer.compare(await fs.promises.readFile(done.path!), await fs.promises.readFile(original))).toBe(0);
    expect(honest.peer.statsSnapshot().bytesUp).toBeLessThanOrEqual(MiB + 64 * 1024);
    expect(liar.badPieces).toEqual([0]);
  });
});
