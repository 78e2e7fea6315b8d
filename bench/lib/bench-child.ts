/**
 * The downloading side of bench/transfer.ts, in its own process so its time
 * and peak RSS are its own. Prints one JSON line: { ms, rssPeakMB, ok }.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PeerAddress } from '../../shared/types.js';
import { sha256File, startPeer, waitFor } from '../../test/helpers/harness.js';

interface Job {
  mode: 'v2' | 'v1' | 'raw' | 'rawsync' | 'seed128';
  sources: PeerAddress[];
  name: string;
  sha256: string;
  size: number;
  dir: string;
}

const job = JSON.parse(process.argv[2]!) as Job;
let peak = process.memoryUsage.rss();
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);

async function raw(): Promise<void> {
  const out = path.join(job.dir, 'raw.bin');
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(job.sources[0]!.port, job.sources[0]!.host);
    const ws = fs.createWriteStream(out);
    socket.pipe(ws);
    ws.on('finish', resolve);
    socket.on('error', reject);
  });
  // Reference only: the same pipe made durable, as a verified v2 download is (fsync before it counts).
  if (job.mode === 'rawsync') {
    const fh = await fs.promises.open(out, 'r+');
    await fh.sync();
    await fh.close();
  }
}

/** The seed's client: read the size, then recv(128) in a loop, writing each piece as it comes. */
async function seed128(): Promise<void> {
  const out = fs.openSync(path.join(job.dir, 'seed.bin'), 'w');
  const src = job.sources[0]!;
  await new Promise<void>((resolve, reject) => {
    const socket = net.connect(src.port, src.host, () => socket.write(`GET,${job.name},${src.host},${src.port}`));
    let size = -1;
    let got = 0;
    socket.on('readable', () => {
      if (size < 0) {
        const head = socket.read(64) as Buffer | null;
        if (!head) return;
        // The size may arrive glued to data that starts with digits: match the size we expect before guessing.
        const text = head.toString('latin1');
        size = text.startsWith(String(job.size)) ? job.size : Number(/^\d+/.exec(text)![0]);
        const rest = head.subarray(String(size).length);
        if (rest.length) fs.writeSync(out, rest);
        got += rest.length;
      }
      for (let c = socket.read(128) as Buffer | null; c; c = socket.read(128) as Buffer | null) {
        fs.writeSync(out, c);
        got += c.length;
      }
      if (got >= size && size >= 0) {
        socket.destroy();
        resolve();
      }
    });
    socket.on('end', () => {
      const c = socket.read() as Buffer | null;
      if (c) {
        fs.writeSync(out, c);
        got += c.length;
      }
      if (got >= size) resolve();
      else reject(new Error(`seed client got ${got} of ${size}`));
    });
    socket.on('error', reject);
  });
  fs.closeSync(out);
}

async function peerGet(): Promise<boolean> {
  const p = await startPeer({ dir: job.dir, options: { uploadSlots: 4 } });
  try {
    if (job.mode === 'v1')
      for (const s of job.sources)
        (p.peer as unknown as { hostCache: { setProtocol: (a: PeerAddress, v: 'v1') => void } }).hostCache.setProtocol(s, 'v1');
    // Time the transfer itself (connect to verified file under its final name), not the peer's start-up.
    t0 = performance.now();
    const t = p.peer.download({ name: job.name, sha256: job.sha256, size: job.size, sources: job.sources });
    const done = await waitFor(
      'the download',
      () => {
        const x = p.peer.transfersList().find((y) => y.id === t.id);
        return x && (x.state === 'done' || x.state === 'failed') ? x : undefined;
      },
      600_000,
      5,
    );
    if (done.state !== 'done') throw new Error(done.error);
    ms = performance.now() - t0;
    return done.verified === true;
  } finally {
    await p.peer.quit({ force: true });
  }
}

let t0 = performance.now();
let ms = 0;
let ok = true;
if (job.mode === 'raw' || job.mode === 'rawsync') await raw();
else if (job.mode === 'seed128') await seed128();
else ok = await peerGet();
if (!ms) ms = performance.now() - t0;
clearInterval(sampler);
if (job.mode !== 'v2' && job.mode !== 'v1')
  ok = (await sha256File(path.join(job.dir, job.mode === 'raw' || job.mode === 'rawsync' ? 'raw.bin' : 'seed.bin'))) === job.sha256;
const maxRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(JSON.stringify({ ms, rssPeakMB: Math.max(peak, maxRss) / 2 ** 20, ok }) + '\n');
process.exit(0);
