/**
 * The peer's parts on their own: the lifecycle, the start that fails (busy
 * port), neighbour dialling with backoff and cap under a fake clock, and the
 * keyed rate limiter and connect tracker under a fake clock.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TypedEmitter } from '../electron/peer/typed-emitter.js';
import type { EventPayloads } from '../shared/contract.js';
import { HostCache } from '../electron/peer/host-cache.js';
import { Lifecycle } from '../electron/peer/lifecycle.js';
import { ConnectTracker } from '../electron/peer/listener.js';
import { silentLogger } from '../electron/peer/logger.js';
import { Neighbours } from '../electron/peer/overlay/neighbours.js';
import { KeyedRateLimiter } from '../electron/peer/seen-table.js';
import { StatsCounter } from '../electron/peer/stats.js';
import { DEFAULT_TUNING } from '../electron/peer/tuning.js';
import type { PeerSelf } from '../electron/peer/components.js';
import type { PeerIdentity } from '../electron/peer/identity/identity.js';
import { cleanupTemp, startPeer, tempDir, type TestPeer } from './helpers/harness.js';
import { testIdentity } from './helpers/v2-wire.js';

const started: TestPeer[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.peer.quit({ force: true })));
  cleanupTemp();
});

function fakeClock(t = 1_000_000) {
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** A port with nothing listening on it (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('lifecycle', () => {
  it('moves starting → running → quitting → stopped and runs the shutdown once', async () => {
    const l = new Lifecycle();
    expect(l.status).toBe('starting');
    l.running();
    expect(l.status).toBe('running');
    let closes = 0;
    let release!: () => void;
    const idle = new Promise<void>((r) => (release = r));
    const q1 = l.quit(
      false,
      () => idle,
      async () => void closes++,
    );
    expect(l.status).toBe('quitting');
    expect(l.live).toBe(false);
    const q2 = l.quit(
      true,
      () => Promise.resolve(),
      async () => void closes++,
    );
    expect(l.force).toBe(true);
    release();
    await Promise.all([q1, q2]);
    expect(l.status).toBe('stopped');
    expect(closes).toBe(1);
  });

  it('a failed start undoes and ends stopped', async () => {
    const l = new Lifecycle();
    let undone = false;
    await l.failed(async () => void (undone = true));
    expect(undone).toBe(true);
    expect(l.status).toBe('stopped');
  });
});

describe('a start that fails', () => {
  it('on a busy port rejects with code EADDRINUSE and one line, and frees what it began', async () => {
    const a = await startPeer();
    started.push(a);
    expect(a.peer.status).toBe('running');
    const err = await startPeer({ options: { port: a.port } }).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).toBe('EADDRINUSE');
    expect(err?.message).not.toContain('\n');
    expect(err?.message).toMatch(/already in use/);
    // The first peer is untouched and still serves.
    expect(a.peer.status).toBe('running');
    expect((await a.peer.listRemote(a.addr)).files).toEqual([]);
  });
});

describe('a start that fails undoes what it began', () => {
  it('closes the folder watcher and everything else it opened', async () => {
    const a = await startPeer();
    started.push(a);
    const handles = () => (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().length;
    const before = handles();
    await expect(startPeer({ options: { port: a.port, watch: true } })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(handles()).toBeLessThanOrEqual(before);
  });
});

describe('neighbours (fake clock)', () => {
  let ownId: PeerIdentity;
  beforeAll(async () => {
    ownId = await testIdentity();
  });

  function build(cap: number, clock = fakeClock()) {
    const hostCache = new HostCache(path.join(tempDir(), 'hosts.json'), []);
    const self: PeerSelf = {
      id: () => ownId.id,
      identity: () => ownId,
      port: () => 1,
      boundHost: () => '127.0.0.1',
      hello: (role) => ({ t: 'hello', v: 2, peerId: ownId.id, port: 1, role }),
      isSelf: () => false,
      markSelf: () => {},
      isLive: () => true,
    };
    const c = { hostCache, clock, log: silentLogger, stats: new StatsCounter(), events: new TypedEmitter<EventPayloads>() };
    const n = new Neighbours(c, self, DEFAULT_TUNING, () => cap, { message: () => {}, closed: () => {}, changed: () => {} });
    return { n, hostCache, clock };
  }

  it('backs off an unreachable peer, doubling, and dials again when the backoff ends', async () => {
    const { n, hostCache, clock } = build(4);
    hostCache.add({ host: '127.0.0.1', port: await closedPort() }, 'user');
    const first = n.maintain();
    expect(first).toHaveLength(1);
    await Promise.all(first);
    expect(n.maintain(), 'backing off').toHaveLength(0);
    clock.advance(999);
    expect(n.maintain()).toHaveLength(0);
    clock.advance(2);
    const again = n.maintain();
    expect(again).toHaveLength(1);
    await Promise.all(again);
    clock.advance(1500);
    expect(n.maintain(), 'the second backoff is twice as long').toHaveLength(0);
    clock.advance(600);
    expect(n.maintain()).toHaveLength(1);
  });

  it('dials no more than the cap', async () => {
    const { n, hostCache } = build(2);
    for (let i = 0; i < 5; i++) hostCache.add({ host: '127.0.0.1', port: await closedPort() }, 'user');
    const dials = n.maintain();
    expect(dials).toHaveLength(2);
    expect(n.maintain(), 'dials in flight count against the cap').toHaveLength(0);
    await Promise.all(dials);
  });
});

describe('rate tables (fake clock)', () => {
  it('KeyedRateLimiter refills with time, per key', () => {
    const clock = fakeClock();
    const r = new KeyedRateLimiter(1, 2, clock.now);
    expect([r.take('a'), r.take('a'), r.take('a')]).toEqual([true, true, false]);
    expect(r.take('b')).toBe(true);
    clock.advance(1000);
    expect([r.take('a'), r.take('a')]).toEqual([true, false]);
  });

  it('ConnectTracker bans an IP over its rate, doubling each time', () => {
    const clock = fakeClock();
    const t = new ConnectTracker({ connectsPerSecondPerIp: 1, connectBurstPerIp: 2, banBaseMs: 1000, banMaxMs: 60_000 }, clock.now);
    expect(t.attempt('1.2.3.4').verdict).toBe('ok');
    expect(t.attempt('1.2.3.4').verdict).toBe('ok');
    expect(t.attempt('1.2.3.4')).toEqual({ verdict: 'ban', ms: 1000, count: 1 });
    expect(t.attempt('1.2.3.4').verdict).toBe('banned');
    clock.advance(1001);
    expect(t.attempt('1.2.3.4').verdict).toBe('ok');
    expect(t.attempt('1.2.3.4').verdict).toBe('ok');
    expect(t.attempt('1.2.3.4')).toEqual({ verdict: 'ban', ms: 2000, count: 2 });
  });
});
