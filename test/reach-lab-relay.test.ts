/**
 * Both ends firewalled, in the network lab: home A's router without UPnP,
 * home B's the same; a public peer relays. A download from B of A's file by
 * the address its hit printed goes through the relay, TLS end to end and
 * byte-identical; a public peer started with --no-relay refuses to relay.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from './lab/agents.js';
import { labUnavailableReason, type Lab } from './lab/lab.js';
import { buildCliOnce, startLabPeers, type LabPeer } from './lab/lab-peer.js';
import { BOOTSTRAP, startBootstrapNode, stopLab, twoHomesLab } from './lab/topology.js';

const unavailable = labUnavailableReason();
const title = unavailable ? `network lab: relay (skipped: ${unavailable})` : 'network lab: relay';

describe.skipIf(unavailable !== null)(title, () => {
  let lab: Lab;
  const peers = new Map<string, LabPeer>();
  const agents: Agent[] = [];

  /** The `found:` line for `name` from a search on `p`, waiting for the overlay to link up. */
  const hitFor = async (p: LabPeer, name: string, firewalled = false): Promise<string> => {
    const ok = (line?: string) => line !== undefined && (!firewalled || line.endsWith(', firewalled]'));
    return (await p.searchUntil('relay', (hits) => ok(hits.get(name)?.line), 30_000)).get(name)!.line;
  };

  beforeAll(async () => {
    buildCliOnce();
    lab = await twoHomesLab(['a2', 'b1', 'pub1', 'pub2', 'boot']);
    agents.push(await startBootstrapNode(lab));
    const dht = ['--dht', '--dht-bootstrap', BOOTSTRAP];
    const files = { 'relay-one.mp3': crypto.randomBytes(2 << 20), 'relay-two.mp3': crypto.randomBytes(1 << 20) };
    const started = await startLabPeers(lab, [
      ['a2', 11002, dht, files],
      ['b1', 11003, dht],
      ['pub1', 11004, dht],
      ['pub2', 11005, [...dht, '--no-relay']],
    ]);
    for (const p of started) peers.set(p.name, p);
  }, 90_000);

  afterAll(() => stopLab(lab, peers.values(), agents), 30_000);

  it('home B downloads from firewalled home A through the public relay, by the address the hit printed, byte-identical', async () => {
    const b1 = peers.get('b1')!;
    // Once a2's neighbours could not dial it back, its hits say it is firewalled.
    const hit = await hitFor(b1, 'relay-one.mp3', true);
    const address = / at (\S+) \[/.exec(hit)![1]!;
    const pub1Id = await peers.get('pub1')!.id();
    const a2Id = await peers.get('a2')!.id();
    expect(address.startsWith(`${a2Id}@`)).toBe(true); // the hit names its peer
    // Which relay b1 asks first depends on its neighbours; pub2 refuses (--no-relay), pub1 relays.
    const out = await b1.download('relay-one.mp3', address);
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
    const out = await b1.download('relay-two.mp3', `${host},${port}`);
    expect(out.join('\n')).toMatch(/GET relay-two\.mp3: FAILED.*no relay reached .*does not relay \(--no-relay\)/);
    expect(peers.get('pub2')!.out.join('\n')).toMatch(/relay: this peer does not relay \(--no-relay\)/);
  }, 90_000);
});
