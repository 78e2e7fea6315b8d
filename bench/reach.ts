/**
 * Reach benchmark, in the network lab (needs root and `ip netns`):
 *
 *   npx tsx bench/reach.ts [--lan-peers 3] [--rounds 3]
 *
 * Prints, each a median over the rounds:
 * - time to the first LAN peer: N peers on one bridge, from the newest peer's start
 *   to its first LAN peer found by mDNS;
 * - the port mapping result through miniupnpd on router RA (NAT-PMP) and the
 *   time it took;
 * - the DHT lookup time behind NAT, with a private bootstrap node;
 * - for every ordered pair of real terminal peers in two homes behind NAT and
 *   on the public segment (given only the DHT bootstrap node): whether a GET by
 *   exactly what the hit printed works (direct, PUSH or relay), and its
 *   throughput. Home A's second peer runs without UPnP, so home A and home B
 *   have a firewalled pair between them (relay, capped at 8 MiB/s by default).
 */
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { startAgent, type Agent } from '../test/lab/agents.js';
import { Lab, upnpUnavailableReason } from '../test/lab/lab.js';
import { buildCliOnce, startLabPeers, type LabPeer } from '../test/lab/lab-peer.js';
import { addLan, BOOTSTRAP, startBootstrapNode, stopLab, twoHomesLab } from '../test/lab/topology.js';

const { values } = parseArgs({ options: { 'lan-peers': { type: 'string' }, rounds: { type: 'string' }, 'pair-mib': { type: 'string' } } });
const PAIR_MIB = Math.max(1, Number(values['pair-mib'] ?? 8));
const LAN_PEERS = Math.max(2, Number(values['lan-peers'] ?? 3));
const ROUNDS = Math.max(1, Number(values.rounds ?? 3));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (ms: number) => `${ms.toFixed(0)} ms`;

async function lanRound(): Promise<number> {
  const lab = await Lab.create();
  const agents: Agent[] = [];
  try {
    await addLan(lab, LAN_PEERS);
    for (let i = 0; i < LAN_PEERS; i++) agents.push(startAgent(lab, `h${i}`, { kind: 'lan', peerId: `BENCH${i}`, port: 7001 + i }));
    const started = await Promise.all(agents.map((a) => a.waitFor((e) => e.event === 'started', 30_000, 'start')));
    // The newest peer's wait for its first LAN peer: what a user opening the app on a LAN of running peers sees.
    const last = started.reduce((best, e, i) => (e.t > started[best]!.t ? i : best), 0);
    const first = await agents[last]!.waitFor((e) => e.event === 'found', 10_000, 'a LAN peer');
    return first.t - started[last]!.t;
  } finally {
    await stopLab(lab, agents);
  }
}

async function natRound(): Promise<{ mapping: string; mapMs: number; lookupMs: number }> {
  const lab = await twoHomesLab(['a1', 'b1', 'boot'], { upnpA: true });
  const agents: Agent[] = [];
  const agent = (host: string, job: Parameters<typeof startAgent>[2]) => (agents.push(startAgent(lab, host, job)), agents.at(-1)!);
  try {
    const map = agent('a1', { kind: 'map', port: 7100, greeting: 'bench' });
    const mapped = await map.waitFor((e) => e.event === 'mapped' || e.event === 'unmappable', 20_000, 'mapping');
    const attempts = mapped.attempts as { method: string; ok: boolean; ms: number }[];
    const m = mapped.mapping as { method: string; externalHost: string; externalPort: number } | null;
    const mapping = m ? `${m.method} ${m.externalHost}:${m.externalPort}` : 'none';

    agents.push(await startBootstrapNode(lab));
    const bootstrap = [BOOTSTRAP];
    const a = agent('a1', { kind: 'dht', bootstrap, announcePort: 7100, refreshMs: 60_000 });
    await a.waitFor((e) => e.event === 'lookup', 20_000, 'a1 lookup');
    // b1 arrives after a1 announced: its first lookup must already find a1.
    const b = agent('b1', { kind: 'dht', bootstrap, announcePort: 7200, refreshMs: 60_000 });
    const look = await b.waitFor((e) => e.event === 'lookup', 20_000, 'b1 lookup');
    const peers = look.peers as { port: number }[];
    if (!peers.some((p) => p.port === 7100)) throw new Error(`b1's lookup did not find a1: ${JSON.stringify(peers)}`);
    return { mapping, mapMs: attempts.at(-1)?.ms ?? NaN, lookupMs: look.ms as number };
  } finally {
    await stopLab(lab, agents);
  }
}

/** One ordered pair: the downloader, the source, and how a GET by the hit's address went. */
interface PairResult {
  from: string;
  to: string;
  address: string;
  ok: boolean;
  via: 'direct' | 'push' | 'relay';
  mbps: number;
  firewalled: boolean;
}

/** The two homes and the public segment with real peers; every peer downloads every other peer's file. */
async function pairsRound(): Promise<PairResult[]> {
  const lab = await twoHomesLab(['a1', 'a2', 'b1', 'pub1', 'boot'], { upnpA: true });
  const agents: Agent[] = [];
  const peers: LabPeer[] = [];
  try {
    agents.push(await startBootstrapNode(lab));
    const args = ['--lan', '--dht', '--dht-bootstrap', BOOTSTRAP];
    const hosts = ['a1', 'a2', 'b1', 'pub1'];
    // a2: UPnP turned off, so it and b1 are both firewalled.
    const own = (h: string) => (h === 'a1' || h === 'b1' ? [...args, '--upnp'] : args);
    await startLabPeers(
      lab,
      hosts.map((h, i) => [h, 9001 + i, own(h), { [`pair-${h}.mp3`]: crypto.randomBytes(PAIR_MIB * 1024 * 1024) }]),
      peers,
    );
    // Let the DHT's early re-lookups and the dial-backs settle.
    await new Promise((r) => setTimeout(r, 8000));
    const results: PairResult[] = [];
    for (const d of peers) {
      const hits = await d.search('pair', 2000);
      for (const s of peers) {
        if (s === d) continue;
        const name = `pair-${s.name}.mp3`;
        // The address exactly as printed: ID@HOST:PORT for a v2 hit.
        const hit = hits.get(name);
        if (!hit) {
          results.push({ from: d.name, to: s.name, address: 'no hit', ok: false, via: 'direct', mbps: 0, firewalled: false });
          continue;
        }
        const t0 = performance.now();
        const done = await d.download(name, hit.address);
        const end = done.find((l) => l.startsWith(`GET ${name}: `)) ?? '';
        const ok = end.includes('complete and verified');
        const ms = performance.now() - t0;
        results.push({
          from: d.name,
          to: s.name,
          address: hit.address.slice(hit.address.indexOf('@') + 1),
          ok,
          // The route the transfer reports on its completion line.
          via: end.includes(', relayed via ') ? 'relay' : end.includes(', via push)') ? 'push' : 'direct',
          mbps: ok ? PAIR_MIB / 1.048576 / (ms / 1000) : 0,
          firewalled: hit.line.includes(', firewalled]'),
        });
      }
    }
    return results;
  } finally {
    await stopLab(lab, peers, agents);
  }
}

async function main(): Promise<void> {
  const reason = upnpUnavailableReason();
  if (reason) {
    console.log(`bench/reach: skipped (${reason})`);
    return;
  }
  const lan: number[] = [];
  const nat: Awaited<ReturnType<typeof natRound>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    lan.push(await lanRound());
    nat.push(await natRound());
  }
  console.log(`reach lab, ${ROUNDS} round(s), medians`);
  console.log(`  time to first LAN peer (${LAN_PEERS} peers, mDNS):  ${f(median(lan))}   [${lan.map(f).join(', ')}]`);
  console.log(`  port mapping via miniupnpd on RA:            ${nat[0]!.mapping} in ${f(median(nat.map((n) => n.mapMs)))}`);
  console.log(
    `  DHT lookup behind NAT (private bootstrap):   ${f(median(nat.map((n) => n.lookupMs)))}   [${nat.map((n) => f(n.lookupMs)).join(', ')}]`,
  );
  buildCliOnce();
  const pairs = await pairsRound();
  const ok = pairs.filter((p) => p.ok);
  console.log(
    `  pairs (real peers, ${PAIR_MIB} MiB each, GET by the hit's address): ${ok.length}/${pairs.length} can download (${Math.round((100 * ok.length) / pairs.length)}%)`,
  );
  for (const p of pairs) {
    const how = p.ok ? `${p.via.padEnd(6)} ${p.mbps.toFixed(0)} MB/s` : p.firewalled ? 'FAILED: source firewalled' : 'FAILED';
    console.log(`    ${p.from.padEnd(4)} <- ${p.to.padEnd(4)} at ${p.address.padEnd(20)} ${how}`);
  }
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const by = (v: PairResult['via']) => mean(ok.filter((p) => p.via === v).map((p) => p.mbps));
  console.log(
    `  relay throughput against direct: ${by('relay').toFixed(0)} MB/s vs ${by('direct').toFixed(0)} MB/s (${((100 * by('relay')) / by('direct')).toFixed(0)}%; the relay's cap is 8 MiB/s)`,
  );
}

main().catch((err: Error) => {
  console.error(`bench/reach: ${err.message}`);
  process.exit(1);
});
