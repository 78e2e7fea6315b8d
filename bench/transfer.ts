/**
 * Transfer benchmark: `npx tsx bench/transfer.ts [--big | --mib N] [--rounds N]`.
 *
 * - v2 GET (TLS 1.3) of a 256 MiB random file (1 GiB with --big) over loopback,
 *   verified, alternated with a TLS pipe of the same file (same suite, SHA-256
 *   and fsync on the receiver: the goal's reference) and a raw Node TCP pipe
 *   to disk; ratios of medians.
 * - Our v1 GET path, and a seed-style client that reads with recv(128).
 * - Swarming: four sources each capped at R; aggregate against 4R.
 * - Peak RSS of the downloading process (a child process, as are all downloaders here).
 * Prints figures and ratios; asserts nothing about time.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadOrCreateIdentity } from '../electron/peer/identity/identity.js';
import { randomFile, startPeer, tempDir, type TestPeer } from '../test/helpers/harness.js';
import { runPipeChild, startPipeSender } from './lib/tls-pipe.js';
import { exitAfter } from './lib/deadline.js';

const MiB = 1 << 20;
const big = process.argv.includes('--big');
const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 3;
const mibArg = process.argv.indexOf('--mib');
// --mib N: a smaller file, for a quick check that the benchmark still runs (its figures then mean little).
const SIZE = (mibArg > 0 ? Number(process.argv[mibArg + 1]) : big ? 1024 : 256) * MiB;
const R = 16 * MiB;
const DEADLINE_MS = big ? 20 * 60_000 : 8 * 60_000;

const CHILD = path.join(import.meta.dirname, 'lib', 'bench-child.ts');
const TSX = path.join(import.meta.dirname, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs');

interface ChildResult {
  ms: number;
  rssPeakMB: number;
  ok: boolean;
}

/**
 * The downloader child runs as one bundled JS file, as the packaged app runs,
 * so its RSS is the transfer's and not tsx's on-the-fly TypeScript compiler
 * (about 55 MB more). Falls back to tsx if bundling fails.
 */
let childCommand: string[] | undefined;
async function childArgs(): Promise<string[]> {
  if (childCommand) return childCommand;
  const out = path.join(import.meta.dirname, '..', 'node_modules', '.cache', 'mactella-bench', 'bench-child.mjs');
  try {
    const esbuild = await import('esbuild');
    await esbuild.build({
      entryPoints: [CHILD],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: out,
      logLevel: 'error',
      // Packages load from node_modules as they are: some read their own package.json at a path relative to their file.
      packages: 'external',
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    });
    childCommand = [out];
  } catch (e) {
    console.error(`bundling the benchmark child failed (${(e as Error).message}); running it through tsx`);
    childCommand = [TSX, CHILD];
  }
  return childCommand;
}

async function runChild(job: object): Promise<ChildResult> {
  const args = await childArgs();
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [...args, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('exit', (code) => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildResult);
      } catch {
        reject(new Error(`child exited ${code}: ${out}`));
      }
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (ms: number, bytes = SIZE) => bytes / 1e6 / (ms / 1000);

async function main(): Promise<void> {
  const root = tempDir('mactella-bench-');
  const peers: TestPeer[] = [];
  const deadline = exitAfter(DEADLINE_MS, 'transfer bench', () => fs.promises.rm(root, { recursive: true, force: true }));
  try {
    const share = path.join(root, 'share');
    const file = path.join(share, 'bench.mp4');
    console.log(`writing a ${SIZE / MiB} MiB random file...`);
    const sha256 = await randomFile(file, SIZE);
    const up = await startPeer({ dir: path.join(root, 'up'), options: { sharedDir: share, uploadSlots: 8 } });
    peers.push(up);
    const src = { host: '127.0.0.1', port: up.port };

    // The raw pipe's sender: createReadStream(file).pipe(socket).
    const rawServer = net.createServer((s) => fs.createReadStream(file).pipe(s));
    await new Promise<void>((r) => rawServer.listen(0, '127.0.0.1', r));
    const rawSrc = { host: '127.0.0.1', port: (rawServer.address() as net.AddressInfo).port };
    // The TLS pipe's sender: the same pipe over Node tls with the peers' suites and certificates (bench/lib/tls-pipe.ts).
    const tlsSender = await loadOrCreateIdentity(path.join(root, 'tls-sender'));
    const tlsReceiverDir = path.join(root, 'tls-receiver');
    await loadOrCreateIdentity(tlsReceiverDir);
    const tlsPipe = await startPipeSender(file, tlsSender);
    const tlsJob = async () => {
      const out = path.join(root, 'tls-pipe.bin');
      const r = await runPipeChild({
        mode: 'tls',
        host: '127.0.0.1',
        port: tlsPipe.port,
        identityDir: tlsReceiverDir,
        expectedId: tlsSender.id,
        out,
        size: SIZE,
        sha256,
      });
      await fs.promises.rm(out, { force: true });
      spawnSync('sync');
      return r;
    };

    let n = 0;
    const job = async (mode: string, sources: object[]) => {
      const dir = path.join(root, `job${n++}`);
      await fs.promises.mkdir(dir, { recursive: true });
      const r = await runChild({ mode, sources, name: 'bench.mp4', sha256, size: SIZE, dir });
      await fs.promises.rm(dir, { recursive: true, force: true });
      // Untimed: flush dirty pages left by this run, so the next run does not pay for its writeback.
      // (The raw pipe never fsyncs; without this the run after it absorbs its 1 GiB of writeback.)
      spawnSync('sync');
      if (!r.ok) throw new Error(`${mode}: result not verified`);
      return r;
    };

    // Piece hashes were computed when the uploader indexed the file (as for any shared file), so no run waits for them.
    console.log('warm-up (one untimed v2 run)...');
    await job('v2', [src]);
    const v2: number[] = [];
    const raw: number[] = [];
    const tlsRef: number[] = [];
    let rss = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const a = await job('v2', [src]);
      v2.push(a.ms);
      rss = Math.max(rss, a.rssPeakMB);
      tlsRef.push((await tlsJob()).ms);
      raw.push((await job('raw', [rawSrc])).ms);
      console.log(
        `  round ${i + 1}: v2 (TLS) ${mbps(a.ms).toFixed(0)} MB/s, TLS pipe ${mbps(tlsRef[i]!).toFixed(0)} MB/s, raw pipe ${mbps(raw[i]!).toFixed(0)} MB/s`,
      );
    }
    tlsPipe.close();
    // Reference, not a goal: the raw pipe plus one fsync, the durability a v2 download pays for.
    const rawSync = median([(await job('rawsync', [rawSrc])).ms, (await job('rawsync', [rawSrc])).ms, (await job('rawsync', [rawSrc])).ms]);
    rawServer.close();

    console.log('v1 GET path and a seed-style recv(128) client...');
    const v1 = await job('v1', [src]);
    const seed = await job('seed128', [src]);

    console.log(`swarming: four sources capped at ${R / MiB} MiB/s each...`);
    const sources = [];
    for (let i = 0; i < 4; i++) {
      const p = await startPeer({ dir: path.join(root, `src${i}`), options: { sharedDir: share, maxUploadRate: R } });
      peers.push(p);
      sources.push({ host: '127.0.0.1', port: p.port });
    }
    const swarmSize = SIZE;
    const sw = await job('v2', sources);
    const swarmRate = swarmSize / (sw.ms / 1000);

    const rows: [string, string, string][] = [
      ['v2 GET over TLS 1.3 (verified), median', `${mbps(median(v2)).toFixed(0)} MB/s`, ''],
      ['TLS pipe + SHA-256 + fsync, median', `${mbps(median(tlsRef)).toFixed(0)} MB/s`, 'same suite, separate process'],
      ['v2 / TLS pipe', `${(median(tlsRef) / median(v2)).toFixed(2)}`, 'goal >= 0.9'],
      ['raw TCP pipe to disk, median', `${mbps(median(raw)).toFixed(0)} MB/s`, ''],
      ['v2 / raw pipe', `${(median(raw) / median(v2)).toFixed(2)}`, 'reference (v2 is encrypted)'],
      ['reference: raw pipe + fsync, median', `${mbps(rawSync).toFixed(0)} MB/s`, ''],
      ['v2 / (raw pipe + fsync)', `${(rawSync / median(v2)).toFixed(2)}`, 'same durability'],
      ['our v1 GET path (verified)', `${mbps(v1.ms).toFixed(0)} MB/s`, ''],
      ['seed-style recv(128) client', `${mbps(seed.ms).toFixed(1)} MB/s`, ''],
      ['our v1 path / seed client', `${(seed.ms / v1.ms).toFixed(1)}x`, 'must be well ahead'],
      ['swarm, 4 sources at R each', `${(swarmRate / 1e6).toFixed(1)} MB/s`, `R = ${((R * 1) / 1e6).toFixed(1)} MB/s`],
      ['swarm / 4R', `${(swarmRate / (4 * R)).toFixed(2)}`, 'goal >= 0.85'],
      [
        `peak RSS of the v2 downloader (${SIZE / MiB} MiB)`,
        `${rss.toFixed(0)} MB`,
        big ? 'goal <= 150 MB' : 'goal <= 150 MB (run --big for 1 GiB)',
      ],
    ];
    console.log(`\nTransfer benchmark, ${SIZE / MiB} MiB file, ${ROUNDS} rounds, loopback`);
    for (const [k, v, g] of rows) console.log(`${k.padEnd(44)} ${v.padStart(12)}  ${g}`);
  } finally {
    await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
    await fs.promises.rm(root, { recursive: true, force: true });
    deadline.cancel();
  }
}

await main();
process.exit(0);
