/**
 * Port mapping and reachability in the network lab: home A's router RA runs
 * miniupnpd (IGD v1 description, as most home routers, plus NAT-PMP), home C's
 * router runs miniupnpd with the IGD v2 description, home D's router runs
 * miniupnpd with the IGD v1 description and no NAT-PMP (UPnP-IGD v1 is the only
 * way in), home B's router RB only masquerades. A host on the "public" segment
 * dials the external addresses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideReachability, type DialBackResult } from '../electron/peer/reach/reachability.js';
import type { PortMapping } from '../electron/peer/reach/port-mapping.js';
import type { AgentJob } from './lab/agent.js';
import { startAgent, type Agent, type AgentEvent } from './lab/agents.js';
import { Lab, PUBLIC_NET, upnpUnavailableReason } from './lab/lab.js';
import { addHome, addHosts, addTwoHomes, stopLab } from './lab/topology.js';

const unavailable = upnpUnavailableReason();
const title = unavailable ? `network lab: NAT and port mapping (skipped: ${unavailable})` : 'network lab: NAT and port mapping';

describe.skipIf(unavailable !== null)(title, () => {
  let lab: Lab;
  const agents: Agent[] = [];
  const agent = (host: string, job: Parameters<typeof startAgent>[2]) => {
    const a = startAgent(lab, host, job);
    agents.push(a);
    return a;
  };
  /** Dial host:port from the public segment; the answer carries the greeting read, if any. */
  const dialFromPublic = async (host: string, port: number): Promise<AgentEvent> =>
    agent('pub1', { kind: 'probe', host, port, timeoutMs: 1500 }).waitFor((e) => e.event === 'probed', 20_000, 'probe');

  /** Start a mapping agent in `host` and wait for its result (mapped or unmappable). */
  const mapFrom = async (host: string, job: Omit<Extract<AgentJob, { kind: 'map' }>, 'kind'>, timeoutMs = 20_000) => {
    const a = agent(host, { kind: 'map', ...job });
    return { a, result: await a.waitFor((e) => e.event === 'mapped' || e.event === 'unmappable', timeoutMs, 'mapping') };
  };
  /** Stop a mapping agent: it removed its mapping, and the public host no longer gets through. */
  const stopRemovesMapping = async (a: Agent, m: PortMapping) => {
    await a.stop();
    expect(a.events.some((e) => e.event === 'unmapped')).toBe(true);
    expect((await dialFromPublic(m.externalHost, m.externalPort)).ok).toBe(false);
  };

  beforeAll(async () => {
    lab = await Lab.create();
    await addTwoHomes(lab, ['a1', 'b1', 'pub1'], { upnpA: true });
    await addHome(lab, 'c', 4, { igdV1: false });
    await addHome(lab, 'd', 5, { igdV1: true, natpmp: false });
    await addHosts(lab, ['c1', 'd1']);
  }, 60_000);

  afterAll(() => stopLab(lab, agents), 30_000);

  it('NAT-PMP on an IGD-v1 router: the public host reaches the mapped port, the lease is renewed, and stop removes it', async () => {
    // The NAT is real: nothing reaches home A from outside before the mapping.
    expect((await dialFromPublic(`${PUBLIC_NET}.1`, 7100)).ok).toBe(false);

    const { a: a1, result: mapped } = await mapFrom('a1', { port: 7100, leaseSeconds: 2, greeting: 'hello from a1' });
    expect(mapped.event, JSON.stringify(mapped)).toBe('mapped');
    const m = mapped.mapping as PortMapping;
    expect(m).toMatchObject({ method: 'pmp', externalHost: `${PUBLIC_NET}.1`, externalPort: 7100, internalHost: '192.168.1.10' });

    const dial = await dialFromPublic(m.externalHost, m.externalPort);
    expect(dial).toMatchObject({ ok: true, greeting: 'hello from a1' });
    // The verdict from that dial-back: reachable at the mapped address.
    const result: DialBackResult = { by: 'pub1', host: m.externalHost, port: m.externalPort, ok: true, at: dial.t };
    expect(decideReachability([result], m, 1)).toMatchObject({ state: 'mapped', address: { host: m.externalHost, port: m.externalPort } });

    // A 2 s lease is renewed at half-time while running.
    await a1.waitFor((e) => e.event === 'renewed', 5000, 'renewal');

    await stopRemovesMapping(a1, m);
  }, 60_000);

  it('UPnP-IGD v2: the mapping is made over SOAP, reachable from outside, and removed on stop', async () => {
    const { a: c1, result: mapped } = await mapFrom('c1', { port: 7300, methods: ['upnp'], greeting: 'hello from c1' });
    expect(mapped.event, JSON.stringify(mapped)).toBe('mapped');
    const m = mapped.mapping as PortMapping;
    expect(m).toMatchObject({ method: 'upnp', externalHost: `${PUBLIC_NET}.4`, externalPort: 7300 });
    expect(await dialFromPublic(m.externalHost, m.externalPort)).toMatchObject({ ok: true, greeting: 'hello from c1' });
    await stopRemovesMapping(c1, m);
  }, 60_000);

  it('UPnP-IGD v1 only (no NAT-PMP): after NAT-PMP and IGDv2 fail, IGDv1 maps the port, the public host reaches it, the lease is renewed, stop removes it', async () => {
    expect((await dialFromPublic(`${PUBLIC_NET}.5`, 7400)).ok).toBe(false);

    const { a: d1, result: mapped } = await mapFrom('d1', { port: 7400, leaseSeconds: 2, greeting: 'hello from d1' }, 30_000);
    expect(mapped.event, JSON.stringify(mapped)).toBe('mapped');
    const m = mapped.mapping as PortMapping;
    expect(m).toMatchObject({
      method: 'upnp-v1',
      gateway: '192.168.1.1',
      externalHost: `${PUBLIC_NET}.5`,
      externalPort: 7400,
      internalHost: '192.168.1.10',
    });
    // The doctor's list: each method tried in order, the first two with their reason.
    const attempts = mapped.attempts as { method: string; ok: boolean; error?: string }[];
    expect(attempts.map((a) => [a.method, a.ok])).toEqual([
      ['pmp', false],
      ['upnp', false],
      ['upnp-v1', true],
    ]);

    expect(await dialFromPublic(m.externalHost, m.externalPort)).toMatchObject({ ok: true, greeting: 'hello from d1' });
    await d1.waitFor((e) => e.event === 'renewed', 10_000, 'renewal');
    // Still reachable after the renewal (it re-maps the same port).
    expect(await dialFromPublic(m.externalHost, m.externalPort)).toMatchObject({ ok: true, greeting: 'hello from d1' });

    await stopRemovesMapping(d1, m);
  }, 90_000);

  it('a router without UPnP or NAT-PMP: mapping fails with a reason for each protocol and the verdict is firewalled', async () => {
    const { result } = await mapFrom('b1', { port: 7200, greeting: 'hello from b1' });
    expect(result.event).toBe('unmappable');
    const attempts = result.attempts as { method: string; ok: boolean; error?: string }[];
    expect(attempts.map((a) => [a.method, a.ok])).toEqual([
      ['pmp', false],
      ['upnp', false],
      ['upnp-v1', false],
    ]);
    expect(attempts.every((a) => (a.error ?? '').length > 0)).toBe(true);

    const dial = await dialFromPublic(`${PUBLIC_NET}.2`, 7200);
    expect(dial.ok).toBe(false);
    const verdict = decideReachability(
      [{ by: 'pub1', host: `${PUBLIC_NET}.2`, port: 7200, ok: false, error: String(dial.error), at: dial.t }],
      null,
      1,
    );
    expect(verdict.state).toBe('firewalled');
  }, 60_000);
});
