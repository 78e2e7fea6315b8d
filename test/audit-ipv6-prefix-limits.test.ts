/**
 * Audit finding 5 (the listener's half): per-IP limits counted each IPv6
 * address on its own, so one host with a /64 (2^64 addresses) was unlimited.
 * Limits and bans now key IPv6 by its /64 prefix.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { describe, expect, it } from 'vitest';
import { limitKey } from '../electron/peer/address.js';
import { DEFAULT_LISTENER_LIMITS, Listener } from '../electron/peer/listener.js';
import { silentLogger } from '../electron/peer/logger.js';
import { newPeerId } from './helpers/v2-wire.js';

/** A socket as the server hands it over, from a given remote address (never connected anywhere). */
function fakeSocket(remoteAddress: string): net.Socket & { destroyed: boolean } {
  const s = new EventEmitter() as unknown as net.Socket & { destroyed: boolean };
  Object.assign(s, {
    remoteAddress,
    destroyed: false,
    destroy() {
      s.destroyed = true;
      return s;
    },
    pause: () => s,
    resume: () => s,
  });
  return s;
}

describe('audit #5: IPv6 limits per /64', () => {
  it('keys an IPv6 address by its /64, IPv4 (and mapped IPv4) by the address', () => {
    expect(limitKey('2001:db8:1:2::1')).toBe(limitKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(limitKey('2001:db8:1:2::1')).not.toBe(limitKey('2001:db8:1:3::1'));
    expect(limitKey('2001:0db8:0001:0002:0:0:0:9')).toBe(limitKey('2001:db8:1:2::9'));
    expect(limitKey('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(limitKey('10.0.0.1')).not.toBe(limitKey('10.0.0.2'));
  });

  it('the per-IP connection limit holds across addresses of one /64', () => {
    const drops: string[] = [];
    const l = new Listener(
      { v1: () => {}, tls: () => {}, drop: (r) => drops.push(r) },
      { ...DEFAULT_LISTENER_LIMITS, maxConnectionsPerIp: 3 },
      silentLogger,
    );
    const server = (l as unknown as { server: net.Server }).server;
    const socks = Array.from({ length: 5 }, (_, i) => fakeSocket(`2001:db8:aa:bb::${i + 1}`));
    for (const s of socks) server.emit('connection', s);
    expect(socks.map((s) => s.destroyed)).toEqual([false, false, false, true, true]);
    expect(drops).toEqual(['per-IP connection limit', 'per-IP connection limit']);
    // Another /64 has its own allowance.
    const other = fakeSocket('2001:db8:aa:cc::1');
    server.emit('connection', other);
    expect(other.destroyed).toBe(false);
    for (const s of [...socks, other]) s.emit('close');
    void l.close();
  });

  it('a ban earned from one address of a /64 covers the others', () => {
    const limits = { ...DEFAULT_LISTENER_LIMITS, connectsPerSecondPerIp: 0.001, connectBurstPerIp: 2 };
    const l = new Listener({ v1: () => {}, tls: () => {}, drop: () => {} }, limits, silentLogger);
    const server = (l as unknown as { server: net.Server }).server;
    const socks = Array.from({ length: 4 }, (_, i) => fakeSocket(`2001:db8:ee:ff::${i + 1}`));
    for (const s of socks) server.emit('connection', s);
    expect(l.connects.banned().length).toBe(1);
    expect(socks.map((s) => s.destroyed).slice(2)).toEqual([true, true]);
    for (const s of socks) s.emit('close');
    void l.close();
  });
});

describe('suspected: rate tables evicting bans under churn', () => {
  it('a full table evicts unbanned records first, so churn cannot wash out a ban', async () => {
    const { ConnectTracker } = await import('../electron/peer/listener.js');
    let t = 1000;
    const tracker = new ConnectTracker(
      { connectsPerSecondPerIp: 0.001, connectBurstPerIp: 1, banBaseMs: 60_000, banMaxMs: 60_000 },
      () => t,
      4,
    );
    tracker.attempt('10.0.0.1');
    expect(tracker.attempt('10.0.0.1').verdict).toBe('ban');
    for (let i = 0; i < 50; i++) tracker.attempt(`2001:db8:${i}::1`);
    t += 1000;
    expect(tracker.attempt('10.0.0.1').verdict).toBe('banned');
  });
});

describe('audit #5: inbound neighbours per /64', () => {
  it('the per-IP inbound neighbour cap holds across addresses of one /64', async () => {
    const { Neighbours } = await import('../electron/peer/overlay/neighbours.js');
    const { HostCache } = await import('../electron/peer/host-cache.js');
    const { StatsCounter } = await import('../electron/peer/stats.js');
    const { TypedEmitter } = await import('../electron/peer/typed-emitter.js');
    const { DEFAULT_TUNING } = await import('../electron/peer/tuning.js');
    const { FrameDecoder } = await import('../electron/peer/v2/frame.js');
    const self = {
      id: () => 'a'.repeat(32),
      identity: () => {
        throw new Error('no dials in this test');
      },
      port: () => 1,
      boundHost: () => '::1',
      hello: (role: 'neighbour' | 'transfer' | 'query') => ({ t: 'hello' as const, v: 2, peerId: 'a'.repeat(32), port: 1, role }),
      isSelf: () => false,
      markSelf: () => {},
      isLive: () => true,
    };
    const stats = new StatsCounter();
    const c = {
      hostCache: new HostCache('/nonexistent/hosts.json', []),
      clock: { now: () => 0 },
      log: silentLogger,
      stats,
      events: new TypedEmitter(),
    };
    const n = new Neighbours(c as never, self, { ...DEFAULT_TUNING, maxInboundNeighboursPerIp: 2 }, () => 8, {
      message: () => {},
      closed: () => {},
      changed: () => {},
    });
    const socks = [1, 2, 3].map((i) =>
      Object.assign(fakeSocket(`2001:db8:aa:bb::${i}`), {
        setNoDelay() {},
        setKeepAlive() {},
        writableLength: 0,
        write: () => true,
        end() {},
      }),
    );
    socks.forEach((s, i) => n.accept(s, new FrameDecoder(), { t: 'hello', v: 2, peerId: newPeerId(), port: 1000 + i, role: 'neighbour' }));
    expect(n.size).toBe(2);
    expect(stats.snapshot({ neighbours: 0, knownPeers: 0 }).drops['per-IP neighbour limit']).toBe(1);
    n.closeAll('test over');
  });
});
