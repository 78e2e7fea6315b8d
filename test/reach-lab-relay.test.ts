/**
 * Both ends firewalled, in the network lab: home A's router without UPnP,
 * home B's the same; a public peer relays. A download from B of A's file by
 * the address its hit printed goes through the relay, TLS end to end and
 * byte-identical; a public peer started with --no-relay refuses to relay.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from './lab/agents.js';
import { Lab, PUBLIC_NET, labUnavailableReason } from './lab/lab.js';
import { startLabPeer, type LabPeer } from './lab/lab-peer.js';

const unavailable = labUnavailableReason();
const title = unavailable ? `network lab: relay (skipped: ${unavailable})` : 'network lab: relay';

describe.skipIf(unavailable !== null)(title, () => {
  let lab: Lab;
  const peers = new Map<string, LabPeer>();
  const agents: Agent[] = [];

  /** The `found:` line for `name` from a search on `p`, waiting for the overlay to link up. */
  const hitFor = async (p: LabPeer, name: string, firewalled = false): Promise<string> => {
    for (const end = Date.now() + 30_000; Date.now() < end;) {
      const from = p.out.length;
      p.send('SEARCH,relay,4');
      await new Promise((r) => setTimeout(r, 1500));
      const hit = p.out.slice(from).find((l) => l.startsWith(`found: ${name} `));
      if (hit && (!firewalled || hit.endsWith(', firewalled]'))) return hit;
    }
    throw new Error(`${p.name} never found ${name}${firewalled ? ' marked firewalled' : ''}`);
  };

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(__dirname, '..', 'bin', 'mactella.mjs'), '--help'], { stdio: 'ignore', timeout: 60_000 });
    lab = await Lab.create();
    for (const s of ['pub', 'ha', 'hb']) await lab.addSwitch(s);
    await lab.addRouter('ra', { wan: { switch: 'pub', address: `${PUBLIC_NET}.1/24` }, lan: { switch: 'ha', address: '192.168.1.1/24' } });
    await lab.addRouter('rb', { wan: { switch: 'pub', address: `${PUBLIC_NET}.2/24` }, lan: { switch: 'hb', address: '192.168.1.1/24' } });
    await lab.addHost('a2', { switch: 'ha', address: '192.168.1.11/24' }, '192.168.1.1');
    await lab.addHost('b1', { switch: 'hb', address: '192.168.1.10/24' }, '192.168.1.1');
    await lab.addHost('pub1', { switch: 'pub', address: `${PUBLIC_NET}.10/24` });
    await lab.addHost('pub2', { switch: 'pub', address: `${PUBLIC_NET}.11/24` });
    await lab.addHost('boot', { switch: 'pub', address: `${PUBLIC_NET}.3/24` });
    const boot = startAgent(lab, 'boot', { kind: 'dht', bootstrap: [], announcePort: 0, dhtPort: 6881 });
    agents.push(boot);
    await boot.waitFor((e) => e.event === 'ready', 20_000, 'bootstrap node');
    const dht = ['--dht', '--dht-bootstrap', `${PUBLIC_NET}.3:6881`];
    const files = { 'relay-one.mp3': crypto.randomBytes(2 << 20), 'relay-two.mp3': crypto.randomBytes(1 << 20) };
    for (const [host, port, args, share] of [
      ['a2', 11002, dht, files],
      ['b1', 11003, dht, {}],
      ['pub1', 11004, dht, {}],
      ['pub2', 11005, [...dht, '--no-relay'], {}],
    ] as const) {
      peers.set(host, startLabPeer(lab, host, port, [...args], share));
    }
    for (const p of peers.values()) await p.waitFor(/^peer id:/, 30_000);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([...peers.values()].map((p) => p.stop()));
    await Promise.all(agents.map((a) => a.stop()));
    await lab?.destroy();
  }, 30_000);

  it('home B downloads from firewalled home A through the public relay, by the address the hit printed, byte-identical', async () => {
    const b1 = peers.get('b1')!;
    // Once a2's neighbours could not dial it back, its hits say it is firewalled.
    const hit = await hitFor(b1, 'relay-one.mp3', true);
    const address = / at (\S+) \[/.exec(hit)![1]!;
    const pub1Id = (await peers.get('pub1')!.waitFor(/^peer id: (\S+)/))[1]!;
    const a2Id = (await peers.get('a2')!.waitFor(/^peer id: (\S+)/))[1]!;
    expect(address.startsWith(`${a2Id}@`)).toBe(true); // the hit names its peer
    // Which relay b1 asks first depends on its neighbours; pub2 refuses (--no-relay), pub1 relays.
    const out = await b1.command(`GET,relay-one.mp3,${address}`, /GET relay-one\.mp3: (complete and verified|FAILED)/, 60_000);
    expect(out.join('\n')).toMatch(new RegExp(`relayed via ${pub1Id}`));
    // The transfer's route says so on its completion line.
    expect(out.join('\n')).toMatch(new RegExp(`GET relay-one\\.mp3: complete and verified \\(.*, relayed via ${pub1Id}\\) saved to`));
    const got = fs.readFileSync(path.join(b1.dir, 'downloads', 'relay-one.mp3'));
    expect(got.equals(fs.readFileSync(path.join(peers.get('a2')!.dir, 'share', 'relay-one.mp3')))).toBe(true);
    expect((await b1.command('DOCTOR', /relays:/)).join('\n')).toMatch(new RegExp(`ok {3}relays: in use: ${pub1Id}`));
  }, 90_000);

  it('with the only relay refusing (--no-relay), the download fails and says why', async () => {
    await peers.get('pub1')!.stop();
    const b1 = peers.get('b1')!;
    const hit = await hitFor(b1, 'relay-two.mp3');
    const [, host, port] = / at (\S+):(\d+) \[/.exec(hit)!;
    const out = await b1.command(`GET,relay-two.mp3,${host},${port}`, /GET relay-two\.mp3: (complete and verified|FAILED)/, 60_000);
    expect(out.join('\n')).toMatch(/GET relay-two\.mp3: FAILED.*no relay reached .*does not relay \(--no-relay\)/);
    expect(peers.get('pub2')!.out.join('\n')).toMatch(/relay: this peer does not relay \(--no-relay\)/);
  }, 90_000);
});
