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
 * - the DHT lookup time behind NAT, with a private bootstrap node.
 * Pairs (direct / push / relay) and relay throughput come with the peer wiring.
 */
import { parseArgs } from 'node:util';
import { startAgent, type Agent } from '../test/lab/agents.js';
import { Lab, PUBLIC_NET, upnpUnavailableReason } from '../test/lab/lab.js';

const { values } = parseArgs({ options: { 'lan-peers': { type: 'string' }, rounds: { type: 'string' } } });
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
  console.log('  pairs (direct / push / relay) and relay throughput: not measured yet (peer wiring pending)');
}

main().catch((err: Error) => {
  console.error(`bench/reach: ${err.message}`);
  process.exit(1);
});
