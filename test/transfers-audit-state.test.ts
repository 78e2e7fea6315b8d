import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TransferInfo } from '../shared/types.js';
import { randomFile, startPeer, tempDir, waitFor, type TestPeer } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const MiB = 1 << 20;
const { peers } = cleanupAfterEach();
const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const ended = (p: TestPeer, id: string): TransferInfo | undefined => {
  const t = p.peer.transfersList().find((x) => x.id === id);
  return t && (t.state === 'done' || t.state === 'failed' || t.state === 'cancelled') ? t : undefined;
};

/** A bare v1 source serving any name it holds (as a hostile peer would, without a library's filters). */
async function rawV1Source(files: Record<string, Buffer>): Promise<{ host: string; port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (d) => {
      const [cmd, name] = d.toString('latin1').trim().split(',');
      const body = name === undefined ? undefined : files[name];
      if (cmd !== 'GET' || !body) return void socket.end('ERROR: could not find the file in the server');
      socket.write(String(body.length), () => setTimeout(() => socket.end(body), 60));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port };
}

/** Quit a peer and start it again on the same folders. */
async function restart(p: TestPeer): Promise<TestPeer> {
  await p.peer.quit({ force: true });
  peers.splice(peers.indexOf(p), 1);
  const again = await startPeer({ dir: p.root });
  peers.push(again);
  return again;
}

describe('audit 11: resume state cannot be planted by a download', () => {
  it('a downloaded X.part.json is saved under another name, and the next start works', async () => {
    const root = tempDir();
    const down = await startPeer({ dir: path.join(root, 'down') });
    peers.push(down);
    // What a hostile source serves: a file shaped like our resume state, aimed at the downloader's folder.
    const planted = JSON.stringify({ version: 1, name: 'x', finalPath: path.join(down.downloads, 'x'), sources: 5, createdAt: 0 });
    const source = await rawV1Source({ 'x.part.json': Buffer.from(planted), 'y.part': Buffer.from('not a partial file') });
    for (const name of ['x.part.json', 'y.part']) {
      const t = down.peer.download({ name, sources: [source] });
      const done = await waitFor(`the download of ${name}`, () => ended(down, t.id));
      expect(done.state, done.error).toBe('done');
      expect(done.path!).not.toMatch(/\.part(\.json)?$/);
    }
    expect(fs.readdirSync(down.downloads).filter((n) => /\.part(\.json)?$/.test(n))).toEqual([]);
    const again = await restart(down);
    expect(again.peer.transfersList()).toEqual([]);
  }, 30_000);

  it('corrupt resume state restarts that one download; the peer still starts', async () => {
    const root = tempDir();
    const sha256 = await randomFile(path.join(root, 'up', 'share', 'movie.mp4'), 4 * MiB);
    const up = await startPeer({ dir: path.join(root, 'up'), options: { maxUploadRate: 2 * MiB } });
    peers.push(up);
    const down = await startPeer({ dir: path.join(root, 'down') });
    peers.push(down);
    const source = { host: '127.0.0.1', port: up.port };
    const t = down.peer.download({ name: 'movie.mp4', sha256, sources: [source] });
    await waitFor('some data', () => (down.peer.transfersList().find((x) => x.id === t.id)?.bytes ?? 0) >= MiB);
    down.peer.pauseTransfer(t.id);
    await down.peer.transfers.settled(t.id);
    // Damage every resume state the downloader wrote, wherever it keeps it, as the audit did.
    const states: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const f = path.join(dir, e.name);
        if (e.isDirectory()) walk(f);
        else if (e.name.endsWith('.json') && fs.readFileSync(f, 'utf8').includes('"finalPath"')) states.push(f);
      }
    };
    walk(down.root);
    expect(states.length).toBe(1);
    await down.peer.quit({ force: true });
    peers.splice(peers.indexOf(down), 1);
    const bad = { version: 1, name: 'movie.mp4', finalPath: path.join(down.downloads, 'movie.mp4'), sources: null, createdAt: 0 };
    fs.writeFileSync(states[0]!, JSON.stringify(bad));
    const again = await startPeer({ dir: down.root });
    peers.push(again);
    // The damaged download is gone; asked again, it starts over and completes.
    expect(again.peer.transfersList()).toEqual([]);
    const t2 = again.peer.download({ name: 'movie.mp4', sha256, sources: [source] });
    const done = await waitFor('the download', () => ended(again, t2.id), 20_000);
    expect(done.state, done.error).toBe('done');
    expect(done.path).toBe(path.join(again.downloads, 'movie.mp4'));
  }, 30_000);
});
