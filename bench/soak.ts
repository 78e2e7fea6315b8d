/**
 * Soak: one peer serves 200 concurrent downloaders plus a search flood of
 * 1,000 queries/s from one neighbour, for 60 s (or --seconds N). Checks that
 * every transfer is byte-identical, prints peak memory, and measures how
 * quickly the peer still answers its own user (listLocal, search) meanwhile.
 *
 *   npx tsx bench/soak.ts [--seconds 60] [--downloaders 200] [--qps 1000]
 *
 * Downloaders are raw v1 GET clients and raw v2 transfer clients over TLS (half each),
 * on real loopback sockets, all in this process. The flooding neighbour is a
 * raw v2 neighbour; a second raw neighbour receives the forwarded queries.
 * The per-neighbour message limit is raised to 2,000/s so the flood is
 * served, not cut off (with the default 200/s it would be disconnected).
 */
import crypto from 'node:crypto';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DEFAULT_LIMITS } from '../electron/peer/v2/connection.js';
import { encodeFrame, FrameDecoder } from '../electron/peer/v2/frame.js';
import { MAGIC, PROTOCOL_VERSION } from '../electron/peer/v2/messages.js';
import { cleanupTemp, mb, newId, startPeer, waitFor } from '../test/helpers/harness.js';
import { RawNeighbour } from '../test/helpers/raw-neighbour.js';
import { testIdentity } from '../test/helpers/v2-wire.js';
import { secureDial } from '../electron/peer/identity/tls-link.js';
import { exitAfter } from './lib/deadline.js';
import { LOOPBACK_LOAD_LISTENER_LIMITS } from './lib/load-limits.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, downloaders: { type: 'string' }, qps: { type: 'string' } } });
const SECONDS = Number(values.seconds ?? 60);
const DOWNLOADERS = Number(values.downloaders ?? 200);
const QPS = Number(values.qps ?? 1000);
exitAfter((SECONDS + 90) * 1000, 'soak');

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** One v1 GET: size, then bytes. Resolves with the body (without the size). */
function v1Get(port: number, name: string, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => s.destroy(new Error('v1 GET timed out')), 120_000);
    s.on('connect', () => s.write(`GET,${name},127.0.0.1,1`));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', (e) => (clearTimeout(timer), reject(e)));
    s.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const head = String(size);
      if (!all.subarray(0, head.length).equals(Buffer.from(head)))
        return reject(new Error(`bad v1 reply: ${all.subarray(0, 40).toString()}`));
      resolve(all.subarray(head.length));
    });
  });
}

/** One v2 GET on a transfer connection (inside TLS): waits through `queued`, then reads get-ok and the raw bytes. */
async function v2Get(port: number, hash: string): Promise<Buffer> {
  const identity = await testIdentity('soak');
  const { socket: s } = await secureDial('127.0.0.1', port, identity, { timeoutMs: 120_000 });
  return new Promise((resolve, reject) => {
    const dec = new FrameDecoder();
    let magic = Buffer.alloc(0);
    let expect = -1;
    const body: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => s.destroy(new Error('v2 GET timed out')), 120_000);
    const fail = (e: Error) => (clearTimeout(timer), s.destroy(), reject(e));
    s.on('error', fail);
    s.write(Buffer.concat([MAGIC, encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, peerId: identity.id, port: 1, role: 'transfer' })]));
    s.write(encodeFrame({ t: 'get', sha256: hash, offset: 0 }));
    s.on('data', (c: Buffer) => {
      if (expect >= 0) {
        body.push(c);
        got += c.length;
        return;
      }
      if (magic.length < MAGIC.length) {
        magic = Buffer.concat([magic, c]);
        if (magic.length < MAGIC.length) return;
        c = magic.subarray(MAGIC.length);
      }
      dec.append(c);
      try {
        for (let m = dec.next(); m; m = expect < 0 ? dec.next() : undefined) {
          if (m.t === 'get-ok') {
            expect = m.length;
            const rest = dec.takeRest();
            body.push(rest);
            got += rest.length;
          } else if (m.t === 'error') return fail(new Error(`v2 error: ${m.message}`));
        }
      } catch (e) {
        fail(e as Error);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (expect < 0) return reject(new Error('v2 GET closed before get-ok'));
      resolve(Buffer.concat(body, got));
    });
  });
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

async function main(): Promise<void> {
  const big = crypto.randomBytes(1024 * 1024);
  const small = crypto.randomBytes(64 * 1024);
  const files: Record<string, Buffer> = { 'big.mov': big, 'small.mp3': small };
  for (let i = 0; i < 200; i++) files[`track-${i}.mp3`] = Buffer.from(`track ${i}`);
  const a = await startPeer({
    files,
    options: { uploadSlots: 32 },
    tuning: {
      listener: LOOPBACK_LOAD_LISTENER_LIMITS,
      connection: { ...DEFAULT_LIMITS, maxMessagesPerSecond: 2000, messageBurst: 4000 },
    },
  });
  const port = a.addr.port;
  const want = [
    { name: 'big.mov', data: big, hash: sha(big) },
    { name: 'small.mp3', data: small, hash: sha(small) },
  ];
  const flooder = await RawNeighbour.connect(a.addr, { port: 1 });
  const sink = await RawNeighbour.connect(a.addr, { port: 2 });
  await waitFor('two neighbours', () => a.peer.peers().neighbours.length === 2);
  const rss0 = process.memoryUsage().rss;
  console.log(
    `soak: ${SECONDS} s, ${DOWNLOADERS} concurrent downloaders (half v1, half v2; 1 MiB and 64 KiB files, 32 upload slots), ${QPS} queries/s from one neighbour`,
  );

  const end = Date.now() + SECONDS * 1000;
  let done = 0;
  let bad = 0;
  let errors = 0;
  let bytes = 0;
  const errorKinds = new Map<string, number>();
  const downloader = async (i: number) => {
    let n = i;
    while (Date.now() < end) {
      const f = want[n++ % want.length]!;
      try {
        const body = i % 2 === 0 ? await v1Get(port, f.name, f.data.length) : await v2Get(port, f.hash);
        if (body.equals(f.data)) done++;
        else bad++;
        bytes += body.length;
      } catch (e) {
        errors++;
        const k = (e as Error).message.slice(0, 60);
        errorKinds.set(k, (errorKinds.get(k) ?? 0) + 1);
      }
    }
  };

  let queries = 0;
  const floodStart = Date.now();
  const flood = setInterval(() => {
    // Catch up to the target rate, however late the timer fires.
    const n = Math.floor(((Date.now() - floodStart) / 1000) * QPS) - queries;
    for (let k = 0; k < n; k++, queries++)
      flooder.send({ t: 'query', id: newId(), ttl: 3, hops: 0, q: k % 10 === 0 ? `track ${queries % 200}` : `nothing-${queries}` });
  }, 50);

  // Raw neighbours send no keepalives by themselves; the sink would otherwise hit the idle timeout.
  const keepalive = setInterval(() => sink.send({ t: 'ka' }), 10_000);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const listMs: number[] = [];
  const searchMs: number[] = [];
  let peakRss = process.memoryUsage().rss;
  const user = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    let t = performance.now();
    const l = a.peer.listLocal();
    listMs.push(performance.now() - t);
    if (l.length !== 202) bad++;
    t = performance.now();
    a.peer.search('track', 1);
    searchMs.push(performance.now() - t);
  }, 200);
  const progress = setInterval(() => {
    const m = process.memoryUsage();
    console.log(
      `  t=${Math.round((SECONDS * 1000 - (end - Date.now())) / 1000)}s downloads ok ${done}, bad ${bad}, errors ${errors}; queries ${queries}; rss ${mb(m.rss)} heap ${mb(m.heapUsed)}; neighbours ${a.peer.peers().neighbours.length}`,
    );
  }, 10_000);

  const t0 = Date.now();
  await Promise.all(Array.from({ length: DOWNLOADERS }, (_, i) => downloader(i)));
  clearInterval(flood);
  clearInterval(keepalive);
  clearInterval(user);
  clearInterval(progress);
  lag.disable();
  const secs = (Date.now() - t0) / 1000;
  const s = a.peer.statsSnapshot();
  console.log(`\nresults after ${secs.toFixed(1)} s:`);
  console.log(`  downloads: ${done} byte-identical, ${bad} corrupt, ${errors} failed (${mb(bytes)} at ${mb(bytes / secs)}/s)`);
  if (errorKinds.size) console.log(`  failures: ${JSON.stringify(Object.fromEntries(errorKinds))}`);
  console.log(
    `  search flood: ${queries} queries sent (${(queries / secs).toFixed(0)}/s); peer got ${s.messagesIn.query ?? 0}, sent ${s.messagesOut.hit ?? 0} hits, relayed ${s.messagesOut.query ?? 0}; flooder still connected: ${!flooder.closed}; sink got ${sink.of('query').length}`,
  );
  console.log(`  drops: ${JSON.stringify(s.drops)}`);
  console.log(
    `  own user: listLocal p50 ${quantile(listMs, 0.5).toFixed(2)} ms, p99 ${quantile(listMs, 0.99).toFixed(2)} ms, max ${Math.max(...listMs).toFixed(2)} ms; search p50 ${quantile(searchMs, 0.5).toFixed(2)} ms, p99 ${quantile(searchMs, 0.99).toFixed(2)} ms (${listMs.length} samples)`,
  );
  console.log(
    `  event loop delay: p50 ${(lag.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`,
  );
  console.log(`  memory: peak RSS ${mb(peakRss)} (start ${mb(rss0)}), heap now ${mb(process.memoryUsage().heapUsed)}`);
  flooder.close();
  sink.close();
  await a.peer.quit({ force: true });
  cleanupTemp();
  if (bad > 0 || done === 0) process.exitCode = 1;
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (e) => {
    console.error(e);
    cleanupTemp();
    process.exit(1);
  },
);
