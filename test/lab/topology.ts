/**
 * The lab's usual shapes, built once here for the lab tests and bench/reach.ts:
 * homes behind NAT routers on a public segment, the hosts in them, one LAN on a
 * bridge, and the private DHT bootstrap node every DHT peer is given.
 */
import { startAgent, type Agent } from './agents.js';
import { Lab, PUBLIC_NET, type RouterSpec } from './lab.js';

/** Where the lab's usual hosts stand: switch and address (home hosts route via their router, 192.168.1.1). */
const HOSTS = {
  a1: { switch: 'ha', address: '192.168.1.10/24' },
  a2: { switch: 'ha', address: '192.168.1.11/24' },
  b1: { switch: 'hb', address: '192.168.1.10/24' },
  c1: { switch: 'hc', address: '192.168.1.10/24' },
  d1: { switch: 'hd', address: '192.168.1.10/24' },
  pub1: { switch: 'pub', address: `${PUBLIC_NET}.10/24` },
  pub2: { switch: 'pub', address: `${PUBLIC_NET}.11/24` },
  boot: { switch: 'pub', address: `${PUBLIC_NET}.3/24` },
} as const;

/** A host of the two-homes lab: a1, a2 in home A, b1 in home B, pub1, pub2, boot on the public segment. */
export type LabHost = keyof typeof HOSTS;

/** The private DHT bootstrap node's address, on host `boot`. */
export const BOOTSTRAP = `${PUBLIC_NET}.3:6881`;

/**
 * A home: switch `h<letter>` and router `r<letter>` (LAN 192.168.1.1/24, WAN
 * `PUBLIC_NET.<wanOctet>` on switch `pub`), with miniupnpd when `upnp` is given.
 */
export async function addHome(lab: Lab, letter: string, wanOctet: number, upnp?: RouterSpec['upnp']): Promise<void> {
  await lab.addSwitch(`h${letter}`);
  await lab.addRouter(`r${letter}`, {
    wan: { switch: 'pub', address: `${PUBLIC_NET}.${wanOctet}/24` },
    lan: { switch: `h${letter}`, address: '192.168.1.1/24' },
    upnp,
  });
}

/** Add the given hosts at their usual places (their switches must exist). */
export async function addHosts(lab: Lab, hosts: readonly LabHost[]): Promise<void> {
  for (const h of hosts) {
    const link = HOSTS[h];
    await lab.addHost(h, link, link.switch === 'pub' ? undefined : '192.168.1.1');
  }
}

/**
 * Two homes behind NAT on a public segment: router RA (PUBLIC_NET.1; with
 * miniupnpd, IGD v1 and NAT-PMP, when `upnpA`), router RB (PUBLIC_NET.2,
 * masquerade only), and the given hosts.
 */
export async function addTwoHomes(lab: Lab, hosts: readonly LabHost[], { upnpA = false } = {}): Promise<void> {
  await lab.addSwitch('pub');
  await addHome(lab, 'a', 1, upnpA ? { igdV1: true } : undefined);
  await addHome(lab, 'b', 2);
  await addHosts(lab, hosts);
}

/** A new lab holding {@link addTwoHomes} (destroyed again if building it fails). */
export async function twoHomesLab(hosts: readonly LabHost[], opts: { upnpA?: boolean } = {}): Promise<Lab> {
  const lab = await Lab.create();
  try {
    await addTwoHomes(lab, hosts, opts);
  } catch (err) {
    await lab.destroy();
    throw err;
  }
  return lab;
}

/** One LAN: switch `lan` and `count` hosts `<prefix>0…` at 192.168.7.11, .12, … */
export async function addLan(lab: Lab, count: number, prefix = 'h'): Promise<void> {
  await lab.addSwitch('lan');
  for (let i = 0; i < count; i++) await lab.addHost(`${prefix}${i}`, { switch: 'lan', address: `192.168.7.${11 + i}/24` });
}

/** Start the private DHT bootstrap node on host `boot` (at {@link BOOTSTRAP}) and wait until it is ready. */
export async function startBootstrapNode(lab: Lab): Promise<Agent> {
  const boot = startAgent(lab, 'boot', { kind: 'dht', bootstrap: [], announcePort: 0, dhtPort: 6881 });
  await boot.waitFor((e) => e.event === 'ready', 20_000, 'bootstrap node');
  return boot;
}

/** Stop each group of peers or agents in turn (each group at once), then destroy the lab. */
export async function stopLab(lab: Lab | undefined, ...groups: Iterable<{ stop(): Promise<void> }>[]): Promise<void> {
  for (const g of groups) await Promise.all([...g].map((x) => x.stop()));
  await lab?.destroy();
}
