/**
 * Network benchmark: flooding cost at scale, v2 against seed-style flooding.
 *
 *   npx tsx bench/network.ts [--peers 200] [--queries 10] [--seed 42]
 *
 * All peers run in this one process, each a real Peer with its own listening
 * socket on 127.0.0.1 and real TCP neighbour connections. The graph is a ring
 * (cycles guaranteed, connected) plus one random chord per peer: average degree
 * about 4. Each peer's known-peer list holds exactly its outbound edges.
 *
 * The seed-style baseline (forward to all neighbours except the one a message
 * came from, no duplicate suppression) is computed by exact simulation on the
 * same graph: running it live at TTL 7 would storm the machine.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_LIMITS } from '../electron/peer/v2/connection.js';
import { cleanupTemp, mb, pool, startPeer, waitFor, type TestPeer } from '../test/helpers/harness.js';
import { LOOPBACK_LOAD_LISTENER_LIMITS } from './lib/load-limits.js';
import { exitAfter } from './lib/deadline.js';

const { values } = parseArgs({
  options: { peers: { type: 'string' }, queries: { type: 'string' }, seed: { type: 'string' }, 'max-seconds': { type: 'string' } },
});
const N = Number(values.peers ?? 200);
const Q = Number(values.queries ?? 10);
const TTLS = [3, 5, 7];
const HOLDERS = 10;
let seed = Number(values.seed ?? 42);
exitAfter(Number(values['max-seconds'] ?? 300) * 1000, 'network bench');

function rand(): number {
  // mulberry32: the same graph for the same seed.
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (n: number) => Math.floor(rand() * n);

// ---------------------------------------------------------------- graph
const out: number[][] = Array.from({ length: N }, () => []);
const adj: Set<number>[] = Array.from({ length: N }, () => new Set());
function edge(a: number, b: number): boolean {
  if (a === b || adj[a]!.has(b)) return false;
  out[a]!.push(b);
  adj[a]!.add(b);
  adj[b]!.add(a);
  return true;
}
for (let i = 0; i < N; i++) edge(i, (i + 1) % N);
for (let i = 0; i < N; i++) while (!edge(i, randInt(N)));
const degree = (i: number) => adj[i]!.size;
const avgDegree = adj.reduce((s, a) => s + a.size, 0) / N;

function bfs(from: number, depth: number): Map<number, number> {
  const dist = new Map([[from, 0]]);
  let frontier = [from];
  for (let d = 1; d <= depth; d++) {
    const next: number[] = [];
    for (const u of frontier)
      for (const v of adj[u]!) {
        if (dist.has(v)) continue;
        dist.set(v, d);
        next.push(v);
      }
    frontier = next;
  }
  return dist;
}

/** Seed-style flooding, simulated exactly: messages sent, duplicates received and peers reached. */
function seedFlood(origin: number, ttl: number): { sent: number; dups: number; reached: number } {
  let level = new Map<string, number>(); // "from>to" -> number of copies in flight on that directed edge
  for (const v of adj[origin]!) level.set(`${origin}>${v}`, 1);
  let sent = adj[origin]!.size;
  let received = 0;
  const seen = new Set<number>([origin]);
  for (let t = ttl; t >= 1; t--) {
    const next = new Map<string, number>();
    for (const [k, c] of level) {
      const [u, v] = k.split('>').map(Number) as [number, number];
      received += c;
      seen.add(v);
      if (t - 1 <= 0) continue;
      for (const w of adj[v]!) {
        if (w === u) continue;
        next.set(`${v}>${w}`, (next.get(`${v}>${w}`) ?? 0) + c);
        sent += c;
      }
    }
    level = next;
  }
  return { sent, dups: received - (seen.size - 1), reached: seen.size };
}

// ---------------------------------------------------------------- peers
async function main(): Promise<void> {
  const t0 = Date.now();
  const rss0 = process.memoryUsage().rss;
  // Keyword k lives on HOLDERS random peers.
  const keywords = TTLS.length * Q;
  const holders: Set<number>[] = [];
  const files: Record<string, string>[] = Array.from({ length: N }, (_, i) => ({ [`filler-${i}.mp3`]: `filler ${i}` }));
  for (let k = 0; k < keywords; k++) {
    const h = new Set<number>();
    while (h.size < HOLDERS) h.add(randInt(N));
    holders.push(h);
    for (const i of h) files[i]![`kw${k}-peer${i}.mp3`] = `keyword ${k} on ${i}`;
  }
  const peers: TestPeer[] = new Array(N);
  await pool([...Array(N).keys()], 16, async (i) => {
    peers[i] = await startPeer({
      files: files[i],
      options: { neighbourCap: out[i]!.length },
      tuning: {
        dialIntervalMs: 200,
        maxInboundNeighbours: 32,
        maxInboundNeighboursPerIp: 32,
        listener: LOOPBACK_LOAD_LISTENER_LIMITS,
        connection: { ...DEFAULT_LIMITS, keepaliveMs: 30_000, idleTimeoutMs: 120_000 },
      },
    });
  });
  for (let i = 0; i < N; i++) for (const j of out[i]!) peers[i]!.peer.addPeer(peers[j]!.addr);
  await waitFor('the graph to connect', () => peers.every((p, i) => p.peer.peers().neighbours.length === degree(i)), 60_000);
  const tUp = Date.now();
  console.log(
    `network: ${N} peers in one process, real TCP on 127.0.0.1, ${adj.reduce((s, a) => s + a.size, 0) / 2} links, average degree ${avgDegree.toFixed(2)}; up in ${((tUp - t0) / 1000).toFixed(1)} s`,
  );

  const snap = () => peers.map((p) => p.peer.statsSnapshot());
  const sumOut = (s: ReturnType<typeof snap>, t: string) => s.reduce((a, x) => a + (x.messagesOut[t] ?? 0), 0);
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

  interface Row {
    ttl: number;
    sent: number;
    bound: number;
    hits: number;
    dups: number;
    reach: number;
    recall: number;
    lastHitMs: number;
    seedSent: number;
    seedDups: number;
    seedReach: number;
  }
  const rows: Row[] = [];
  let k = 0;
  for (const ttl of TTLS) {
    for (let q = 0; q < Q; q++, k++) {
      const origin = randInt(N);
      const within = bfs(origin, ttl);
      const expected = new Set([...holders[k]!].filter((h) => within.has(h) && h !== origin));
      const before = snap();
      const gotFrom = new Set<number>();
      const port2idx = new Map(peers.map((p, i) => [p.addr.port, i]));
      let lastHit = 0;
      const start = Date.now();
      const off = peers[origin]!.peer.events.on('search:hit', (h) => {
        const i = port2idx.get(h.peer.port);
        if (i !== undefined && h.name.startsWith(`kw${k}-`)) gotFrom.add(i);
        lastHit = Date.now();
      });
      peers[origin]!.peer.search(`kw${k}`, ttl);
      // Wait until every expected hit is in and the flood has gone quiet (bounded).
      let quietSince = Date.now();
      let lastIn = -1;
      await waitFor(
        'the query to settle',
        () => {
          const now = snap().reduce((a, x) => a + (x.messagesIn.query ?? 0) + (x.messagesIn.hit ?? 0), 0);
          if (now !== lastIn) {
            lastIn = now;
            quietSince = Date.now();
          }
          return gotFrom.size >= expected.size && Date.now() - quietSince > 150;
        },
        10_000,
      ).catch(() => {});
      if (typeof off === 'function') (off as () => void)();
      const after = snap();
      const reachedSet = new Set<number>([origin]);
      for (let i = 0; i < N; i++) if ((after[i]!.messagesIn.query ?? 0) > (before[i]!.messagesIn.query ?? 0)) reachedSet.add(i);
      const sent = sumOut(after, 'query') - sumOut(before, 'query');
      const dups = after.reduce((a, x, i) => a + x.duplicatesDropped - before[i]!.duplicatesDropped, 0);
      const bound = [...reachedSet].reduce((a, i) => a + degree(i), 0);
      const inTtl = [...reachedSet].filter((i) => within.has(i)).length;
      const sim = seedFlood(origin, ttl);
      rows.push({
        ttl,
        sent,
        bound,
        hits: sumOut(after, 'hit') - sumOut(before, 'hit'),
        dups,
        reach: inTtl / within.size,
        recall: expected.size ? [...expected].filter((e) => gotFrom.has(e)).length / expected.size : 1,
        lastHitMs: lastHit ? lastHit - start : 0,
        seedSent: sim.sent,
        seedDups: sim.dups,
        seedReach: sim.reached / within.size,
      });
    }
  }
  clearInterval(sampler);

  const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`\nper query, averaged over ${Q} queries from random origins (${HOLDERS} holders per keyword):`);
  const head = [
    'TTL',
    'v2 sent',
    'bound Σdeg',
    'v2 dups',
    'v2 reach',
    'v2 recall',
    'last hit',
    'seed sent',
    'seed dups',
    'seed reach',
    'seed/v2',
  ];
  const table = TTLS.map((ttl) => {
    const r = rows.filter((x) => x.ttl === ttl);
    return [
      String(ttl),
      avg(r.map((x) => x.sent)).toFixed(1),
      avg(r.map((x) => x.bound)).toFixed(1),
      avg(r.map((x) => x.dups)).toFixed(1),
      pct(avg(r.map((x) => x.reach))),
      pct(avg(r.map((x) => x.recall))),
      `${avg(r.map((x) => x.lastHitMs)).toFixed(0)} ms`,
      avg(r.map((x) => x.seedSent)).toFixed(1),
      avg(r.map((x) => x.seedDups)).toFixed(1),
      pct(avg(r.map((x) => x.seedReach))),
      `${(avg(r.map((x) => x.seedSent)) / avg(r.map((x) => x.sent))).toFixed(2)}x`,
    ];
  });
  const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padStart(w[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|');
  for (const r of table) console.log(line(r));
  const over = rows.filter((r) => r.sent > r.bound).length;
  const incomplete = rows.filter((r) => r.reach < 1 || r.recall < 1).length;
  const totalSeed = rows.reduce((a, r) => a + r.seedSent, 0);
  const totalV2 = rows.reduce((a, r) => a + r.sent, 0);
  console.log(
    `\nmessage ratio v1 (seed-style) / v2: ${(totalSeed / totalV2).toFixed(2)} (${totalSeed} vs ${totalV2} query messages over ${rows.length} queries)`,
  );
  console.log(
    `goal, at most one forward per peer per query (sent <= Σ degree of peers reached): ${over === 0 ? 'met' : `MISSED in ${over} queries`}`,
  );
  console.log(`goal, reach and recall 100% within TTL: ${incomplete === 0 ? 'met' : `MISSED in ${incomplete} queries`}`);
  const heap = process.memoryUsage().heapUsed;
  console.log(
    `memory: peak RSS ${mb(peakRss)} for ${N} peers (process baseline ${mb(rss0)}), ${((peakRss - rss0) / N / 1024).toFixed(0)} KB RSS per peer; heap now ${mb(heap)}, ${(heap / N / 1024).toFixed(0)} KB per peer`,
  );
  console.log(`total time ${((Date.now() - t0) / 1000).toFixed(1)} s (seed baseline simulated on the same graph, v2 live)`);
  await pool(peers, 32, (p) => p.peer.quit({ force: true }));
  cleanupTemp();
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    cleanupTemp();
    process.exit(1);
  },
);
