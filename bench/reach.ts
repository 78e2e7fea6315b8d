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
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startAgent, type Agent } from '../test/lab/agents.js';
import { Lab, PUBLIC_NET, upnpUnavailableReason } from '../test/lab/lab.js';
import { startLabPeer, type LabPeer } from '../test/lab/lab-peer.js';

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
    await lab.addSwitch('lan');
    for (let i = 0; i < LAN_PEERS; i++) await lab.addHost(`h${i}`, { switch: 'lan', address: `192.168.7.${11 + i}/24` });
    for (let i = 0; i < LAN_PEERS; i++) agents.push(startAgent(lab, `h${i}`, { kind: 'lan', peerId: `BENCH${i}`, port: 7001 + i }));
    const started = await Promise.all(agents.map((a) => a.waitFor((e) => e.event === 'started', 30_000, 'start')));
    // The newest peer's wait for its first LAN peer: what a user opening the app on a LAN of running peers sees.
    const last = started.reduce((best, e, i) => (e.t > started[best]!.t ? i : best), 0);
    const first = await agents[last]!.waitFor((e) => e.event === 'found', 10_000, 'a LAN peer');
    return first.t - started[last]!.t;
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await lab.destroy();
  }
}

async function natRound(): Promise<{ mapping: string; mapMs: number; lookupMs: number }> {
  const lab = await Lab.create();
  const agents: Agent[] = [];
  const agent = (host: string, job: Parameters<typeof startAgent>[2]) => (agents.push(startAgent(lab, host, job)), agents.at(-1)!);
  try {
    for (const s of ['pub', 'ha', 'hb']) await lab.addSwitch(s);
    await lab.addRouter('ra', {
      wan: { switch: 'pub', address: `${PUBLIC_NET}.1/24` },
      lan: { switch: 'ha', address: '192.168.1.1/24' },
      upnp: { igdV1: true },
    });
    await lab.addRouter('rb', { wan: { switch: 'pub', address: `${PUBLIC_NET}.2/24` }, lan: { switch: 'hb', address: '192.168.1.1/24' } });
    await lab.addHost('a1', { switch: 'ha', address: '192.168.1.10/24' }, '192.168.1.1');
    await lab.addHost('b1', { switch: 'hb', address: '192.168.1.10/24' }, '192.168.1.1');
    await lab.addHost('boot', { switch: 'pub', address: `${PUBLIC_NET}.3/24` });

    const map = agent('a1', { kind: 'map', port: 7100, greeting: 'bench' });
    const mapped = await map.waitFor((e) => e.event === 'mapped' || e.event === 'unmappable', 20_000, 'mapping');
    const attempts = mapped.attempts as { method: string; ok: boolean; ms: number }[];
    const m = mapped.mapping as { method: string; externalHost: string; externalPort: number } | null;
    const mapping = m ? `${m.method} ${m.externalHost}:${m.externalPort}` : 'none';

    const boot = agent('boot', { kind: 'dht', bootstrap: [], announcePort: 0, dhtPort: 6881 });
    await boot.waitFor((e) => e.event === 'ready', 20_000, 'bootstrap node');
    const bootstrap = [`${PUBLIC_NET}.3:6881`];
    const a = agent('a1', { kind: 'dht', bootstrap, announcePort: 7100, refreshMs: 60_000 });
    await a.waitFor((e) => e.event === 'lookup', 20_000, 'a1 lookup');
    // b1 arrives after a1 announced: its first lookup must already find a1.
    const b = agent('b1', { kind: 'dht', bootstrap, announcePort: 7200, refreshMs: 60_000 });
    const look = await b.waitFor((e) => e.event === 'lookup', 20_000, 'b1 lookup');
    const peers = look.peers as { port: number }[];
    if (!peers.some((p) => p.port === 7100)) throw new Error(`b1's lookup did not find a1: ${JSON.stringify(peers)}`);
    return { mapping, mapMs: attempts.at(-1)?.ms ?? NaN, lookupMs: look.ms as number };
  } finally {
    await Promise.all(agents.map((x) => x.stop()));
    await lab.destroy();
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
  const lab = await Lab.create();
  const agents: Agent[] = [];
  const peers: LabPeer[] = [];
  try {
    for (const s of ['pub', 'ha', 'hb']) await lab.addSwitch(s);
    await lab.addRouter('ra', {
      wan: { switch: 'pub', address: `${PUBLIC_NET}.1/24` },
      lan: { switch: 'ha', address: '192.168.1.1/24' },
      upnp: { igdV1: true },
    });
    await lab.addRouter('rb', { wan: { switch: 'pub', address: `${PUBLIC_NET}.2/24` }, lan: { switch: 'hb', address: '192.168.1.1/24' } });
    await lab.addHost('a1', { switch: 'ha', address: '192.168.1.10/24' }, '192.168.1.1');
    await lab.addHost('a2', { switch: 'ha', address: '192.168.1.11/24' }, '192.168.1.1');
    await lab.addHost('b1', { switch: 'hb', address: '192.168.1.10/24' }, '192.168.1.1');
    await lab.addHost('pub1', { switch: 'pub', address: `${PUBLIC_NET}.10/24` });
    await lab.addHost('boot', { switch: 'pub', address: `${PUBLIC_NET}.3/24` });
    agents.push(startAgent(lab, 'boot', { kind: 'dht', bootstrap: [], announcePort: 0, dhtPort: 6881 }));
    await agents[0]!.waitFor((e) => e.event === 'ready', 20_000, 'bootstrap node');
    const args = ['--lan', '--dht', '--dht-bootstrap', `${PUBLIC_NET}.3:6881`];
    const hosts = ['a1', 'a2', 'b1', 'pub1'];
    for (const [i, h] of hosts.entries()) {
      // a2: UPnP turned off, so it and b1 are both firewalled.
      const own = h === 'a1' || h === 'b1' ? [...args, '--upnp'] : args;
      peers.push(startLabPeer(lab, h, 9001 + i, own, { [`pair-${h}.mp3`]: crypto.randomBytes(PAIR_MIB * 1024 * 1024) }));
    }
    for (const p of peers) await p.waitFor(/^peer id:/, 30_000);
    // Let the DHT's early re-lookups and the dial-backs settle.
    await new Promise((r) => setTimeout(r, 8000));
    const results: PairResult[] = [];
    for (const d of peers) {
      const from = d.out.length;
      d.send('SEARCH,pair,4');
      await new Promise((r) => setTimeout(r, 2000));
      for (const s of peers) {
        if (s === d) continue;
        const line = d.out.slice(from).find((l) => l.startsWith(`found: pair-${s.name}.mp3`));
        // The address exactly as printed: ID@HOST:PORT for a v2 hit.
        const m = line && / at (\S+) \[/.exec(line);
        if (!m) {
          results.push({ from: d.name, to: s.name, address: 'no hit', ok: false, via: 'direct', mbps: 0, firewalled: false });
          continue;
        }
        const t0 = performance.now();
        const done = await d.command(
          `GET,pair-${s.name}.mp3,${m[1]}`,
          new RegExp(`GET pair-${s.name}\\.mp3: (complete|FAILED|cancelled)`),
          60_000,
        );
        const end = done.find((l) => l.startsWith(`GET pair-${s.name}.mp3: `)) ?? '';
        const ok = end.includes('complete and verified');
        const ms = performance.now() - t0;
        results.push({
          from: d.name,
          to: s.name,
          address: m[1]!.slice(m[1]!.indexOf('@') + 1),
          ok,
          // The route the transfer reports on its completion line.
          via: end.includes(', relayed via ') ? 'relay' : end.includes(', via push)') ? 'push' : 'direct',
          mbps: ok ? PAIR_MIB / 1.048576 / (ms / 1000) : 0,
          firewalled: line.includes(', firewalled]'),
        });
      }
    }
    return results;
  } finally {
    await Promise.all(peers.map((p) => p.stop()));
    await Promise.all(agents.map((a) => a.stop()));
    await lab.destroy();
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
  execFileSync(process.execPath, [path.join(import.meta.dirname, '..', 'bin', 'mactella.mjs'), '--help'], { stdio: 'ignore' });
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
