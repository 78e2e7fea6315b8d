/**
 * The TLS pipe reference for the benchmarks: a file sent with
 * createReadStream().pipe() over Node `tls` (TLS 1.3, the peers' own suite
 * list and certificates, via secureDial/secureAccept), and over raw TCP for
 * comparison. The receiver hashes every byte with SHA-256 as it arrives,
 * writes it to disk and fsyncs before it stops the clock: the same work a
 * verified v2 download does. The receiver runs in its own process
 * (tls-pipe-child.ts) so its CPU is its own.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PeerIdentity } from '../../electron/peer/identity/identity.js';
import { secureAccept, secureDial } from '../../electron/peer/identity/tls-link.js';
import { listenSniffing } from '../../test/helpers/tls-sniff.js';

export interface PipeJob {
  mode: 'tls' | 'raw';
  host: string;
  port: number;
  /** Data folder holding the receiver's identity (tls mode). */
  identityDir?: string;
  /** Peer ID the sender must prove (tls mode). */
  expectedId?: string;
  out: string;
  size: number;
  sha256: string;
}

export interface PipeResult {
  ms: number;
  /** CPU time (user + system) of the receiving process during the transfer. */
  cpuMs: number;
  ok: boolean;
  protocol?: string;
  cipher?: string;
}

/**
 * One port that sends `file` to every connection: over TLS when the
 * connection opens with a ClientHello (the receiver writes first), raw
 * otherwise (the receiver sends one byte to start).
 */
export async function startPipeSender(file: string, identity: PeerIdentity): Promise<{ port: number; close: () => void }> {
  const { port, close } = await listenSniffing((raw, first, isTls) => {
    if (!isTls) {
      raw.resume(); // the receiver's one start byte, and nothing after it, is dropped
      return void fs.createReadStream(file).pipe(raw);
    }
    secureAccept(raw, identity, first).then(
      (link) => fs.createReadStream(file).pipe(link.socket),
      () => raw.destroy(),
    );
  });
  return { port, close: () => void close() };
}

/** The receiving side (run in the child): connect, hash and write every byte, fsync. */
export async function receivePipe(job: PipeJob, identity?: PeerIdentity): Promise<PipeResult> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let socket: net.Socket;
  let protocol: string | undefined;
  let cipher: string | undefined;
  if (job.mode === 'tls') {
    const link = await secureDial(job.host, job.port, identity!, { expectedId: job.expectedId, timeoutMs: 10_000 });
    socket = link.socket;
    protocol = link.socket.getProtocol() ?? undefined;
    cipher = link.socket.getCipher().standardName;
  } else {
    socket = net.connect(job.port, job.host);
    socket.write(Buffer.from([0])); // anything but a ClientHello
  }
  const hash = crypto.createHash('sha256');
  const fh = await fs.promises.open(job.out, 'w');
  const ws = fs.createWriteStream('', { fd: fh.fd, autoClose: false, highWaterMark: 1 << 20 });
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (c: Buffer) => {
      hash.update(c);
      got += c.length;
      if (!ws.write(c)) {
        socket.pause();
        ws.once('drain', () => socket.resume());
      }
      if (got >= job.size) socket.destroy();
    });
    socket.on('close', () => (got >= job.size ? resolve() : reject(new Error(`received ${got} of ${job.size} bytes`))));
    socket.on('error', reject);
  });
  await new Promise<void>((r, j) => ws.end((e?: Error | null) => (e ? j(e) : r())));
  await fh.sync();
  await fh.close();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ok: hash.digest('hex') === job.sha256, protocol, cipher };
}

const CHILD = path.join(import.meta.dirname, 'tls-pipe-child.ts');
const TSX = path.join(import.meta.dirname, '..', '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

/** Run one receive in a child process; rejects if it fails or the file does not verify. */
export function runPipeChild(job: PipeJob): Promise<PipeResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [TSX, CHILD, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop()!) as PipeResult;
        if (!r.ok) throw new Error('received file does not match its SHA-256');
        resolve(r);
      } catch (e) {
        reject(new Error(`${job.mode} pipe child exited ${code}: ${(e as Error).message} ${out}`));
      }
    });
  });
}
