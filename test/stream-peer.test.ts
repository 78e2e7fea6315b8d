import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransferInfo } from '../shared/types.js';
import { LocalStreamServer } from '../electron/peer/stream/local-stream-server.js';
import { cleanupTemp, randomFile, sha256File, startPeer, tempDir, waitFor, type TestPeer } from './helpers/harness.js';
import { lyingSource, type LyingSource } from './helpers/lying-source.js';

const MiB = 1 << 20;
let peers: TestPeer[] = [];
let servers: LocalStreamServer[] = [];
let liars: LyingSource[] = [];

afterEach(async () => {
  for (const s of servers) await s.close();
  for (const l of liars) l.server.close();
  await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
  peers = [];
  servers = [];
  liars = [];
  cleanupTemp();
});

/** GET `url` with a Range; resolves with the status and body (no time limit of its own: the test's bounds it). */
function get(url: string, range?: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: range ? { Range: range } : {} }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const transfer = (p: TestPeer, id: string): TransferInfo => p.peer.transfersList().find((t) => t.id === id)!;

async function finished(p: TestPeer, id: string): Promise<TransferInfo> {
  return waitFor('the download to end', () => {
    const t = transfer(p, id);
    return t.state === 'done' || t.state === 'failed' ? t : undefined;
  });
}

/**
 * A source sharing `size` random bytes as `name` under an upload cap (so a
 * download takes a while), a peer to play it, and a local stream server.
 */
async function sourceAndPlayer(name: string, size: number, maxUploadRate: number) {
  const original = path.join(tempDir(), name);
  const sha256 = await randomFile(original, size);
  const src = await startPeer({ files: { [name]: fs.readFileSync(original) }, options: { maxUploadRate } });
  const dst = await startPeer();
  peers.push(src, dst);
  const server = await LocalStreamServer.start();
  servers.push(server);
  return { original, sha256, src, dst, server };
}

describe('play while it downloads', () => {
  it('plays from the start and after a seek long before the download is done, then the download completes verified', async () => {
    const size = 16 * MiB + 4321;
    const { original, sha256, src, dst, server } = await sourceAndPlayer('movie.mp4', size, 2 * MiB);
    const bytes = fs.readFileSync(original);

    const info = await dst.peer.streams.open({ name: 'movie.mp4', sha256, size, sources: [src.addr] });
    expect(info).toMatchObject({ name: 'movie.mp4', type: 'video', size, complete: false });
    const url = server.publish(dst.peer.streams.source(info.id)!, info.name).url;

    const head = await get(url, 'bytes=0-99999');
    expect(head.status).toBe(206);
    expect(head.body.equals(bytes.subarray(0, 100_000))).toBe(true);
    expect(transfer(dst, info.transferId!).bytes).toBeLessThan(size / 2);

    // A seek ahead: the piece there is fetched next, before the ones in between.
    const at = 12 * MiB;
    const seek = await get(url, `bytes=${at}-${at + 99_999}`);
    expect(seek.body.equals(bytes.subarray(at, at + 100_000))).toBe(true);
    const d = dst.peer.transfers.downloads.downloads.get(info.transferId!)!;
    expect(d.pieces!.have.has(11), 'the piece before the seek point is still to come').toBe(false);
    expect(d.pieces!.have.done).toBeLessThan(d.pieces!.hashes.length);

    const all = await get(url);
    expect(all.body.equals(bytes)).toBe(true);
    const done = await finished(dst, info.transferId!);
    expect(done.state, done.error).toBe('done');
    expect(done.verified).toBe(true);
    expect(await sha256File(done.path!)).toBe(sha256);

    // Played again, the hit plays from the finished file: no second download.
    const again = await dst.peer.streams.open({ name: 'movie.mp4', sha256, size, sources: [src.addr] });
    expect(again).toMatchObject({ complete: true, transferId: undefined });
    expect(dst.peer.transfersList().filter((t) => t.direction === 'down')).toHaveLength(1);
    const replay = await get(server.publish(dst.peer.streams.source(again.id)!, again.name).url, 'bytes=-10');
    expect(replay.body.equals(bytes.subarray(-10))).toBe(true);
  });

  it('raises one download without pausing the others', async () => {
    const root = tempDir();
    const a = await randomFile(path.join(root, 'a.mp4'), 6 * MiB);
    const b = await randomFile(path.join(root, 'b.mp4'), 6 * MiB);
    const src = await startPeer({
      files: { 'a.mp4': fs.readFileSync(path.join(root, 'a.mp4')), 'b.mp4': fs.readFileSync(path.join(root, 'b.mp4')) },
      options: { maxUploadRate: 4 * MiB },
    });
    const dst = await startPeer();
    peers.push(src, dst);
    const other = dst.peer.download({ name: 'b.mp4', sha256: b, size: 6 * MiB, sources: [src.addr] });
    const info = await dst.peer.streams.open({ name: 'a.mp4', sha256: a, size: 6 * MiB, sources: [src.addr] });
    const before = transfer(dst, other.id).bytes;
    await waitFor('the other download to go on', () => transfer(dst, other.id).bytes > before && transfer(dst, info.transferId!).bytes > 0);
    expect(transfer(dst, other.id).state).toBe('running');
    expect((await finished(dst, other.id)).state).toBe('done');
    expect((await finished(dst, info.transferId!)).state).toBe('done');
  });
});

describe('a lying source while streaming', () => {
  it('never gets its piece to the player; the piece is fetched from the honest source', async () => {
    const size = 6 * MiB + 99;
    const { original, sha256, src: honest, dst, server } = await sourceAndPlayer('clip.mp4', size, 4 * MiB);
    const liar = await lyingSource(original, 'clip.mp4');
    liars.push(liar);

    const info = await dst.peer.streams.open({
      name: 'clip.mp4',
      sha256,
      size,
      sources: [{ host: '127.0.0.1', port: liar.port }, honest.addr],
    });
    const url = server.publish(dst.peer.streams.source(info.id)!, info.name).url;
    const all = await get(url);
    expect(all.status).toBe(200);
    expect(all.body.equals(fs.readFileSync(original))).toBe(true);
    expect(liar.lies.length).toBeGreaterThan(0);
    expect(dst.logs.some((l) => l.includes(`dropping source 127.0.0.1:${liar.port}`))).toBe(true);
    const done = await finished(dst, info.transferId!);
    expect(done.state, done.error).toBe('done');
    expect(await sha256File(done.path!)).toBe(sha256);
  });
});
