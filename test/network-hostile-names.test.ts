import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FrameDecoder } from '../electron/peer/v2/frame.js';
import type { V2Message } from '../electron/peer/v2/messages.js';
import { cleanupTemp, startPeer, tempDir, waitFor, type TestPeer } from './helpers/harness.js';
import { v1Request } from './helpers/raw-neighbour.js';
import { dialV2ByHand } from './helpers/v2-wire.js';

const SECRET = 'SECRET-SENTINEL-CONTENT';
const root = tempDir('mactella-hostile-');
const outside = path.join(root, 'outside');
let a: TestPeer;

/** Every file under `dir`, with its content hash stand-in (size + first bytes), except the folders a peer may write. */
function snapshot(dir: string, skip: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (skip.some((s) => p === s || p.startsWith(s + path.sep))) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, fs.readFileSync(p).toString('base64'));
      else out.set(p, `link:${e.isSymbolicLink() ? fs.readlinkSync(p) : '?'}`);
    }
  };
  walk(dir);
  return out;
}

let before: Map<string, string>;
const allowed = () => [a.share, a.downloads, path.join(a.root, 'data')];
/** The sentinel folder, plus the peer's own temp root minus the folders it may write. */
const outsideSnapshot = () => new Map([...snapshot(root, []), ...snapshot(a.root, allowed())]);

beforeAll(async () => {
  fs.mkdirSync(path.join(outside, 'deep'), { recursive: true });
  for (const f of ['secret.mp3', 'x', 'x.mp3', 'passwd', 'deep/secret.mp3']) fs.writeFileSync(path.join(outside, f), SECRET);
  a = await startPeer({ files: { 'song.mp3': 'honest song', 'sub/inner.mp3': 'inner' } });
  // Symlink escapes inside the shared folder: a file and a folder pointing outside.
  fs.symlinkSync(path.join(outside, 'secret.mp3'), path.join(a.share, 'escape.mp3'));
  fs.symlinkSync(outside, path.join(a.share, 'linkdir'));
  fs.symlinkSync(path.join(outside, 'secret.mp3'), path.join(a.share, 'sub', 'escape2.mp3'));
  await (a.peer as unknown as { library: { rescan(): Promise<void> } }).library.rescan();
  before = outsideSnapshot();
});

afterAll(async () => {
  await a.peer.quit({ force: true });
  cleanupTemp();
});

function hostileNames(): string[] {
  return [
    '..',
    '../',
    '../secret.mp3',
    '../../outside/secret.mp3',
    '../'.repeat(40) + 'etc/passwd',
    'sub/../../secret.mp3',
    './../secret.mp3',
    '....//secret.mp3',
    '%2e%2e/secret.mp3',
    '%2e%2e%2fsecret.mp3',
    '..%2f..%2foutside%2fsecret.mp3',
    '%252e%252e%252fsecret.mp3',
    '..%5csecret.mp3',
    '..\\secret.mp3',
    '..\\..\\outside\\secret.mp3',
    'C:\\Windows\\win.ini',
    '/etc/passwd',
    path.join(outside, 'secret.mp3'),
    '//' + path.join(outside, 'secret.mp3'),
    'file://' + path.join(outside, 'secret.mp3'),
    '~/secret.mp3',
    'song.mp3\0../secret.mp3',
    '\0',
    'a'.repeat(5000) + '.mp3',
    'b'.repeat(300) + '.mp3',
    'escape.mp3',
    'sub/escape2.mp3',
    'escape2.mp3',
    'linkdir/secret.mp3',
    'linkdir/deep/secret.mp3',
    'sub/inner.mp3/../../../outside/x.mp3',
    '\u202e3pm.terces',
  ];
}

/** A v2 GET by name on a transfer connection; returns every frame and raw byte the peer sent. */
async function v2Get(name: string): Promise<{ frames: V2Message[]; raw: string }> {
  const { socket: s, decoder } = await dialV2ByHand(a.addr, { role: 'transfer' });
  const chunks: Buffer[] = [];
  const done = new Promise<void>((r) => s.on('close', () => r()));
  s.on('data', (c: Buffer) => chunks.push(c));
  s.on('error', () => {});
  s.resume();
  // Hand-encoded so that names the schema would refuse still reach the peer.
  const body = Buffer.from(JSON.stringify({ t: 'get', name, offset: 0 }));
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  s.write(Buffer.concat([head, body]));
  const timer = setTimeout(() => s.destroy(), 3000);
  await done;
  clearTimeout(timer);
  const all = Buffer.concat([decoder.takeRest(), ...chunks]);
  let frames: V2Message[] = [];
  try {
    frames = new FrameDecoder().push(all);
  } catch {
    /* raw data after get-ok would not decode; checked through `raw` */
  }
  return { frames, raw: all.toString('latin1') };
}

describe('hostile names never leave the shared and download folders', () => {
  const names = hostileNames();

  it('has at least 24 hostile names', () => {
    expect(names.length).toBeGreaterThanOrEqual(24);
  });

  it('v1 GET refuses every hostile name with an ERROR and never serves a byte from outside', async () => {
    for (const n of names) {
      const reply = (await v1Request(a.addr, `GET,${n},127.0.0.1,1`)).toString('latin1');
      expect(reply, n).not.toContain(SECRET);
      expect(reply.startsWith('ERROR'), `${JSON.stringify(n.slice(0, 60))} -> ${JSON.stringify(reply.slice(0, 80))}`).toBe(true);
    }
    // The honest names still work.
    expect((await v1Request(a.addr, 'GET,song.mp3,127.0.0.1,1')).toString()).toMatch(/^11.*honest song$/s);
  });

  it('v2 GET refuses every hostile name with an error frame or a closed connection, never get-ok', async () => {
    for (const n of names) {
      const { frames, raw } = await v2Get(n);
      expect(raw, n).not.toContain(SECRET);
      expect(
        frames.some((f) => f.t === 'get-ok'),
        n,
      ).toBe(false);
    }
    const ok = await v2Get('song.mp3');
    expect(ok.raw).toContain('honest song');
  });

  it('LISTR (v1) and list (v2) never show symlinks that leave the shared folder', async () => {
    const listing = (await v1Request(a.addr, 'LISTR')).toString();
    expect(listing).toContain('song.mp3');
    expect(listing).toContain('sub/inner.mp3');
    expect(listing).not.toMatch(/escape|linkdir|secret/);
    const b = await startPeer();
    try {
      const r = await b.peer.listRemote(a.addr);
      expect(r.files.map((f) => f.name).sort()).toEqual(['song.mp3', 'sub/inner.mp3']);
    } finally {
      await b.peer.quit({ force: true });
    }
    // Hostile LISTR variants are just LISTR (the seed's startswith rule) or refused.
    for (const n of ['LISTR,../..', 'LISTR../../etc', `LISTR,${outside}`]) {
      const r = (await v1Request(a.addr, n)).toString();
      expect(r).not.toContain(SECRET);
      expect(r).not.toMatch(/escape|secret/);
    }
  });

  it('imports (importStream and importFiles) write only inside the shared folder', async () => {
    // A peer of its own: what it imports must not show up in the other tests' GETs and listings of `a`.
    const own = await startPeer();
    onTestFinished(() => own.peer.quit({ force: true }));
    for (const n of names) {
      try {
        const rel = await own.peer.importStream(n, Readable.from([Buffer.from('imported')]), 8);
        const full = path.resolve(own.share, rel);
        expect(full.startsWith(own.share + path.sep), `${n} -> ${rel}`).toBe(true);
        expect(path.dirname(full), n).toBe(own.share);
      } catch (e) {
        expect((e as Error).message.length).toBeGreaterThan(0);
      }
    }
    const weird = path.join(tempDir('mactella-import-'), 'weird');
    fs.mkdirSync(weird);
    const src = path.join(weird, '..%2f..%2fimport.mp3');
    fs.writeFileSync(src, 'from the user');
    const { imported } = await own.peer.importFiles([src, path.join(weird, '../outside/../../nope.mp3')]);
    expect(imported.every((r) => path.resolve(own.share, r).startsWith(own.share + path.sep))).toBe(true);
  });

  it('a malicious v1 uploader cannot make a download land outside the download folder', async () => {
    const served: string[] = [];
    const evil = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', (c: Buffer) => {
        const text = c.toString('latin1');
        if (text.startsWith('MTELLA2')) return s.destroy(); // "a seed peer": never answers the handshake
        served.push(text);
        s.write('8');
        setTimeout(() => s.end('PAYLOAD!'), 30);
      });
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    const port = (evil.address() as net.AddressInfo).port;
    try {
      const evilNames = [
        '../../x',
        '../x.mp3',
        '/tmp/x.mp3',
        path.join(outside, 'x.mp3'),
        '..\\..\\x.mp3',
        '%2e%2e/x.mp3',
        'sub/../../x.mp3',
        '..',
        '.',
      ];
      const ids = evilNames.map((n) => a.peer.download({ name: n, sources: [{ host: '127.0.0.1', port }] }).id);
      const ended = () => a.peer.transfersList().filter((t) => ids.includes(t.id) && t.state !== 'running' && t.state !== 'queued');
      // Downloads of the same sanitised name may be merged into one transfer: wait for those that exist to end.
      const listed = () => a.peer.transfersList().filter((t) => ids.includes(t.id));
      await waitFor('every download to end', () => listed().length > 0 && ended().length === listed().length, 20_000).catch((e) => {
        console.log(JSON.stringify(a.peer.transfersList().map((t) => [t.name.slice(0, 30), t.state, t.error])), served.length);
        throw e;
      });
    } finally {
      evil.close();
    }
    // The evil source really served its bytes (the download path was exercised), and they landed inside.
    expect(served.length).toBeGreaterThan(0);
    const landed = (fs.readdirSync(a.downloads, { recursive: true, withFileTypes: false }) as string[]).filter(
      (f) => fs.statSync(path.join(a.downloads, f)).isFile() && fs.readFileSync(path.join(a.downloads, f), 'latin1') === 'PAYLOAD!',
    );
    expect(landed.length).toBeGreaterThan(0);
    // Whatever was written is inside the download folder.
    for (const f of fs.readdirSync(a.downloads, { recursive: true, withFileTypes: false }) as string[]) {
      expect(path.resolve(a.downloads, f).startsWith(a.downloads + path.sep)).toBe(true);
    }
  });

  // After every test (not once at the end, which only held when every test ran before it):
  // nothing outside the shared, download and data folders was read into a reply, written or created.
  afterEach(() => {
    const after = outsideSnapshot();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [p, v] of before) expect(after.get(p), p).toBe(v);
    for (const f of ['secret.mp3', 'x', 'x.mp3', 'passwd', 'deep/secret.mp3'])
      expect(fs.readFileSync(path.join(outside, f), 'utf8')).toBe(SECRET);
  });
});
