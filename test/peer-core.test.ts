/**
 * The peer's own behaviour over real sockets and real files: GET of a large
 * binary, broken transfers, QUIT waiting for an upload, RESET, malformed
 * input on the port, and the library (recursive scan, symlinks, hash cache).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../electron/peer/v2/frame.js';
import { MAGIC } from '../electron/peer/v2/messages.js';
import { SeedPeer } from './helpers/seed-peer.js';
import { dialV2ByHand } from './helpers/v2-wire.js';
import { cleanupTemp, randomBytes, sameBytes, sha256, sleep, startPeer, tempDir, waitFor, type TestPeer } from './helpers/harness.js';

afterAll(() => cleanupTemp());

const peers: TestPeer[] = [];
async function peer(...args: Parameters<typeof startPeer>): Promise<TestPeer> {
  const p = await startPeer(...args);
  peers.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(peers.map((p) => p.peer.quit({ force: true })));
});

/** Send raw bytes to a peer and collect what it answers until it closes (or a timeout). */
function rawExchange(port: number, data: Buffer | string, waitMs = 1500): Promise<Buffer> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const parts: Buffer[] = [];
    s.on('data', (c) => parts.push(c));
    s.on('error', () => {});
    s.on('connect', () => s.write(data));
    const t = setTimeout(() => s.destroy(), waitMs);
    s.on('close', () => {
      clearTimeout(t);
      resolve(Buffer.concat(parts));
    });
  });
}

describe('GET over v2', () => {
  it('downloads a multi-megabyte binary file byte-identical, verified, with no .part left', async () => {
    const data = randomBytes(12 * 1024 * 1024 + 12345);
    const src = await peer({ files: { 'movie.mov': data } });
    const dst = await peer({ bootstrap: [src.addr] });
    const progress: number[] = [];
    dst.peer.events.on('transfer:progress', (t) => progress.push(t.bytes));
    const t = dst.peer.download({ name: 'movie.mov', sources: [src.addr] });
    await waitFor('download', () => dst.peer.transfersList().find((x) => x.id === t.id)?.state === 'done', 20_000);
    const done = dst.peer.transfersList().find((x) => x.id === t.id)!;
    expect(done.verified).toBe(true);
    expect(done.sha256).toBe(sha256(data));
    expect(sameBytes(fs.readFileSync(path.join(dst.downloads, 'movie.mov')), data)).toBe(true);
    expect(fs.readdirSync(dst.downloads)).toEqual(['movie.mov']);
    // Progress is throttled, never one event per chunk.
    expect(progress.length).toBeLessThan(100);
  });

  it('a second download of the same name never overwrites: it gets a unique name', async () => {
    const src = await peer({ files: { 'a.mp3': 'first' } });
    const dst = await peer();
    fs.mkdirSync(dst.downloads, { recursive: true });
    fs.writeFileSync(path.join(dst.downloads, 'a.mp3'), 'precious');
    const t = dst.peer.download({ name: 'a.mp3', sources: [src.addr] });
    await waitFor('download', () => dst.peer.transfersList().find((x) => x.id === t.id)?.state === 'done');
    expect(fs.readFileSync(path.join(dst.downloads, 'a.mp3'), 'utf8')).toBe('precious');
    expect(fs.readFileSync(path.join(dst.downloads, 'a (1).mp3'), 'utf8')).toBe('first');
  });

  it('a transfer broken midway leaves no file under its final name; the partial data stays in .part', async () => {
    // A real source, slowed to 1 MB/s, that goes away (FORCEQUIT) halfway through.
    const data = randomBytes(3 * 1024 * 1024);
    const src = await startPeer({ files: { 'cut.mp3': data }, options: { maxUploadRate: 1024 * 1024 } });
    const dst = await peer();
    const t = dst.peer.download({ name: 'cut.mp3', sources: [src.addr] });
    await waitFor('some data', () => (dst.peer.transfersList().find((x) => x.id === t.id)?.bytes ?? 0) > 512 * 1024);
    await src.peer.quit({ force: true });
    await waitFor('failure', () => dst.peer.transfersList().find((x) => x.id === t.id)?.state === 'failed', 15_000);
    const failed = dst.peer.transfersList().find((x) => x.id === t.id)!;
    expect(failed.error).toBeTruthy();
    const files = fs.readdirSync(dst.downloads);
    expect(files).not.toContain('cut.mp3');
    expect(files).toContain('cut.mp3.part');
    expect(failed.bytes).toBeGreaterThan(0);
    expect(failed.bytes).toBeLessThan(data.length);
  });

  it('a seed source whose data does not match the known SHA-256 is rejected; nothing is presented as complete', async () => {
    const dir = tempDir();
    const real = randomBytes(64 * 1024);
    const fake = Buffer.from(real);
    fake[1000] = fake[1000]! ^ 0xff;
    fs.writeFileSync(path.join(dir, 'liar.mp3'), fake);
    const seed = new SeedPeer(dir);
    await seed.start();
    try {
      const dst = await peer();
      const t = dst.peer.download({ name: 'liar.mp3', sha256: sha256(real), sources: [{ host: '127.0.0.1', port: seed.PORT }] });
      await waitFor('failure', () => dst.peer.transfersList().find((x) => x.id === t.id)?.state === 'failed');
      expect(dst.peer.transfersList().find((x) => x.id === t.id)!.error).toMatch(/SHA-256|corrupt|mismatch|verif/i);
      expect(fs.readdirSync(dst.downloads)).not.toContain('liar.mp3');
    } finally {
      await seed.close();
    }
  });

  it('GET of an unknown name reports the error', async () => {
    const src = await peer({ files: { 'x.mp3': 'x' } });
    const dst = await peer();
    const t = dst.peer.download({ name: 'missing.mp3', sources: [src.addr] });
    await waitFor('failure', () => dst.peer.transfersList().find((x) => x.id === t.id)?.state === 'failed');
    expect(dst.peer.transfersList().find((x) => x.id === t.id)!.error).toMatch(/could not find/);
  });
});

describe('QUIT', () => {
  it('waits for a running upload to finish; FORCEQUIT-style quit does not', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const src = await startPeer({ files: { 'big.mov': data } });
    // A slow downloader: handshake, GET, then read nothing for a while.
    const { socket, decoder } = await dialV2ByHand(src.addr, { role: 'transfer' });
    socket.write(encodeFrame({ t: 'get', name: 'big.mov', offset: 0 }));
    await waitFor('upload to start', () => src.peer.activeTransfers().length === 1);
    expect(src.peer.activeTransfers()[0]).toMatchObject({ direction: 'up', name: 'big.mov' });
    let quitDone = false;
    const quitting = src.peer.quit().then(() => (quitDone = true));
    expect(src.peer.status).toBe('quitting');
    // Now read everything: the upload completes, and only then QUIT returns.
    const parts: Buffer[] = [decoder.takeRest()];
    let quitDoneAtEnd: boolean | undefined;
    const closed = new Promise((r) => socket.once('close', r));
    socket.once('end', () => (quitDoneAtEnd = quitDone));
    socket.on('data', (c) => parts.push(c));
    socket.resume();
    await quitting;
    await closed;
    expect(quitDoneAtEnd, 'QUIT returned before the upload ended').toBe(false);
    expect(src.peer.status).toBe('stopped');
    const all = Buffer.concat(parts);
    const headerLen = all.readUInt32BE(0) + 4;
    expect(sameBytes(all.subarray(headerLen), data)).toBe(true);
  });
  it('a FORCEQUIT while QUIT is waiting stops at once, and both calls finish', async () => {
    const src = await startPeer({ files: { 'big.mov': randomBytes(8 * 1024 * 1024) } });
    const { socket } = await dialV2ByHand(src.addr, { role: 'transfer' });
    socket.write(encodeFrame({ t: 'get', name: 'big.mov', offset: 0 }));
    await waitFor('upload to start', () => src.peer.activeTransfers().length === 1);
    let quitDone = false;
    const quitting = src.peer.quit().then(() => (quitDone = true));
    // QUIT waits for the upload, which never reads: it cannot be done.
    await waitFor('QUIT under way', () => src.peer.status === 'quitting');
    expect(quitDone).toBe(false);
    const started = Date.now();
    await src.peer.quit({ force: true });
    await quitting;
    expect(Date.now() - started).toBeLessThan(5000);
    socket.destroy();
  });
});

describe('RESET and the known-peer list', () => {
  it('RESET drops added and discovered peers and keeps the bootstrap list, which survives restarts', async () => {
    const a = await peer();
    const b = await peer();
    const c = await peer({ bootstrap: [a.addr] });
    c.peer.addPeer(b.addr);
    expect(c.peer.peers().known.map((k) => k.port)).toEqual([a.addr.port, b.addr.port]);
    await waitFor('neighbours', () => c.peer.peers().neighbours.length === 2);
    const known = c.peer.reset();
    expect(known.map((k) => [k.port, k.source])).toEqual([[a.addr.port, 'bootstrap']]);
    expect(() => c.peer.addPeer(c.addr)).toThrow(/this peer/);
  });

  it('the host cache persists discovered peers across a restart', async () => {
    const a = await startPeer();
    const b = await startPeer({ bootstrap: [a.addr] });
    const c = await startPeer({ bootstrap: [b.addr] });
    c.peer.discover(2);
    await waitFor('discovery', () => c.peer.peers().known.some((k) => k.port === a.addr.port));
    const dataDir = c.peer.settings().sharedDir.replace(/share$/, 'data');
    await c.peer.quit({ force: true });
    const saved = JSON.parse(fs.readFileSync(path.join(dataDir, 'hosts.json'), 'utf8')) as { peers: { port: number; source: string }[] };
    expect(saved.peers.find((p) => p.port === a.addr.port)?.source).toBe('discovered');
    await Promise.all([a.peer.quit({ force: true }), b.peer.quit({ force: true })]);
  });
});

describe('malformed input on the port', () => {
  it('answers bad v1 messages with ERROR, drops bad v2 frames, and keeps serving', async () => {
    const p = await peer({ files: { 'ok.mp3': 'fine' } });
    const port = p.addr.port;
    const cases: (string | Buffer)[] = [
      'HELLO',
      'SEARCH,x,abc,127.0.0.1,5',
      'SEARCH,x,3,127.0.0.1,99999',
      'DISCOVER,2',
      'GET,ok.mp3',
      'GET,,127.0.0.1,1',
      '\u0000\u0001\u0002',
      'x'.repeat(10_000),
      Buffer.concat([MAGIC, Buffer.from([0xff, 0xff, 0xff, 0xff])]),
      Buffer.concat([MAGIC, Buffer.from([0, 0, 0, 3]), Buffer.from('{{{')]),
      Buffer.concat([
        MAGIC,
        encodeFrame({ t: 'hello', v: 2, peerId: 'a'.repeat(32), port: 1, role: 'neighbour' }),
        Buffer.from([0, 0, 0, 2, 0x7b, 0x7d]),
      ]),
      Buffer.concat([MAGIC, Buffer.from([0, 0])]),
    ];
    const replies = await Promise.all(cases.map((c) => rawExchange(port, c)));
    for (const i of [0, 1, 2, 3, 4, 5]) expect(replies[i]!.toString()).toMatch(/^ERROR: /);
    expect(replies[0]!.toString()).toMatch(/unknown command/);
    expect(replies[1]!.toString()).toMatch(/bad ttl/);
    expect(replies[2]!.toString()).toMatch(/bad origin port/);
    // Still alive and correct.
    const r = await rawExchange(port, 'LISTR');
    expect(r.toString()).toBe('music\t ok.mp3\t size: 4');
    const drops = p.peer.statsSnapshot().drops;
    expect(drops['v1 malformed']).toBeGreaterThanOrEqual(6);
  });
});

describe('library', () => {
  it('scans recursively, matches extensions case-insensitively, skips non-media and never follows symlinks out', async () => {
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'secret.mp3'), 'secret');
    const p = await peer({ files: { 'top.MP4': 'a', 'sub/deeper/song.flac': 'b', 'doc.txt': 'c', 'sub/pic.HEIC': 'd' } });
    fs.symlinkSync(path.join(outside, 'secret.mp3'), path.join(p.share, 'link.mp3'));
    fs.symlinkSync(outside, path.join(p.share, 'linkdir'));
    await (p.peer as unknown as { library: { rescan(): Promise<void> } }).library.rescan();
    expect(p.peer.listLocal().map((f) => `${f.type}:${f.name}`)).toEqual([
      'music:sub/deeper/song.flac',
      'picture:sub/pic.HEIC',
      'video:top.MP4',
    ]);
    const r = await rawExchange(p.addr.port, `GET,link.mp3,127.0.0.1,${p.addr.port}`);
    expect(r.toString()).toMatch(/^ERROR/);
    expect(p.peer.mediaPath('link.mp3')).toBeUndefined();
  });

  it('watches the folder: added, changed and removed files show up without a restart', async () => {
    const p = await peer({ options: { watch: true } });
    await sleep(300);
    fs.writeFileSync(path.join(p.share, 'new.mp3'), 'one');
    await waitFor('added file', () => p.peer.listLocal().some((f) => f.name === 'new.mp3'), 8000);
    const h1 = p.peer.listLocal().find((f) => f.name === 'new.mp3')!.sha256;
    fs.writeFileSync(path.join(p.share, 'new.mp3'), 'two, longer');
    await waitFor('changed file', () => p.peer.listLocal().find((f) => f.name === 'new.mp3')?.sha256 !== h1, 8000);
    fs.rmSync(path.join(p.share, 'new.mp3'));
    await waitFor('removed file', () => p.peer.listLocal().length === 0, 8000);
  });

  it('caches hashes by path, size and mtime so a restart does not rehash', async () => {
    const root = tempDir();
    const share = path.join(root, 'share');
    fs.mkdirSync(share);
    fs.writeFileSync(path.join(share, 'a.mp3'), 'real content');
    const opts = { options: { sharedDir: share, dataDir: path.join(root, 'data') } };
    const first = await startPeer(opts);
    const h = first.peer.listLocal()[0]!.sha256;
    await first.peer.quit({ force: true });
    // Poison the cache entry: if the restart used the cache, it reports the poisoned hash.
    const cacheFile = path.join(root, 'data', 'hash-cache.json');
    const cache = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
    cache.files['a.mp3'].sha256 = 'b'.repeat(64);
    fs.writeFileSync(cacheFile, JSON.stringify(cache));
    const second = await startPeer(opts);
    expect(second.peer.listLocal()[0]!.sha256).toBe('b'.repeat(64));
    await second.peer.quit({ force: true });
    // A changed file (new mtime/size) is rehashed.
    fs.writeFileSync(path.join(share, 'a.mp3'), 'changed content!');
    const third = await startPeer(opts);
    expect(third.peer.listLocal()[0]!.sha256).not.toBe('b'.repeat(64));
    expect(third.peer.listLocal()[0]!.sha256).not.toBe(h);
    await third.peer.quit({ force: true });
  });

  it('imports files into the shared folder; they are searchable at once', async () => {
    const src = tempDir();
    fs.writeFileSync(path.join(src, 'holiday clip.mp4'), randomBytes(100_000));
    fs.writeFileSync(path.join(src, 'notes.txt'), 'no');
    const a = await peer();
    const b = await peer({ bootstrap: [a.addr] });
    await waitFor('neighbours', () => b.peer.peers().neighbours.length === 1);
    const r = await a.peer.importFiles([path.join(src, 'holiday clip.mp4'), path.join(src, 'notes.txt'), '/nonexistent/x.mp3']);
    expect(r.imported).toEqual(['holiday clip.mp4']);
    expect(a.peer.listLocal().map((f) => f.name)).toEqual(['holiday clip.mp4']);
    const hits: string[] = [];
    b.peer.events.on('search:hit', (h) => hits.push(h.name));
    b.peer.search('holiday', 1);
    await waitFor('hit', () => hits.length === 1);
  });
});

describe('the boundary between the peer and Electron', () => {
  it('nothing under electron/peer/ imports electron', () => {
    const root = path.join(__dirname, '..', 'electron', 'peer');
    const offenders: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.[cm]?[tj]sx?$/.test(e.name)) {
          const src = fs.readFileSync(p, 'utf8');
          if (/from\s+['"]electron(\/[^'"]*)?['"]|require\(\s*['"]electron['"]\s*\)|import\(\s*['"]electron['"]\s*\)/.test(src))
            offenders.push(p);
        }
      }
    };
    walk(root);
    expect(fs.readdirSync(root).length).toBeGreaterThan(5);
    expect(offenders).toEqual([]);
  });
});
