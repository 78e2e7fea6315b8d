/**
 * DHT rendezvous in the network lab: a private bootstrap node on the public
 * segment (never the public DHT), peers behind NAT in homes A and B and on the
 * public segment. Peers of one network name find each other, given only the
 * bootstrap node; a private name finds only its own members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from './lab/agents.js';
import { PUBLIC_NET, labUnavailableReason, type Lab } from './lab/lab.js';
import { BOOTSTRAP, startBootstrapNode, stopLab, twoHomesLab } from './lab/topology.js';

const unavailable = labUnavailableReason();
const title = unavailable ? `network lab: DHT rendezvous (skipped: ${unavailable})` : 'network lab: DHT rendezvous';

/** Each peer announces a distinct port, so a found address names its announcer. */
const members = {
  mactella: { a1: 7001, b1: 7003, pub1: 7004 },
  'friends-only': { a2: 7002, pub2: 7005 },
} as const;

describe.skipIf(unavailable !== null)(title, () => {
  let lab: Lab;
  const agents = new Map<string, Agent>();

  beforeAll(async () => {
    lab = await twoHomesLab(['a1', 'a2', 'b1', 'pub1', 'pub2', 'boot']);
  }, 60_000);

  afterAll(() => stopLab(lab, agents.values()), 30_000);

  it('peers behind two NATs and on the public segment find each other through a private bootstrap node; a private name finds only its members', async () => {
    agents.set('boot', await startBootstrapNode(lab));
    const bootstrap = [BOOTSTRAP];

    for (const [networkName, hosts] of Object.entries(members)) {
      for (const [host, port] of Object.entries(hosts)) {
        agents.set(host, startAgent(lab, host, { kind: 'dht', bootstrap, networkName, announcePort: port, refreshMs: 1000 }));
      }
    }
    for (const [networkName, hosts] of Object.entries(members)) {
      const ours = Object.values(hosts) as number[];
      const others = Object.entries(members)
        .filter(([n]) => n !== networkName)
        .flatMap(([, h]) => Object.values(h) as number[]);
      for (const host of Object.keys(hosts)) {
        const a = agents.get(host)!;
        const foundPort = (port: number) =>
          a.waitFor((e) => e.event === 'peer' && (e.peer as { port: number }).port === port, 20_000, `peer :${port}`);
        for (const port of ours) await foundPort(port);
        const seen = a.events.filter((e) => e.event === 'peer').map((e) => (e.peer as { port: number }).port);
        expect(
          seen.filter((p) => others.includes(p)),
          `${host} saw another network's peers`,
        ).toEqual([]);
      }
    }
    // Announcements from behind a NAT carry the router's public address.
    const pub1Saw = agents
      .get('pub1')!
      .events.filter((e) => e.event === 'peer')
      .map((e) => e.peer as { host: string; port: number });
    expect(pub1Saw).toContainEqual(expect.objectContaining({ host: `${PUBLIC_NET}.1`, port: 7001 }));
    expect(pub1Saw).toContainEqual(expect.objectContaining({ host: `${PUBLIC_NET}.2`, port: 7003 }));
  }, 90_000);
});
