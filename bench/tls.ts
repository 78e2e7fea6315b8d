/**
 * TLS reference benchmark: `npx tsx bench/tls.ts [--rounds N] [--size MiB] [--handshakes N]`.
 *
 * - A bare TLS 1.3 handshake between two peer identities (secureDial against
 *   secureAccept behind a sniffing listener, both in this process, loopback),
 *   timed until both ends have checked the other's ID (the server then sends one byte),
 *   median of N, next to a plain TCP connect and a whole v2 neighbour link to
 *   a real peer (TLS plus both hellos; goal: at most twice the bare handshake).
 * - A TLS pipe: a 256 MiB random file over Node `tls` with the peers' suite
 *   list, received in a separate process that hashes (SHA-256) and writes
 *   every byte and fsyncs; alternated with the same over raw TCP. This is the
 *   reference an encrypted v2 GET is measured against (goal >= 0.9x).
 * Prints figures; asserts nothing about time. Bounded by a deadline.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateIdentity } from '../electron/peer/identity/identity.js';
import { secureAccept, secureDial } from '../electron/peer/identity/tls-link.js';
import { PROTOCOL_VERSION } from '../electron/peer/v2/messages.js';
import { dialSecureV2 } from '../electron/peer/v2/secure-v2.js';
import { startPeer } from '../test/helpers/harness.js';
import { listenSniffing } from '../test/helpers/tls-sniff.js';
import { exitAfter } from './lib/deadline.js';
import { runPipeChild, startPipeSender, type PipeResult } from './lib/tls-pipe.js';

const MiB = 1 << 20;
function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const ROUNDS = arg('--rounds', 3);
const SIZE = arg('--size', 256) * MiB;
const HANDSHAKES = arg('--handshakes', 50);
const DEADLINE_MS = 8 * 60_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mbps = (ms: number) => SIZE / 1e6 / (ms / 1000);

async function writeRandomFile(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  const fh = await fs.promises.open(file, 'w');
  try {
    for (let at = 0; at < SIZE; at += MiB) {
      const b = crypto.randomBytes(Math.min(MiB, SIZE - at));
      h.update(b);
      await fh.write(b);
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

async function handshakes(root: string): Promise<{ tlsMs: number; tcpMs: number }> {
  const server = await loadOrCreateIdentity(path.join(root, 'server-id'));
  const client = await loadOrCreateIdentity(path.join(root, 'client-id'));
  const { port, close } = await listenSniffing((raw, first, isTls) => {
    if (!isTls) return void raw.destroy();
    // One byte once the server has authenticated the client too: the handshake is done when both ends are.
    secureAccept(raw, server, first).then(
      (l) => l.socket.end(Buffer.from([1])),
      () => {},
    );
  });
  const tls: number[] = [];
  const tcp: number[] = [];
  try {
    for (let i = 0; i < HANDSHAKES + 5; i++) {
      let t = performance.now();
      const link = await secureDial('127.0.0.1', port, client, { expectedId: server.id, timeoutMs: 5000 });
      await new Promise((r) => link.socket.once('data', r));
      if (i >= 5) tls.push(performance.now() - t); // the first few warm up the JIT
      link.socket.destroy();
      t = performance.now();
      const s = net.connect(port, '127.0.0.1');
      await new Promise((r) => s.once('connect', r));
      if (i >= 5) tcp.push(performance.now() - t);
      s.destroy();
    }
  } finally {
    await close();
  }
  return { tlsMs: median(tls), tcpMs: median(tcp) };
}

/** A neighbour link to a real peer: TLS with both certificates, then both hellos (what a dial costs), median of N. */
async function neighbourLinks(root: string): Promise<number> {
  const peer = await startPeer({ dir: path.join(root, 'peer') });
  const me = await loadOrCreateIdentity(path.join(root, 'dialer-id'));
  const hello = { t: 'hello' as const, v: PROTOCOL_VERSION, peerId: me.id, port: 1, role: 'neighbour' as const };
  const times: number[] = [];
  try {
    for (let i = 0; i < HANDSHAKES + 5; i++) {
      const t = performance.now();
      const link = await dialSecureV2(peer.addr, me, hello, { expectedId: peer.peer.id, timeoutMs: 5000 });
      if (link === 'v1') throw new Error('the peer did not answer v2');
      if (i >= 5) times.push(performance.now() - t);
      link.socket.destroy();
    }
  } finally {
    await peer.peer.quit({ force: true });
  }
  return median(times);
}

async function main(): Promise<void> {
  const root = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mactella-bench-tls-'));
  const deadline = exitAfter(DEADLINE_MS, 'TLS bench', () => fs.rmSync(root, { recursive: true, force: true }));
  let sender: { close: () => void } | undefined;
  try {
    console.log(`TLS handshakes and neighbour links (${HANDSHAKES} each, after 5 warm-up)...`);
    const hs = await handshakes(root);
    const linkMs = await neighbourLinks(root);

    console.log(`writing a ${SIZE / MiB} MiB random file...`);
    const file = path.join(root, 'bench.bin');
    const sha256 = await writeRandomFile(file);
    const senderId = await loadOrCreateIdentity(path.join(root, 'sender-id'));
    const receiverDir = path.join(root, 'receiver-id');
    await loadOrCreateIdentity(receiverDir);
    const s = await startPipeSender(file, senderId);
    sender = s;
    const run = async (mode: 'tls' | 'raw'): Promise<PipeResult> => {
      const out = path.join(root, `out-${mode}.bin`);
      const job = { mode, host: '127.0.0.1', port: s.port, identityDir: receiverDir, expectedId: senderId.id, out, size: SIZE, sha256 };
      const r = await runPipeChild(job);
      await fs.promises.rm(out, { force: true });
      spawnSync('sync'); // untimed: the next run does not pay for this one's writeback
      return r;
    };
    console.log('warm-up (one untimed TLS run)...');
    await run('tls');
    const tls: PipeResult[] = [];
    const raw: PipeResult[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      tls.push(await run('tls'));
      raw.push(await run('raw'));
      console.log(`  round ${i + 1}: TLS pipe ${mbps(tls[i]!.ms).toFixed(0)} MB/s, raw pipe ${mbps(raw[i]!.ms).toFixed(0)} MB/s`);
    }
    const tlsMs = median(tls.map((r) => r.ms));
    const rawMs = median(raw.map((r) => r.ms));
    const rows: [string, string][] = [
      ['TLS 1.3 handshake, both IDs checked, median', `${hs.tlsMs.toFixed(2)} ms`],
      ['plain TCP connect, median', `${hs.tcpMs.toFixed(2)} ms`],
      ['v2 neighbour link (TLS + both hellos), median', `${linkMs.toFixed(2)} ms`],
      ['neighbour link / bare handshake', `${(linkMs / hs.tlsMs).toFixed(2)}  (goal <= 2)`],
      [`negotiated`, `${tls[0]!.protocol} ${tls[0]!.cipher}`],
      ['TLS pipe + SHA-256 + fsync, median', `${mbps(tlsMs).toFixed(0)} MB/s`],
      ['raw TCP pipe + SHA-256 + fsync, median', `${mbps(rawMs).toFixed(0)} MB/s`],
      ['TLS / raw', `${(rawMs / tlsMs).toFixed(2)}`],
      ['receiver CPU per GiB, TLS', `${((median(tls.map((r) => r.cpuMs)) / SIZE) * 1024 * MiB).toFixed(0)} ms`],
      ['receiver CPU per GiB, raw', `${((median(raw.map((r) => r.cpuMs)) / SIZE) * 1024 * MiB).toFixed(0)} ms`],
    ];
    console.log(`\nTLS reference, ${SIZE / MiB} MiB file, ${ROUNDS} rounds, loopback, receiver in its own process`);
    for (const [k, v] of rows) console.log(`${k.padEnd(48)} ${v}`);
  } finally {
    sender?.close();
    deadline.cancel();
    await fs.promises.rm(root, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
