/**
 * Every way of being found at once, in the lab: two homes behind NAT (A with
 * miniupnpd, B masquerade only), a public peer and a private DHT bootstrap
 * node. Each peer runs the ReachService with LAN, port mapping and DHT on, as
 * the desktop app does, with only the bootstrap node given. The doctor says
 * what worked and, for home B, why the mapping failed and what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReachSettings } from '../shared/types.js';
import { REACH_OFF } from '../electron/peer/reach/reach-options.js';
import type { DoctorReport } from '../electron/peer/reach/doctor.js';
import { startAgent, type Agent, type AgentEvent } from './lab/agents.js';
import { PUBLIC_NET, upnpUnavailableReason, type Lab } from './lab/lab.js';
import { BOOTSTRAP, startBootstrapNode, stopLab, twoHomesLab } from './lab/topology.js';

const unavailable = upnpUnavailableReason();
const title = unavailable ? `network lab: reach service (skipped: ${unavailable})` : 'network lab: reach service';

const peers = { a1: 7001, a2: 7002, b1: 7003, pub1: 7004 } as const;

describe.skipIf(unavailable !== null)(title, () => {
  let lab: Lab;
  const agents = new Map<string, Agent>();

  beforeAll(async () => {
    lab = await twoHomesLab(['a1', 'a2', 'b1', 'pub1', 'boot'], { upnpA: true });
  }, 60_000);

  afterAll(() => stopLab(lab, agents.values()), 30_000);

  const doctor = async (host: string): Promise<DoctorReport & { text: string }> => {
    const a = agents.get(host)!;
    const before = a.events.length;
    a.process.kill('SIGUSR2');
    const e: AgentEvent = await a.waitFor((x) => x.event === 'doctor' && a.events.indexOf(x) >= before, 5000, 'doctor report');
    return { ...(e.report as DoctorReport), text: e.text as string };
  };

  it('LAN, mapping and DHT together: nearby peers in home A, found-online peers across NATs, and a doctor that says why', async () => {
    agents.set('boot', await startBootstrapNode(lab));
    const settings: ReachSettings = { ...REACH_OFF, lan: true, upnp: true, dht: true, dhtBootstrap: [BOOTSTRAP] };
    for (const [host, port] of Object.entries(peers)) {
      agents.set(host, startAgent(lab, host, { kind: 'reach', peerId: `PEER-${host.toUpperCase()}`, port, settings, greeting: host }));
    }
    for (const host of Object.keys(peers)) await agents.get(host)!.waitFor((e) => e.event === 'started', 30_000, 'start');

    // Home A's two peers see each other on their LAN, and nobody else does.
    await agents.get('a1')!.waitFor((e) => e.event === 'nearby' && (e.peer as { id: string }).id === 'PEER-A2', 5000, 'a2 nearby');
    await agents.get('a2')!.waitFor((e) => e.event === 'nearby' && (e.peer as { id: string }).id === 'PEER-A1', 5000, 'a1 nearby');

    // The mapping: a1 mapped on RA, b1 not (RB has neither UPnP nor NAT-PMP).
    const a1Map = await agents.get('a1')!.waitFor((e) => e.event === 'mapping', 10_000, 'a1 mapping');
    expect(a1Map.mapping).toMatchObject({ method: 'pmp', externalHost: `${PUBLIC_NET}.1`, externalPort: 7001 });
    const b1Map = await agents.get('b1')!.waitFor((e) => e.event === 'mapping', 15_000, 'b1 mapping');
    expect(b1Map.mapping).toBeNull();

    // Everyone finds everyone else through the DHT, with only the bootstrap node given.
    for (const host of Object.keys(peers)) {
      const a = agents.get(host)!;
      for (const [other, port] of Object.entries(peers)) {
        if (other === host) continue;
        await a.waitFor((e) => e.event === 'found-online' && (e.peer as { port: number }).port === port, 20_000, `${other} online`);
      }
    }
    // a1 announced its mapped port under RA's public address: that address really reaches a1.
    const pubSaw = agents.get('pub1')!.events.find((e) => e.event === 'found-online' && (e.peer as { port: number }).port === 7001)!;
    expect(pubSaw.peer).toMatchObject({ host: `${PUBLIC_NET}.1`, port: 7001 });
    const dial = await startAgent(lab, 'pub1', { kind: 'probe', host: `${PUBLIC_NET}.1`, port: 7001 }).waitFor(
      (e) => e.event === 'probed',
      15_000,
      'probe',
    );
    expect(dial).toMatchObject({ ok: true, greeting: 'a1' });

    const a1Doc = await doctor('a1');
    expect(a1Doc.checks.find((c) => c.name === 'port mapping')).toMatchObject({ status: 'ok' });
    expect(a1Doc.checks.find((c) => c.name === 'LAN discovery')).toMatchObject({ status: 'ok' });
    expect(a1Doc.checks.find((c) => c.name === 'DHT rendezvous')).toMatchObject({ status: 'ok' });
    const b1Doc = await doctor('b1');
    const b1Map2 = b1Doc.checks.find((c) => c.name === 'port mapping')!;
    expect(b1Map2.status).toBe('fail');
    expect(b1Map2.advice).toMatch(/forward TCP port 7003/);
    expect(b1Doc.text).toMatch(/FAIL port mapping: NAT-PMP: .+; UPnP IGDv2: .+; UPnP IGDv1: .+/);
  }, 120_000);
});
