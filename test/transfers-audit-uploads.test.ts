import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Library } from '../electron/peer/library.js';
import { StatsCounter } from '../electron/peer/stats.js';
import { TransferManager, type TransferDeps } from '../electron/peer/transfers/transfer-manager.js';
import { TRANSFER_MAX_FRAME } from '../electron/peer/transfers/pieces.js';
import type { Hello } from '../electron/peer/v2/connection.js';
import { encodeFrame, FrameDecoder } from '../electron/peer/v2/frame.js';
import { MAGIC, type V2Message } from '../electron/peer/v2/messages.js';
import { randomFile, tempDir, waitFor } from './helpers/harness.js';
import { listenTracked } from './helpers/tracked-server.js';
import { cleanupAfterEach } from './helpers/cleanup.js';
import { newPeerId } from './helpers/v2-wire.js';

const MiB = 1 << 20;
cleanupAfterEach();
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * A TransferManager serving one shared folder on a loopback port, as the
 * peer's listener hands it connections: v2 transfer connections (magic,
 * hello, first request) and v1 GETs.
 */
async function uploader(files: Record<string, number>, deps: Partial<TransferDeps> = {}) {
  const root = tempDir();
  const share = path.join(root, 'share');
  const sums: Record<string, string> = {};
  for (const [name, size] of Object.entries(files)) sums[name] = await randomFile(path.join(share, name), size);
  const library = new Library(share, path.join(root, 'data', 'index.json'), quiet, () => {});
  await library.start(false);
  const tm = new TransferManager({
    library,
    downloadDir: () => path.join(root, 'downloads'),
    stats: new StatsCounter(),
    log: quiet,
    hello: () => ({ t: 'hello', v: 2, peerId: newPeerId(), port: 0, role: 'transfer' }),
    identity: () => {
      throw new Error('an uploader does not dial');
    },
    protocolOf: () => 'unknown',
    setProtocol: () => {},
    emit: () => {},
    uploadSlots: 1,
    ...deps,
  });
  const server = await listenTracked((s) => {
    let buf = Buffer.alloc(0);
    let magic = false;
    const decoder = new FrameDecoder(TRANSFER_MAX_FRAME);
    const frames: V2Message[] = [];
    const onData = (c: Buffer) => {
      if (!magic) {
        buf = Buffer.concat([buf, c]);
        if (buf.subarray(0, 4).toString('latin1') === 'GET,') {
          s.off('data', onData);
          return void tm.serveV1(s, buf.toString('latin1').split(',')[1]!);
        }
        if (buf.length < MAGIC.length) return;
        magic = true;
        c = buf.subarray(MAGIC.length);
      }
      // Magic, then hello and the first request.
      decoder.append(c);
      while (frames.length < 2) {
        const m = decoder.next();
        if (!m) return;
        frames.push(m);
      }
      s.off('data', onData);
      s.pause();
      void tm.serveTransfer(s, decoder, frames[1]!, frames[0] as Hello);
    };
    s.on('data', onData);
  });
  const port = server.port;
  closers.push(async () => {
    await server.close();
    await tm.abortAll();
    tm.close();
    await library.close();
  });
  return { tm, port, sums, share };
}

const hello: Hello = { t: 'hello', v: 2, peerId: newPeerId(), port: 1, role: 'transfer' };

/**
 * A downloader's transfer connection from `localAddress`. `frames` collects
 * what comes back until raw data would follow (a get-ok with data).
 */
async function client(port: number, localAddress = '127.0.0.1', o: { hog?: boolean } = {}) {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => {});
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  closers.push(() => void socket.destroy());
  const frames: V2Message[] = [];
  const decoder = new FrameDecoder(TRANSFER_MAX_FRAME);
  let raw = false;
  socket.on('data', (c: Buffer) => {
    if (raw) return;
    for (const m of decoder.push(c)) {
      frames.push(m);
      if (m.t === 'get-ok' && m.length > 0) {
        raw = true;
        // A hog stops reading once its data starts: the uploader's writes back up.
        if (o.hog) socket.pause();
        break;
      }
    }
  });
  let first = true;
  const send = (m: V2Message) => {
    socket.write(first ? Buffer.concat([MAGIC, encodeFrame(hello), encodeFrame(m)]) : encodeFrame(m));
    first = false;
  };
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, frames, send, closed, got: (t: V2Message['t']) => frames.some((f) => f.t === t) };
}

describe('audit 4: upload slots cannot be held forever', () => {
  it('a downloader that never reads loses its slot after the upload progress timeout', async () => {
    const { tm, port, sums } = await uploader({ 'big.mp4': 32 * MiB }, { uploadStallMs: 500 } as Partial<TransferDeps>);
    const hog = await client(port, '127.0.0.1', { hog: true });
    hog.send({ t: 'get', sha256: sums['big.mp4']!, offset: 0, length: 32 * MiB, more: true });
    await waitFor('the hog to hold the slot', () => tm.slots.running === 1, 3000);
    const honest = await client(port);
    honest.send({ t: 'get', sha256: sums['big.mp4']!, offset: 0, length: MiB });
    await waitFor('the honest downloader to be queued', () => honest.got('queued'), 3000);
    await waitFor('the honest downloader to get its slot', () => honest.got('get-ok'), 5000);
    // The hog was cut off: reading again, it finds its connection closed.
    hog.socket.resume();
    await hog.closed;
  }, 15_000);

  it('one IP holds at most its share of the slots; another IP is served at once', async () => {
    const { port, sums } = await uploader({ 'big.mp4': 32 * MiB }, { uploadSlots: 2, slotsPerIp: 1 } as Partial<TransferDeps>);
    const get = { t: 'get', sha256: sums['big.mp4']!, offset: 0, length: 32 * MiB, more: true } as const;
    const a1 = await client(port, '127.0.0.1', { hog: true });
    a1.send(get);
    await waitFor('a1 served', () => a1.got('get-ok'), 3000);
    const a2 = await client(port, '127.0.0.1', { hog: true });
    a2.send(get);
    const b = await client(port, '127.0.0.2', { hog: true });
    await waitFor('a2 answered', () => a2.frames.length > 0, 3000);
    b.send(get);
    await waitFor('b served', () => b.got('get-ok'), 3000);
    expect(a2.frames[0]!.t).toBe('queued');
  }, 15_000);

  it('a queued v1 GET whose socket closes leaves the queue', async () => {
    const { tm, port, sums } = await uploader({ 'big.mp4': 32 * MiB });
    const hog = await client(port, '127.0.0.1', { hog: true });
    hog.send({ t: 'get', sha256: sums['big.mp4']!, offset: 0, length: 32 * MiB, more: true });
    await waitFor('the hog to hold the slot', () => tm.slots.running === 1, 3000);
    const v1 = net.connect({ host: '127.0.0.1', port });
    v1.on('error', () => {});
    await new Promise((r) => v1.once('connect', r));
    v1.write(`GET,big.mp4,127.0.0.1,1`);
    await waitFor('the GET to be queued', () => tm.slots.queued === 1, 3000);
    v1.destroy();
    await waitFor('the closed GET to leave the queue', () => tm.slots.queued === 0, 3000);
  }, 15_000);
});

describe('audit 5: idle transfer connections cannot lock everyone out', () => {
  it('zero-length gets cannot keep a connection open past its request budget', async () => {
    const { port, sums } = await uploader({ 'a.mp4': MiB });
    const idle = await client(port);
    const head = { t: 'get', sha256: sums['a.mp4']!, offset: 0, length: 0, more: true } as const;
    for (let i = 0; i < 200 && !idle.socket.destroyed; i++) {
      idle.send(head);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.race([idle.closed, new Promise((_, j) => setTimeout(() => j(new Error('still open after 200 requests')), 3000))]);
    expect(idle.frames.filter((f) => f.t === 'get-ok').length).toBeLessThan(200);
  }, 15_000);

  it('a transfer connection is closed after its absolute lifetime, even while it keeps asking', async () => {
    const { port, sums } = await uploader({ 'a.mp4': MiB }, { connectionLifetimeMs: 600 } as Partial<TransferDeps>);
    const idle = await client(port);
    const head = { t: 'get', sha256: sums['a.mp4']!, offset: 0, length: 0, more: true } as const;
    const started = Date.now();
    const keepAlive = setInterval(() => idle.send(head), 100);
    try {
      idle.send(head);
      await Promise.race([idle.closed, new Promise((_, j) => setTimeout(() => j(new Error('still open after 4 s')), 4000))]);
    } finally {
      clearInterval(keepAlive);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
  }, 15_000);

  it('connections holding no slot are capped, per IP and in total; honest ones from elsewhere still get in', async () => {
    const { port, sums } = await uploader({ 'a.mp4': MiB }, { maxSlotlessConnections: 8, maxSlotlessPerIp: 4 } as Partial<TransferDeps>);
    const head = { t: 'get', sha256: sums['a.mp4']!, offset: 0, length: 0, more: true } as const;
    const flood: Awaited<ReturnType<typeof client>>[] = [];
    for (let i = 0; i < 6; i++) {
      const c = await client(port, '127.0.0.3');
      c.send(head);
      flood.push(c);
    }
    await waitFor('every flood connection answered', () => flood.every((c) => c.frames.length > 0 || c.socket.destroyed), 3000);
    const refused = flood.filter((c) => c.frames.some((f) => f.t === 'error' && f.code === 'busy'));
    expect(refused.length).toBe(2);
    const honest = await client(port, '127.0.0.4');
    honest.send(head);
    await waitFor('the honest head', () => honest.got('get-ok'), 3000);
  }, 15_000);
});

describe('suspected: a v1 GET for a file no longer shared', () => {
  it('gets a v1 ERROR line, not a v2 error frame', async () => {
    const { port, share } = await uploader({ 'gone.mp3': MiB });
    // Indexed, then removed from the folder (no watcher): the index is stale.
    await fs.promises.rm(path.join(share, 'gone.mp3'));
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET,gone.mp3,127.0.0.1,1'));
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks)));
      s.on('error', reject);
      s.setTimeout(3000, () => s.destroy(new Error('no reply in 3 s')));
    });
    expect(reply.toString('latin1')).toMatch(/^ERROR: /);
  });
});
