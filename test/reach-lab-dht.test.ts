/**
 * DHT rendezvous in the network lab: a private bootstrap node on the public
 * segment (never the public DHT), peers behind NAT in homes A and B and on the
 * public segment. Peers of one network name find each other, given only the
 * bootstrap node; a private name finds only its own members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from './lab/agents.js';
import { Lab, PUBLIC_NET, labUnavailableReason } from './lab/lab.js';

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
    lab = await Lab.create();
    for (const s of ['pub', 'ha', 'hb']) await lab.addSwitch(s);
    await lab.addRouter('ra', { wan: { switch: 'pub', address: `${PUBLIC_NET}.1/24` }, lan: { switch: 'ha', address: '192.168.1.1/24' } });
    await lab.addRouter('rb', { wan: { switch: 'pub', address: `${PUBLIC_NET}.2/24` }, lan: { switch: 'hb', address: '192.168.1.1/24' } });
    await lab.addHost('a1', { switch: 'ha', address: '192.168.1.10/24' }, '192.168.1.1');
    await lab.addHost('a2', { switch: 'ha', address: '192.168.1.11/24' }, '192.168.1.1');
    await lab.addHost('b1', { switch: 'hb', address: '192.168.1.10/24' }, '192.168.1.1');
    await lab.addHost('pub1', { switch: 'pub', address: `${PUBLIC_NET}.10/24` });
    await lab.addHost('pub2', { switch: 'pub', address: `${PUBLIC_NET}.11/24` });
    await lab.addHost('boot', { switch: 'pub', address: `${PUBLIC_NET}.3/24` });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await lab?.destroy();
  }, 30_000);

  it('peers behind two NATs and on the public segment find each other through a private bootstrap node; a private name finds only its members', async () => {
    const boot = startAgent(lab, 'boot', { kind: 'dht', bootstrap: [], announcePort: 0, dhtPort: 6881 });
    agents.set('boot', boot);
    await boot.waitFor((e) => e.event === 'ready', 20_000, 'bootstrap node');
    const bootstrap = [`${PUBLIC_NET}.3:6881`];

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
