/**
 * Real terminal peers (`bin/mactella.mjs`) in the network lab, with nothing
 * typed but the switches: on one LAN with `--lan`, and across two homes behind
 * NAT and a public segment with `--upnp --dht --dht-bootstrap` (a private
 * bootstrap node). They find each other, link over TLS, search each other's
 * files, and DOCTOR says what worked and what did not.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from './lab/agents.js';
import { Lab, PUBLIC_NET, upnpUnavailableReason } from './lab/lab.js';
import { buildCliOnce, startLabPeers, type LabPeer } from './lab/lab-peer.js';
import { addLan, addTwoHomes, BOOTSTRAP, startBootstrapNode, stopLab } from './lab/topology.js';

const unavailable = upnpUnavailableReason();
const title = unavailable ? `network lab: real peers (skipped: ${unavailable})` : 'network lab: real peers';

/** The IDs in a PEERS listing, with their source column. */
function knownPeers(lines: string[]): { id?: string; addr: string; source: string; connected: boolean }[] {
  const start = lines.findIndex((l) => l.startsWith('known peers'));
  const end = lines.findIndex((l) => l.startsWith('neighbours'));
  return lines.slice(start + 1, end).map((l) => {
    const [spec, , source, connected] = l.trim().split('\t');
    const at = spec!.lastIndexOf('@');
    return {
      id: at > 0 ? spec!.slice(0, at) : undefined,
      addr: spec!.slice(at + 1),
      source: source!,
      connected: connected === 'connected',
    };
  });
}

/** Search from `p` until every name in `names` was found (the overlay may still be linking up): name → address as printed. */
async function searchFinds(p: LabPeer, word: string, names: string[], timeoutMs = 20_000): Promise<Map<string, string>> {
  const hits = await p.searchUntil(word, (h) => names.every((n) => h.has(n)), timeoutMs);
  return new Map([...hits].map(([name, hit]) => [name, hit.address]));
}

describe.skipIf(unavailable !== null)(title, () => {
  let lab: Lab;
  const peers: LabPeer[] = [];
  const agents: Agent[] = [];

  beforeAll(async () => {
    buildCliOnce();
    lab = await Lab.create();
  }, 90_000);

  afterAll(() => stopLab(lab, peers, agents), 30_000);

  it('three peers with --lan on one LAN: each lists the others as nearby, links to them over TLS (their IDs proved) and finds their files', async () => {
    await addLan(lab, 3, 'l');
    const lan = await startLabPeers(
      lab,
      [0, 1, 2].map((i) => [`l${i}`, 7001 + i, ['--lan'], { [`lan-song-${i}.mp3`]: `LAN song ${i} `.repeat(500) }]),
      peers,
    );
    const ids = await Promise.all(lan.map((p) => p.id()));
    for (const [i, p] of lan.entries()) {
      const others = [0, 1, 2].filter((j) => j !== i);
      const addr = (j: number) => `192.168.7.${11 + j}:${7001 + j}`;
      const end = Date.now() + 10_000;
      let lines = await p.command('PEERS', /^neighbours \((\d+)\)/);
      const linked = () => others.every((j) => knownPeers(lines).some((k) => k.addr === addr(j) && k.source === 'nearby' && k.connected));
      while (!linked() && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 300));
        lines = await p.command('PEERS', /^neighbours \((\d+)\)/);
      }
      for (const j of others)
        expect(knownPeers(lines)).toContainEqual(expect.objectContaining({ addr: addr(j), source: 'nearby', connected: true }));
      // The neighbour links carry the IDs each peer proved in its TLS handshake.
      await new Promise((r) => setTimeout(r, 200));
      const neighbours = p.out.slice(p.out.lastIndexOf(lines.find((l) => l.startsWith('neighbours'))!)).join('\n');
      for (const j of others) expect(neighbours).toContain(ids[j]);
    }
    const found = await searchFinds(lan[0]!, 'song', ['lan-song-1.mp3', 'lan-song-2.mp3']);
    expect(found.get('lan-song-1.mp3')).toBe(`${ids[1]}@192.168.7.12:7002`);
    const doctor = await lan[0]!.command('DOCTOR', /relays:/);
    expect(doctor.join('\n')).toMatch(/ok {3}LAN discovery: 2 nearby peer\(s\)/);
    expect(doctor.join('\n')).toMatch(/off {2}DHT rendezvous: off/);
  }, 90_000);

  it('two homes behind NAT and a public peer, given only a private DHT bootstrap node: all link up and every search finds every other peer’s file', async () => {
    await addTwoHomes(lab, ['a1', 'a2', 'b1', 'pub1', 'boot'], { upnpA: true });
    agents.push(await startBootstrapNode(lab));

    const dht = ['--dht', '--dht-bootstrap', BOOTSTRAP];
    const spec: [string, number, string[]][] = [
      ['a1', 8001, ['--lan', '--upnp', ...dht]],
      ['a2', 8002, ['--lan', '--upnp', ...dht]],
      ['b1', 8003, ['--lan', '--upnp', ...dht]],
      ['pub1', 8004, dht],
    ];
    const home = await startLabPeers(
      lab,
      spec.map(([host, port, args]) => [host, port, args, { [`home-${host}.mp3`]: `file of ${host} `.repeat(500) }]),
      peers,
    );

    const names = spec.map(([host]) => `home-${host}.mp3`);
    for (const p of home)
      await searchFinds(
        p,
        'home',
        names.filter((n) => n !== `home-${p.name}.mp3`),
        30_000,
      );

    // Hits from home A carry the mapped public address (a private one would name a machine in home B), and
    // name their peer, as a1 and a2 share that address: a download from home B by exactly what the hit
    // printed (ID@HOST:PORT) goes through RA's mapping, byte-identical.
    const ids = await Promise.all(home.map((p) => p.id()));
    const fromB = await searchFinds(home[2]!, 'home', ['home-a1.mp3', 'home-a2.mp3']);
    expect(fromB.get('home-a1.mp3')).toBe(`${ids[0]}@${PUBLIC_NET}.1:8001`);
    expect(fromB.get('home-a2.mp3')).toBe(`${ids[1]}@${PUBLIC_NET}.1:8002`);
    await home[2]!.download('home-a1.mp3', fromB.get('home-a1.mp3')!, 30_000);
    const got = fs.readFileSync(path.join(home[2]!.dir, 'downloads', 'home-a1.mp3'));
    expect(got.equals(fs.readFileSync(path.join(home[0]!.dir, 'share', 'home-a1.mp3')))).toBe(true);

    const a1Doctor = (await home[0]!.command('DOCTOR', /relays:/)).join('\n');
    expect(a1Doctor).toMatch(
      new RegExp(`ok {3}port mapping: NAT-PMP ${PUBLIC_NET.replace(/\./g, '\\.')}\\.1:8001 -> 192\\.168\\.1\\.10:8001`),
    );
    expect(a1Doctor).toMatch(/ok {3}LAN discovery: 1 nearby peer/);
    expect(a1Doctor).toMatch(/ok {3}DHT rendezvous: network "mactella", \d+ node\(s\), \d+ peer\(s\) found/);
    const b1Doctor = (await home[2]!.command('DOCTOR', /relays:/)).join('\n');
    expect(b1Doctor).toMatch(/FAIL port mapping: NAT-PMP: .+; UPnP IGDv2: .+; UPnP IGDv1: .+\n {7}-> .*forward TCP port 8003/);

    // Reachability from neighbours dialling back: home A mapped, the public peer open, home B firewalled,
    // and hits from home B say so.
    const verdict = async (p: LabPeer) => (await p.command('DOCTOR', /relays:/)).find((l) => / reachability: /.test(l)) ?? '';
    const waitVerdict = async (p: LabPeer, re: RegExp) => {
      for (const end = Date.now() + 15_000; !re.test(await verdict(p)) && Date.now() < end;) await new Promise((r) => setTimeout(r, 500));
      expect(await verdict(p)).toMatch(re);
    };
    await waitVerdict(
      home[0]!,
      new RegExp(`^ok {3}reachability: mapped: dialled back at the NAT-PMP mapping ${PUBLIC_NET.replace(/\./g, '\\.')}\\.1:8001`),
    );
    await waitVerdict(home[3]!, /^ok {3}reachability: open: dialled back at 100\.200\.0\.10:8004/);
    await waitVerdict(home[2]!, /^WARN reachability: firewalled: \d neighbours could not dial back/);
    const b1Hit = (await home[3]!.searchUntil('home', (h) => h.has('home-b1.mp3'))).get('home-b1.mp3')!.line;
    expect(b1Hit).toMatch(/, firewalled\]$/);

    // PUSH: the public peer downloads from firewalled home B by exactly what the hit printed: its dial fails,
    // it asks b1 (along the hit's path) to push, b1 dials out over TLS and serves the file, byte-identical.
    const [, bHost, bPort] = / at (\S+):(\d+) \[/.exec(b1Hit)!;
    const pushed = await home[3]!.download('home-b1.mp3', `${bHost},${bPort}`, 30_000);
    expect(pushed.join('\n')).toMatch(/push: asked \S+ to connect to 100\.200\.0\.10:8004/);
    expect(pushed.join('\n')).toMatch(/GET home-b1\.mp3: complete and verified \(.*, via push\) saved to/);
    const pushedFile = fs.readFileSync(path.join(home[3]!.dir, 'downloads', 'home-b1.mp3'));
    expect(pushedFile.equals(fs.readFileSync(path.join(home[2]!.dir, 'share', 'home-b1.mp3')))).toBe(true);

    // Peers found on the DHT join the host cache as "found online", at their public addresses; a peer's own
    // announcement does not (pub1 started last, so its first lookup saw everyone).
    const wanted = [`${PUBLIC_NET}.1:8001`, `${PUBLIC_NET}.1:8002`, `${PUBLIC_NET}.2:8003`];
    let pubKnown = knownPeers(await home[3]!.command('PEERS', /^neighbours/));
    // Peers that started together find each other at the DHT's early re-lookups (5 s, 15 s after start).
    for (const end = Date.now() + 25_000; !wanted.every((a) => pubKnown.some((k) => k.addr === a)) && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 500));
      pubKnown = knownPeers(await home[3]!.command('PEERS', /^neighbours/));
    }
    for (const addr of wanted) {
      expect(pubKnown).toContainEqual(expect.objectContaining({ addr, source: 'online' }));
    }
    expect(pubKnown.map((k) => k.addr)).not.toContain(`${PUBLIC_NET}.10:8004`);
    const a1Known = knownPeers(await home[0]!.command('PEERS', /^neighbours/));
    expect(a1Known.map((k) => k.addr)).not.toContain(`${PUBLIC_NET}.1:8001`);
  }, 120_000);
});
