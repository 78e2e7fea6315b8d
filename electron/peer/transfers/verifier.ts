import { Worker } from 'node:worker_threads';
import type { Bitfield } from './pieces.js';

/**
 * The worker's code, plain JavaScript so it needs no bundling. Per job it
 * reads written pieces back from the `.part` (they are in the page cache),
 * checks each against its SHA-256, and keeps the whole-file SHA-256 in piece
 * order over verified pieces only, reading back pieces that were done ahead
 * of the front once the front reaches them.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const jobs = new Map();
const readPiece = (j, i) => {
  const len = Math.min(j.pieceSize, j.size - i * j.pieceSize);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(j.fd, j.buf, got, len - got, i * j.pieceSize + got);
    if (n === 0) throw new Error('the .part file is shorter than expected');
    got += n;
  }
  return j.buf.subarray(0, len);
};
const catchUp = (j) => {
  while (j.next < j.count && j.done[j.next]) j.whole.update(readPiece(j, j.next++));
};
parentPort.on('message', (m) => {
  const j = jobs.get(m.job);
  try {
    if (m.t === 'open') {
      const count = m.hashes.length;
      const done = new Uint8Array(count);
      for (let i = 0; i < count; i++) done[i] = (m.bits[i >> 3] >> (i & 7)) & 1;
      jobs.set(m.job, { fd: fs.openSync(m.path, 'r'), size: m.size, pieceSize: m.pieceSize, hashes: m.hashes, count, done,
        next: 0, whole: crypto.createHash('sha256'), buf: Buffer.allocUnsafe(Math.min(m.pieceSize, Math.max(1, m.size))) });
    } else if (!j) {
      if (m.t === 'verify' || m.t === 'digest') parentPort.postMessage({ job: m.job, id: m.id, error: 'no such job' });
    } else if (m.t === 'verify') {
      const data = readPiece(j, m.i);
      const ok = crypto.createHash('sha256').update(data).digest('hex') === j.hashes[m.i];
      if (ok && !j.done[m.i]) {
        j.done[m.i] = 1;
        if (m.i === j.next) { j.whole.update(data); j.next++; }
      }
      catchUp(j);
      parentPort.postMessage({ job: m.job, id: m.id, ok });
    } else if (m.t === 'have') {
      j.done[m.i] = 1;
      catchUp(j);
    } else if (m.t === 'digest') {
      for (let at = j.next * j.pieceSize; at < j.size; ) {
        const n = fs.readSync(j.fd, j.buf, 0, Math.min(j.buf.length, j.size - at), at);
        if (n === 0) throw new Error('the .part file is shorter than expected');
        j.whole.update(j.buf.subarray(0, n));
        at += n;
      }
      j.next = j.count;
      parentPort.postMessage({ job: m.job, id: m.id, hex: j.whole.digest('hex') });
    } else if (m.t === 'close') {
      jobs.delete(m.job);
      fs.closeSync(j.fd);
    }
  } catch (e) {
    if (m.t === 'verify' || m.t === 'digest') parentPort.postMessage({ job: m.job, id: m.id, error: String(e && e.message || e) });
  }
});
`;

interface Reply {
  job: number;
  id: number;
  ok?: boolean;
  hex?: string;
  error?: string;
}

/** Piece checks and the whole-file hash of one download, run on the verifier's thread. */
export interface VerifyJob {
  /** Piece `i` is written: read it back and check it. Rejects if the file cannot be read. */
  verify(i: number): Promise<boolean>;
  /** Piece `i` was verified elsewhere (an endgame copy checked in memory) and is written. */
  have(i: number): void;
  /** The whole-file SHA-256 (reading back whatever it has not seen). The job is closed after. */
  digest(): Promise<string>;
  close(): void;
}

/**
 * A worker thread that hashes for downloads, so the thread that drains the
 * sockets never stalls on SHA-256. One is shared by the whole process
 * (`Verifier.shared`); it starts on first use and does not keep the process
 * alive while no job is open.
 */
export class Verifier {
  private static instance?: Verifier;
  static get shared(): Verifier {
    return (Verifier.instance ??= new Verifier());
  }

  private worker?: Worker;
  private nextJob = 1;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private openJobs = 0;

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_SOURCE, { eval: true });
    w.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      this.pending.delete(r.id);
      p?.resolve(r);
    });
    const broken = (e: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.openJobs = 0;
      for (const p of this.pending.values()) p.reject(new Error(`verifier stopped: ${e.message}`));
      this.pending.clear();
    };
    w.on('error', broken);
    w.on('exit', (code) => broken(new Error(`exit ${code}`)));
    w.unref();
    this.worker = w;
    return w;
  }

  private call(w: Worker, msg: object): Promise<Reply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...msg, id });
    });
  }

  open(path: string, size: number, pieceSize: number, hashes: string[], have: Bitfield): VerifyJob {
    const w = this.start();
    const job = this.nextJob++;
    w.postMessage({ t: 'open', job, path, size, pieceSize, hashes, bits: have.bits });
    if (this.openJobs++ === 0) w.ref();
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      if (this.worker !== w) return;
      w.postMessage({ t: 'close', job });
      if (--this.openJobs === 0) w.unref();
    };
    return {
      verify: async (i) => {
        const r = await this.call(w, { t: 'verify', job, i });
        if (r.error) throw new Error(r.error);
        return r.ok === true;
      },
      have: (i) => w.postMessage({ t: 'have', job, i }),
      digest: async () => {
        try {
          const r = await this.call(w, { t: 'digest', job });
          if (r.error || !r.hex) throw new Error(r.error ?? 'no digest');
          return r.hex;
        } finally {
          close();
        }
      },
      close,
    };
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
