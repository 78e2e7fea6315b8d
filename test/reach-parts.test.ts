/**
 * The reach parts without the lab: the reachability verdict, parsing of what
 * the LAN and the routing table say, and the DHT rendezvous on loopback only
 * (a closed three-node DHT on 127.0.0.1: nothing leaves the machine).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProcNetRoute } from '../electron/peer/reach/default-gateway.js';
import { DhtRendezvous, networkInfoHash } from '../electron/peer/reach/dht-rendezvous.js';
import { LanDiscovery, parseLanService } from '../electron/peer/reach/lan-discovery.js';
import { PortMapper, type PortMapping } from '../electron/peer/reach/port-mapping.js';
import { DialBack, type DialBackLink } from '../electron/peer/reach/dial-back.js';
import { diagnose, formatDoctor } from '../electron/peer/reach/doctor.js';
import { PushBroker, type PushDeps } from '../electron/peer/reach/push.js';
import { createOperations } from '../electron/peer/operations.js';
import { cleanupTemp, startPeer } from './helpers/harness.js';
import { silentLogger } from '../electron/peer/logger.js';
import { parseReachFlags, REACH_DESKTOP, REACH_OFF, reachFromSaved } from '../electron/peer/reach/reach-options.js';
import { ReachService } from '../electron/peer/reach/reach-service.js';
import { decideReachability, probeTcp, ReachabilityTracker, type DialBackResult } from '../electron/peer/reach/reachability.js';

const mapping: PortMapping = {
  method: 'pmp',
  gateway: '192.168.1.1',
  externalHost: '100.200.0.1',
  externalPort: 7100,
  internalHost: '192.168.1.10',
  internalPort: 7100,
  leaseSeconds: 3600,
};
const dial = (by: string, host: string, port: number, ok: boolean, at: number): DialBackResult => ({
  by,
  host,
  port,
  ok,
  at,
  error: ok ? undefined : 'ETIMEDOUT',
});

describe('reachability verdict', () => {
  it('needs agreeing neighbours: one success is not enough by default', () => {
    expect(decideReachability([dial('n1', '100.200.0.1', 7100, true, 1)], mapping).state).toBe('unknown');
    const v = decideReachability([dial('n1', '100.200.0.1', 7100, true, 1), dial('n2', '100.200.0.1', 7100, true, 2)], mapping);
    expect(v).toMatchObject({ state: 'mapped', address: { host: '100.200.0.1', port: 7100 } });
  });

  it('open when confirmed at an address that is not the mapping', () => {
    const v = decideReachability([dial('n1', '5.6.7.8', 9000, true, 1), dial('n2', '5.6.7.8', 9000, true, 2)], mapping);
    expect(v).toMatchObject({ state: 'open', address: { host: '5.6.7.8', port: 9000 } });
  });

  it('one neighbour cannot vote twice, and its latest result replaces its older one', () => {
    expect(decideReachability([dial('n1', '5.6.7.8', 9000, true, 1), dial('n1', '5.6.7.8', 9000, true, 2)], null).state).toBe('unknown');
    const v = decideReachability(
      [dial('n1', '5.6.7.8', 9000, true, 1), dial('n2', '5.6.7.8', 9000, false, 2), dial('n1', '5.6.7.8', 9000, false, 3)],
      null,
    );
    expect(v.state).toBe('firewalled');
  });

  it('firewalled only when enough neighbours failed and none succeeded', () => {
    expect(decideReachability([dial('n1', '5.6.7.8', 9000, false, 1)], null).state).toBe('unknown');
    expect(decideReachability([dial('n1', '5.6.7.8', 9000, false, 1), dial('n2', '5.6.7.8', 9000, false, 2)], null).state).toBe(
      'firewalled',
    );
  });

  it('the tracker emits a change once per new verdict and keeps a bounded window', () => {
    const t = new ReachabilityTracker({ confirmations: 1, window: 3 });
    const seen: string[] = [];
    t.on('changed', (v) => seen.push(v.state));
    t.setMapping(mapping);
    t.add(dial('n1', '100.200.0.1', 7100, true, 1));
    t.add(dial('n2', '100.200.0.1', 7100, true, 2));
    expect(seen).toEqual(['mapped']);
    for (let i = 0; i < 3; i++) t.add(dial(`m${i}`, '100.200.0.1', 7100, false, 10 + i));
    expect(t.verdict().state).toBe('firewalled');
    expect(seen).toEqual(['mapped', 'firewalled']);
  });

  it('probeTcp: a listening loopback port answers, a closed one is refused', async () => {
    const server = net.createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    expect((await probeTcp('127.0.0.1', port, 2000)).ok).toBe(true);
    await new Promise((r) => server.close(r));
    expect(await probeTcp('127.0.0.1', port, 2000)).toMatchObject({ ok: false, error: 'ECONNREFUSED' });
  });
});

describe('LAN announcements and routes, parsed', () => {
  it('a DNS-SD record becomes a peer: ID and port from TXT, the address the packet came from', () => {
    const p = parseLanService({
      txt: { id: 'ABC', port: '7001' },
      port: 7001,
      addresses: ['10.0.0.2', '192.168.7.12'],
      referer: { address: '192.168.7.12', family: 'IPv4', port: 5353, size: 1 },
    });
    expect(p).toMatchObject({ id: 'ABC', host: '192.168.7.12', port: 7001 });
  });

  it('records that are not a MacTella peer are ignored', () => {
    expect(parseLanService({ txt: {}, port: 7001, addresses: ['10.0.0.2'] })).toBeNull();
    expect(parseLanService({ txt: { id: 'bad id with spaces' }, port: 7001, addresses: ['10.0.0.2'] })).toBeNull();
    expect(parseLanService({ txt: { id: 'ABC', port: '70000' }, port: 7001, addresses: ['10.0.0.2'] })).toBeNull();
    expect(parseLanService({ txt: { id: 'ABC' }, port: 7001, addresses: [] })).toBeNull();
  });

  it('bad options are refused before anything is sent', () => {
    expect(() => new LanDiscovery({ peerId: '', port: 7001 })).toThrow(/invalid peer ID/);
    expect(() => new LanDiscovery({ peerId: 'ABC', port: 0 })).toThrow(/invalid port/);
    expect(() => new PortMapper({ port: 70000 })).toThrow(/invalid port/);
    expect(() => new DhtRendezvous({ bootstrap: undefined as unknown as string[], announcePort: 1 })).toThrow(/explicit bootstrap/);
    expect(() => new DhtRendezvous({ bootstrap: ['nonsense'], announcePort: 1 })).toThrow(/HOST:PORT/);
  });

  it('the default gateway from /proc/net/route', () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
    ].join('\n');
    expect(parseProcNetRoute(table)).toBe('192.168.1.1');
    expect(parseProcNetRoute(table.split('\n').slice(0, 2).join('\n'))).toBeNull();
  });
});

describe('port mapping with no router answering', () => {
  it('NAT-PMP to a loopback "gateway" that does not answer: no mapping, the failure is recorded', async () => {
    const mapper = new PortMapper({ port: 7100, methods: ['pmp'], gateway: '127.0.0.1', internalHost: '127.0.0.1', timeoutMs: 500 });
    const failed: string[] = [];
    mapper.on('failed', (a) => failed.push(a.method));
    expect(await mapper.start()).toBeNull();
    expect(failed).toEqual(['pmp']);
    expect(mapper.attempts()[0]).toMatchObject({ method: 'pmp', ok: false });
    await mapper.stop();
  });
});

describe('DHT rendezvous on loopback', () => {
  const nodes: DhtRendezvous[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('the network name picks the infohash; a private name a different one', () => {
    expect(networkInfoHash('mactella')).toHaveLength(20);
    expect(networkInfoHash('mactella').equals(networkInfoHash('mactella'))).toBe(true);
    expect(networkInfoHash('mactella').equals(networkInfoHash('friends'))).toBe(false);
  });

  it('two peers find each other through a private bootstrap node, and only under their own name', async () => {
    const boot = new DhtRendezvous({ bootstrap: [], announcePort: 0, bindHost: '127.0.0.1' });
    nodes.push(boot);
    await boot.start();
    const bootstrap = [`127.0.0.1:${boot.dhtPort}`];
    const mk = (announcePort: number, networkName?: string) => {
      const n = new DhtRendezvous({ bootstrap, announcePort, networkName, bindHost: '127.0.0.1' });
      nodes.push(n);
      return n;
    };
    const [a, b, c] = [mk(7001), mk(7002), mk(7003, 'friends-only')];
    await Promise.all([a.start(), b.start(), c.start()]);
    expect(a.nodeCount()).toBeGreaterThan(0);
    await Promise.all([a.announce(), b.announce(), c.announce()]);
    const [la, lb, lc] = await Promise.all([a.lookup(), b.lookup(), c.lookup()]);
    expect(la.peers.map((p) => p.port)).toEqual(expect.arrayContaining([7001, 7002]));
    expect(lb.peers.map((p) => p.port)).toEqual(expect.arrayContaining([7001, 7002]));
    expect(la.peers.map((p) => p.port)).not.toContain(7003);
    expect(lc.peers.map((p) => p.port)).toEqual([7003]);
  }, 20_000);

  it('lookup before start is a clear error', async () => {
    const n = new DhtRendezvous({ bootstrap: [], announcePort: 0 });
    expect(() => n.lookup()).toThrow(/not running/);
  });
});

describe('reach service and doctor with every switch off', () => {
  it('starts nothing, and the doctor says how to turn each part on', async () => {
    const reach = new ReachService({ peerId: 'ABC', port: 7100, settings: REACH_OFF });
    await reach.start();
    const snap = reach.snapshot();
    expect([snap.lan, snap.mapping, snap.dht]).toEqual([null, null, null]);
    const report = diagnose(snap, { host: '127.0.0.1', port: 7100, interfaces: [] });
    const by = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    expect(by.listening).toMatchObject({ status: 'warn', advice: expect.stringMatching(/--host 0\.0\.0\.0/) });
    expect(by['LAN discovery']).toMatchObject({ status: 'off', advice: expect.stringMatching(/--lan/) });
    expect(by['port mapping']).toMatchObject({ status: 'off', advice: expect.stringMatching(/--upnp/) });
    expect(by['DHT rendezvous']).toMatchObject({ status: 'off', advice: expect.stringMatching(/--dht/) });
    expect(by.reachability!.status).toBe('warn');
    expect(formatDoctor(report).split('\n')[0]).toBe('WARN listening: 127.0.0.1:7100');
    // Relaying exists: with none in use the check says whether this peer relays for others, not that it cannot.
    expect(by.relays).toEqual({ name: 'relays', status: 'off', detail: 'none in use; relaying for others allowed' });
    const refusing = diagnose({ ...snap, settings: { ...snap.settings, relay: false } }, { host: '127.0.0.1', port: 7100, interfaces: [] });
    expect(refusing.checks.at(-1)!.detail).toBe('none in use; relaying for others refused (--no-relay)');
    await reach.stop();
  });

  it('the advertised address follows the verdict: the confirmed address, or firewalled', () => {
    const reach = new ReachService({ peerId: 'ABC', port: 7100, settings: REACH_OFF, confirmations: 1 });
    expect(reach.advertised()).toBeNull();
    reach.addDialBack(dial('n1', '5.6.7.8', 7100, false, 1));
    expect(reach.advertised()).toMatchObject({ firewalled: true });
    reach.addDialBack(dial('n2', '5.6.7.8', 7100, true, 2));
    expect(reach.advertised()).toEqual({ host: '5.6.7.8', port: 7100, firewalled: false });
  });
});

describe('reach switches', () => {
  it('flags: only those given, checked', () => {
    expect(parseReachFlags({})).toEqual({});
    expect(
      parseReachFlags({ lan: true, dht: true, 'dht-bootstrap': ['10.0.0.1:6881'], 'dht-network': 'friends', 'no-relay': true }),
    ).toEqual({
      lan: true,
      dht: true,
      dhtBootstrap: ['10.0.0.1:6881'],
      networkName: 'friends',
      relay: false,
    });
    expect(() => parseReachFlags({ 'dht-bootstrap': ['nope'] })).toThrow(/HOST:PORT/);
    expect(() => parseReachFlags({ 'dht-network': '' })).toThrow(/network name/);
  });

  it('saved settings: odd fields fall back to the defaults; the desktop defaults turn LAN, mapping and DHT on', () => {
    expect(reachFromSaved({ lan: 'yes', dhtBootstrap: ['1.2.3.4:1', 'bad', 7], networkName: '' })).toEqual({
      ...REACH_OFF,
      dhtBootstrap: ['1.2.3.4:1'],
    });
    expect(reachFromSaved(undefined, REACH_DESKTOP)).toMatchObject({ lan: true, upnp: true, dht: true, relay: true });
    expect(REACH_OFF).toMatchObject({ lan: false, upnp: false, dht: false });
  });
});

describe('dial-back (the reachability check)', () => {
  /** The narrow face of a v2 link the dial-back uses; the lab runs it over real TLS links. */
  const link = (remoteHost: string, sent: unknown[]): DialBackLink =>
    ({
      remoteHost,
      remote: { peerId: `ID-${remoteHost}` },
      isOpen: true,
      send: (m: unknown) => (sent.push(m), true),
    }) as unknown as DialBackLink;

  it('asks only neighbours beyond the local network, once per link, and counts only answers to its own requests', () => {
    const results: DialBackResult[] = [];
    const d = new DialBack({ log: silentLogger, probe: probeTcp, result: (r) => results.push(r) });
    const sent: unknown[] = [];
    expect(d.ask(link('192.168.1.20', sent), 7100)).toBe(false);
    const far = link('100.200.0.5', sent);
    expect(d.ask(far, 7100)).toBe(true);
    expect(d.ask(far, 7100)).toBe(false);
    expect(sent).toEqual([{ t: 'dial-me', port: 7100 }]);
    d.onDialed(link('100.200.0.6', []), { t: 'dialed', host: '100.200.0.1', port: 7100, ok: true });
    expect(results).toEqual([]);
    d.onDialed(far, { t: 'dialed', host: '100.200.0.1', port: 7100, ok: true });
    d.onDialed(far, { t: 'dialed', host: '100.200.0.1', port: 7100, ok: true });
    expect(results).toMatchObject([{ by: 'ID-100.200.0.5', host: '100.200.0.1', port: 7100, ok: true }]);
  });

  it('dials back only the address the request came from, answers a link once, and within a budget', async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const probed: string[] = [];
    const probe = (host: string, p: number, ms: number) => (probed.push(`${host}:${p}`), probeTcp(host, p, ms));
    const d = new DialBack({ log: silentLogger, probe, result: () => {}, perMinute: 1 });
    const sent: unknown[] = [];
    const l = link('127.0.0.1', sent);
    await d.onDialMe(l, { t: 'dial-me', port });
    await d.onDialMe(l, { t: 'dial-me', port });
    expect(sent).toEqual([{ t: 'dialed', host: '127.0.0.1', port, ok: true }]);
    await d.onDialMe(link('127.0.0.1', sent), { t: 'dial-me', port });
    expect(probed).toEqual([`127.0.0.1:${port}`]);
    await new Promise((r) => server.close(r));
  });
});

describe('PUSH bounds (the lab proves a real push end to end)', () => {
  const deps = (over: Partial<PushDeps> = {}): PushDeps => ({
    log: silentLogger,
    identity: () => {
      throw new Error('no dial expected');
    },
    hello: () => ({ t: 'hello', v: 2, peerId: 'X', port: 1, role: 'push' }),
    self: () => ({ id: 'ME', reachable: { host: '100.200.0.1', port: 7100 } }),
    route: () => true,
    serveTransfer: async () => {},
    newId: () => '0'.repeat(32),
    ...over,
  });
  const signal = new AbortController().signal;

  it('a downloader that is not reachable itself, or has no path to the source, fails at once and says why', async () => {
    await expect(
      new PushBroker(deps({ self: () => ({ id: 'ME', reachable: null }) })).request({ host: '10.0.0.2', port: 1, id: 'SRC' }, signal),
    ).rejects.toThrow(/both firewalled: a relay is needed/);
    await expect(new PushBroker(deps({ route: () => false })).request({ host: '10.0.0.2', port: 1, id: 'SRC' }, signal)).rejects.toThrow(
      /no path to ask it to push/,
    );
  });

  it('a push link nobody asked for is closed; a push to a bogon address is refused without dialling', async () => {
    let destroyed = false;
    const b = new PushBroker(deps());
    b.onPushLink({ destroy: () => (destroyed = true) } as unknown as net.Socket, undefined as never, undefined as never, 'SRC');
    expect(destroyed).toBe(true);
    await b.onPush({ t: 'push', id: '0'.repeat(32), ttl: 1, hops: 0, target: 'ME', to: { host: '224.0.0.1', port: 7100, peerId: 'P' } });
  });

  it('hits teach which peer is at an address, bounded', () => {
    const b = new PushBroker(deps());
    b.noteHit({ searchId: 's', peer: { host: '192.168.1.10', port: 9003, id: 'SRC' }, protocol: 'v2', name: 'a.mp3' });
    expect(b.idAt({ host: '192.168.1.10', port: 9003 })).toBe('SRC');
    expect(b.idAt({ host: '192.168.1.10', port: 9004 })).toBeUndefined();
  });
});

describe('the network:doctor operation', () => {
  it("answers with the running peer's report: listening on loopback, every reach switch off", async () => {
    const p = await startPeer();
    try {
      const report = await createOperations(p.peer)['network:doctor']({});
      expect(report.checks.map((c) => [c.name, c.status])).toEqual([
        ['listening', 'warn'],
        ['LAN discovery', 'off'],
        ['port mapping', 'off'],
        ['reachability', 'warn'],
        ['DHT rendezvous', 'off'],
        ['relays', 'off'],
      ]);
      await expect(createOperations(p.peer)['network:doctor']({ extra: 1 })).rejects.toThrow();
    } finally {
      await p.peer.quit({ force: true });
      cleanupTemp();
    }
  });
});
