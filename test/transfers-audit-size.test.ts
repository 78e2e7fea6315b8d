import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransferInfo } from '../shared/types.js';
import { randomFile, startPeer, tempDir, uploaderAndDownloader, waitFor, type TestPeer } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();
const servers: net.Server[] = [];
const realStatfs = fs.promises.statfs;
afterEach(async () => {
  fs.promises.statfs = realStatfs;
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const ended = (p: TestPeer, id: string): TransferInfo | undefined => {
  const t = p.peer.transfersList().find((x) => x.id === id);
  return t && (t.state === 'done' || t.state === 'failed' || t.state === 'cancelled') ? t : undefined;
};

/** A bare v1 source that answers any GET with `body`, whatever size the hit announced. */
async function rawV1Source(body: Buffer): Promise<{ host: string; port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (d) => {
      if (!d.toString('latin1').startsWith('GET,')) return void socket.end('ERROR: v1 only');
      socket.write(String(body.length), () => setTimeout(() => socket.end(body), 60));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
}

/** The file system reports `free` bytes available from now on. */
function reportFree(free: number): void {
  fs.promises.statfs = (async (p: fs.PathLike) => {
    const real = await realStatfs(p);
    return Object.assign(Object.create(Object.getPrototypeOf(real) as object) as fs.StatsFs, real, {
      bavail: Math.floor(free / real.bsize),
    });
  }) as typeof fs.promises.statfs;
}

describe('audit 7: a source cannot claim another size', () => {
  it('a v1 source claiming 2 MiB for a hit of 5 bytes is refused, and the .part does not grow', async () => {
    const down = await startPeer();
    peers.push(down);
    const source = await rawV1Source(Buffer.alloc(2 * MiB, 7));
    const t = down.peer.download({ name: 'song.mp3', size: 5, sources: [source] });
    const done = await waitFor('the download to end', () => ended(down, t.id));
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(/2097152 bytes.*5/);
    const part = path.join(down.downloads, 'song.mp3.part');
    expect(fs.existsSync(part) ? fs.statSync(part).size : 0).toBeLessThanOrEqual(5);
  });

  it('a v2 source whose file has another size than the hit is refused before any data', async () => {
    const root = tempDir();
    const sha256 = await randomFile(path.join(root, 'up', 'share', 'movie.mp4'), 3 * MiB);
    const up = await startPeer({ dir: path.join(root, 'up') });
    const down = await startPeer({ dir: path.join(root, 'down') });
    peers.push(up, down);
    const t = down.peer.download({ name: 'movie.mp4', sha256, size: 5, sources: [{ host: '127.0.0.1', port: up.port }] });
    const done = await waitFor('the download to end', () => ended(down, t.id));
    expect(done.state).toBe('failed');
    expect(done.error).toMatch(/3145728 bytes.*5/);
    expect(up.peer.statsSnapshot().bytesUp).toBe(0);
  });
});

describe('audit 7: free space', () => {
  it('is checked before the download: a clear error, the .part kept, and it resumes once there is space', async () => {
    const size = 4 * MiB;
    const { sha256, up, down } = await uploaderAndDownloader(size);
    peers.push(up, down);
    reportFree(MiB);
    const t = down.peer.download({ name: 'movie.mp4', sha256, size, sources: [{ host: '127.0.0.1', port: up.port }] });
    const failed = await waitFor('the download to end', () => ended(down, t.id));
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/not enough free space/);
    expect(fs.existsSync(path.join(down.downloads, 'movie.mp4.part'))).toBe(true);
    expect(up.peer.statsSnapshot().bytesUp).toBe(0);
    fs.promises.statfs = realStatfs;
    down.peer.resumeTransfer(t.id);
    const done = await waitFor('the download to end', () => ended(down, t.id));
    expect(done.state, done.error).toBe('done');
  });

  it('is checked during the download: it stops with a clear error and keeps what it has', async () => {
    const size = 8 * MiB;
    const { sha256, up, down } = await uploaderAndDownloader(size, { up: { maxUploadRate: 4 * MiB } });
    peers.push(up, down);
    const t = down.peer.download({ name: 'movie.mp4', sha256, size, sources: [{ host: '127.0.0.1', port: up.port }] });
    await waitFor('2 MiB', () => (down.peer.transfersList().find((x) => x.id === t.id)?.bytes ?? 0) >= 2 * MiB);
    reportFree(MiB);
    const failed = await waitFor('the download to end', () => ended(down, t.id));
    expect(failed.state).toBe('failed');
    expect(failed.error).toMatch(/not enough free space/);
    expect(failed.bytes).toBeLessThan(size);
    expect(fs.statSync(path.join(down.downloads, 'movie.mp4.part')).size).toBeGreaterThan(0);
  });
});
