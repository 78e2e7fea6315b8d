import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContentVerifier } from '../electron/peer/transfers/content-verifier.js';
import { Bitfield } from '../electron/peer/transfers/pieces.js';
import { sendFileRange } from '../electron/peer/transfers/file-sender.js';
import { SerialWriter } from '../electron/peer/transfers/serial-writer.js';
import { tempDir } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

cleanupAfterEach();
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function tempFile(): Promise<string> {
  const d = tempDir();
  return path.join(d, 'f.part');
}

describe('SerialWriter', () => {
  it('writes one call at a time, in order, coalescing what queued up meanwhile', async () => {
    const file = await tempFile();
    const fh = await fs.promises.open(file, 'w+');
    const calls: { at: number; n: number; concurrent: number }[] = [];
    let inFlight = 0;
    const real = fh.writev.bind(fh);
    fh.writev = (async (bufs: Buffer[], at: number) => {
      inFlight++;
      calls.push({ at, n: bufs.length, concurrent: inFlight });
      try {
        return await real(bufs, at);
      } finally {
        inFlight--;
      }
    }) as typeof fh.writev;
    const w = new SerialWriter(fh);
    w.write(Buffer.from('aaaa'), 0);
    w.write(Buffer.from('bbbb'), 4); // queued behind the first, contiguous: one call with the next
    w.write(Buffer.from('cccc'), 8);
    w.write(Buffer.from('XX'), 2); // a later write to the same range lands after the earlier one
    expect(w.pending).toBe(14);
    await w.barrier();
    expect(w.pending).toBe(0);
    await fh.close();
    expect(fs.readFileSync(file, 'latin1')).toBe('aaXXbbbbcccc');
    expect(calls.map((c) => [c.at, c.n])).toEqual([
      [0, 1],
      [4, 2],
      [2, 1],
    ]);
    expect(Math.max(...calls.map((c) => c.concurrent))).toBe(1);
  });

  it('finishes a short write, and after a failure drops later writes and rejects every barrier', async () => {
    const file = await tempFile();
    const fh = await fs.promises.open(file, 'w+');
    const real = fh.writev.bind(fh);
    let calls = 0;
    fh.writev = (async (bufs: Buffer[], at: number) => {
      calls++;
      if (calls === 1) return real([bufs[0]!.subarray(0, 3)], at); // short: 3 of 6 bytes
      if (calls === 3) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return real(bufs, at);
    }) as typeof fh.writev;
    const w = new SerialWriter(fh);
    w.write(Buffer.from('abcdef'), 0);
    await w.barrier();
    expect(fs.readFileSync(file, 'latin1')).toBe('abcdef');
    w.write(Buffer.from('gh'), 6);
    const failed = w.barrier();
    w.write(Buffer.from('ij'), 8); // queued behind the failing write: dropped
    await expect(failed).rejects.toThrow(/ENOSPC/);
    await expect(w.barrier()).rejects.toThrow(/ENOSPC/);
    w.write(Buffer.from('kl'), 10);
    await w.drained();
    expect(w.error?.message).toMatch(/ENOSPC/);
    await fh.close();
    expect(fs.readFileSync(file, 'latin1')).toBe('abcdef');
  });
});

describe('ContentVerifier', () => {
  const pieceSize = 1024;
  async function setup(pieces: Buffer[]) {
    const file = await tempFile();
    await fs.promises.writeFile(file, Buffer.concat(pieces));
    const size = pieces.reduce((n, p) => n + p.length, 0);
    const have = new Bitfield(pieces.length);
    return { file, size, have, v: new ContentVerifier(file, size, pieceSize, pieces.map(sha), have) };
  }

  it('folds in-order pieces as they stream, reads back the ones that came ahead, and gives the whole-file SHA-256', async () => {
    const pieces = [0, 1, 2, 3].map(() => crypto.randomBytes(pieceSize));
    pieces.push(crypto.randomBytes(100));
    const { v, have } = await setup(pieces);
    // Piece 2 arrives first (checked on its own by the swarm): it cannot be folded yet.
    expect(v.fold(2)).toBeUndefined();
    have.set(2);
    // Piece 0 streams in two chunks; a cut-short attempt first leaves no trace.
    const cut = v.fold(0)!;
    cut.update(pieces[0]!.subarray(0, 10));
    cut.abort();
    const f0 = v.fold(0)!;
    expect(v.fold(0)).toBeUndefined(); // one fold at a time
    f0.update(pieces[0]!.subarray(0, 500));
    f0.update(pieces[0]!.subarray(500));
    f0.commit();
    have.set(0);
    const f1 = v.fold(1)!;
    f1.update(pieces[1]!);
    f1.commit();
    have.set(1);
    v.catchUp(); // piece 2 is read back from the file
    have.set(3);
    have.set(4);
    expect(await v.digest()).toBe(sha(Buffer.concat(pieces)));
    expect(await v.badPieces()).toEqual([]);
    await v.close();
  });

  it('names the pieces on disk that do not match their hash', async () => {
    const pieces = [0, 1, 2].map(() => crypto.randomBytes(pieceSize));
    const { v, file, size } = await setup(pieces);
    const fh = await fs.promises.open(file, 'r+');
    await fh.write(Buffer.from([pieces[1]![7]! ^ 1]), 0, 1, pieceSize + 7);
    await fh.close();
    expect(await v.digest()).not.toBe(sha(Buffer.concat(pieces)));
    expect(await v.badPieces()).toEqual([1]);
    await v.close();
    expect(size).toBe(3 * pieceSize);
  });
});

describe('sendFileRange', () => {
  /** A loopback pair: what the receiving end got, once the sender's end closes. */
  async function pair(): Promise<{ sender: net.Socket; received: Promise<Buffer>; server: net.Server }> {
    const server = net.createServer();
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sender = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await new Promise((r) => sender.once('connect', r));
    const rx = await accepted;
    const received = new Promise<Buffer>((resolve) => {
      const parts: Buffer[] = [];
      rx.on('data', (c: Buffer) => parts.push(c));
      rx.on('close', () => resolve(Buffer.concat(parts)));
      rx.on('error', () => {});
    });
    return { sender, received, server };
  }

  it('sends exactly the range, through buffers it reuses, and reports each chunk', async () => {
    const file = await tempFile();
    const data = crypto.randomBytes(3 * 256 * 1024 + 777);
    await fs.promises.writeFile(file, data);
    const { sender, received, server } = await pair();
    const chunks: number[] = [];
    const ok = await sendFileRange(sender, file, 1000, data.length - 2000, { onChunk: (n) => (chunks.push(n), 0) });
    sender.end();
    expect(ok).toBe(true);
    expect(Buffer.compare(await received, data.subarray(1000, data.length - 1000))).toBe(0);
    expect(chunks.reduce((a, b) => a + b, 0)).toBe(data.length - 2000);
    expect(Math.max(...chunks)).toBe(256 * 1024);
    server.close();
  });

  it('gives up and closes the connection when the file is shorter than the range', async () => {
    const file = await tempFile();
    await fs.promises.writeFile(file, crypto.randomBytes(5000));
    const { sender, received, server } = await pair();
    expect(await sendFileRange(sender, file, 0, 10_000)).toBe(false);
    expect(sender.destroyed).toBe(true);
    expect((await received).length).toBeLessThanOrEqual(5000);
    server.close();
  });
});
