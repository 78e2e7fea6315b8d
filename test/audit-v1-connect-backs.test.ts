/**
 * Audit finding 2: v1 connect-backs went anywhere. Numeric host forms that
 * resolve to loopback or link-local passed the bogon filter, and 30 DISCOVERs
 * naming 30 local ports made the peer connect to all of them.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { connectBackAllowed } from '../electron/peer/address.js';
import { parseV1 } from '../electron/peer/v1/codec.js';
import { startPeer, waitFor } from './helpers/harness.js';
import { v1Request } from './helpers/raw-neighbour.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const { peers, servers } = cleanupAfterEach();

/** A server on 127.0.0.x that counts the connections it gets. */
async function victim(host = '127.0.0.1'): Promise<{ port: number; hits: () => number }> {
  let n = 0;
  const s = net.createServer((c) => {
    n++;
    c.on('error', () => {});
    c.resume();
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, host, r));
  return { port: (s.address() as net.AddressInfo).port, hits: () => n };
}

describe('audit #2: v1 connect-backs', () => {
  it('refuses numeric host forms that are not literal IPs (2130706433, 0x7f000001, 127.1, 0, 169.254.43518)', () => {
    for (const h of ['2130706433', '0x7f000001', '127.1', '0', '169.254.43518', 'peer.example']) {
      expect(() => parseV1(`DISCOVER,3,${h},5000`), h).toThrow(/bad origin address/);
      expect(() => parseV1(`DISCOV_Result,${h},5000`), h).toThrow(/bad result address/);
    }
    // Literal addresses and the seed's own "localhost" still parse.
    for (const h of ['127.0.0.1', '10.1.2.3', '::1', 'localhost']) expect(parseV1(`DISCOVER,3,${h},5000`)).toMatchObject({ originHost: h });
  });

  it('never connects back to a numeric-form loopback target', async () => {
    const a = await startPeer();
    peers.push(a);
    const v = await victim();
    for (const h of ['2130706433', '0x7f000001', '127.1', '0']) await v1Request(a.addr, `DISCOVER,3,${h},${v.port}`);
    await waitFor('the four refusals', () => (a.peer.statsSnapshot().drops['v1 malformed'] ?? 0) >= 4);
    // A connect-back that was sent would have arrived by the time a control connect-back does.
    const c = await victim();
    await v1Request(a.addr, `DISCOVER,3,127.0.0.1,${c.port}`);
    await waitFor('the control connect-back', () => c.hits() === 1);
    expect(v.hits()).toBe(0);
  });

  it('30 DISCOVERs naming 30 ports of one host connect back a bounded few times (per target host and per requester)', async () => {
    const a = await startPeer();
    peers.push(a);
    const vs = await Promise.all(Array.from({ length: 30 }, () => victim()));
    for (const v of vs) await v1Request(a.addr, `DISCOVER,3,127.0.0.1,${v.port}`);
    await waitFor('the rate-limit drops', () => (a.peer.statsSnapshot().drops['connect-back rate limit'] ?? 0) >= 20);
    const sent = a.peer.statsSnapshot().connectBacks;
    await waitFor('the connect-backs that were sent', () => vs.reduce((n, v) => n + v.hits(), 0) === sent);
    expect(sent).toBeLessThanOrEqual(10);
  });

  it('rate-limits per requester across different target hosts', async () => {
    const a = await startPeer({ tuning: { connectBackRate: [100, 100], connectBackPerRequester: [0.01, 3] } });
    peers.push(a);
    const vs = await Promise.all([2, 3, 4, 5, 6, 7].map((i) => victim(`127.0.0.${i}`)));
    for (const [i, v] of vs.entries()) await v1Request(a.addr, `DISCOVER,3,127.0.0.${i + 2},${v.port}`);
    await waitFor('the rate-limit drops', () => (a.peer.statsSnapshot().drops['connect-back rate limit'] ?? 0) === 3);
    await waitFor('three connect-backs', () => vs.reduce((n, v) => n + v.hits(), 0) === 3);
    expect(a.peer.statsSnapshot().connectBacks).toBe(3);
  });

  it('allows a loopback or private target only to a requester on that network', () => {
    expect(connectBackAllowed('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(connectBackAllowed('::1', '127.0.0.5')).toBe(true);
    expect(connectBackAllowed('203.0.113.9', '127.0.0.1')).toBe(false);
    expect(connectBackAllowed('203.0.113.9', '::1')).toBe(false);
    expect(connectBackAllowed('203.0.113.9', '192.168.1.10')).toBe(false);
    expect(connectBackAllowed('192.168.1.7', '192.168.1.10')).toBe(true);
    expect(connectBackAllowed('10.0.0.7', '192.168.1.10')).toBe(false);
    expect(connectBackAllowed('10.0.0.7', '10.200.0.1')).toBe(true);
    expect(connectBackAllowed('203.0.113.9', 'fd00::1')).toBe(false);
    expect(connectBackAllowed('fd00::7', 'fd00::1')).toBe(true);
    expect(connectBackAllowed('::ffff:10.0.0.7', '10.0.0.1')).toBe(true);
    // Public targets are fine from anywhere; bogons never.
    expect(connectBackAllowed('10.0.0.7', '198.51.100.1')).toBe(true);
    expect(connectBackAllowed('127.0.0.1', '169.254.169.254')).toBe(false);
    expect(connectBackAllowed('127.0.0.1', '0.0.0.0')).toBe(false);
  });
});
