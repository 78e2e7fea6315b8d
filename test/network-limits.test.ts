import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LISTENER_LIMITS, ConnectTracker } from '../electron/peer/listener.js';
import { DEFAULT_LIMITS, V2Connection } from '../electron/peer/v2/connection.js';
import { FrameDecoder } from '../electron/peer/v2/frame.js';
import { newId, waitFor, type TestPeer } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';
import { RawNeighbour, v1Request } from './helpers/raw-neighbour.js';
import { newPeerId } from './helpers/v2-wire.js';

const { start } = cleanupAfterEach();
const raws: RawNeighbour[] = [];
async function raw(p: TestPeer, port?: number): Promise<RawNeighbour> {
  const r = await RawNeighbour.connect(p.addr, { port });
  raws.push(r);
  return r;
}
afterEach(() => {
  for (const r of raws.splice(0)) r.close();
});

const drops = (p: TestPeer) => p.peer.statsSnapshot().drops;
const neighbourCount = (p: TestPeer) => p.peer.peers().neighbours.length;

describe('duplicate offenders', () => {
  it('disconnects a neighbour past 5 duplicates and 1.5% of its messages, with the reason in STATS', async () => {
    const a = await start();
    const x = await raw(a);
    await waitFor('the raw neighbour to be accepted', () => neighbourCount(a) === 1);
    const ids = Array.from({ length: 20 }, newId);
    for (const id of ids) x.send({ t: 'query', id, ttl: 2, hops: 0, q: 'nothing-matches' });
    for (let i = 0; i < 10; i++) x.send({ t: 'query', id: ids[i]!, ttl: 2, hops: 0, q: 'nothing-matches' });
    await waitFor('the offender to be disconnected', () => x.closed);
    const bye = x.of('bye')[0];
    expect(bye?.reason).toMatch(/too many duplicates/);
    expect(a.peer.statsSnapshot().duplicatesDropped).toBeGreaterThanOrEqual(6);
    expect(drops(a)['neighbour closed: too many duplicates']).toBe(1);
    expect(a.logs.some((l) => /left: too many duplicates/.test(l))).toBe(true);
  });

  it('keeps a neighbour whose few duplicates stay under 1.5% of its traffic', async () => {
    const a = await start();
    const x = await raw(a);
    await waitFor('the raw neighbour to be accepted', () => neighbourCount(a) === 1);
    const ids = Array.from({ length: 600 }, newId);
    for (const id of ids) x.send({ t: 'ping', id, ttl: 1, hops: 0 });
    for (let i = 0; i < 8; i++) x.send({ t: 'ping', id: ids[i]!, ttl: 1, hops: 0 });
    await waitFor('the duplicates to be counted', () => a.peer.statsSnapshot().duplicatesDropped === 8);
    expect(x.closed).toBe(false);
    expect(neighbourCount(a)).toBe(1);
  });
});

describe('TTL rules', () => {
  it('trims TTL to the cap, drops hops+ttl over the limit and TTL 0, and does not relay TTL 1, with named drop reasons', async () => {
    const a = await start({ files: { 'song.mp3': 'la la' } });
    const x = await raw(a, 1111);
    const y = await raw(a, 2222);
    await waitFor('two raw neighbours', () => neighbourCount(a) === 2);
    const big = newId();
    const forged = newId();
    const zero = newId();
    const one = newId();
    x.send({ t: 'query', id: big, ttl: 200, hops: 0, q: 'song' });
    x.send({ t: 'query', id: forged, ttl: 7, hops: 5, q: 'song' });
    x.send({ t: 'query', id: zero, ttl: 0, hops: 1, q: 'song' });
    x.send({ t: 'query', id: one, ttl: 1, hops: 2, q: 'song' });
    await waitFor('a hit for the TTL-1 query', () => x.of('hit').some((h) => h.id === one));
    await waitFor('the forwarded query', () => y.of('query').length >= 1);
    const fwd = y.of('query');
    expect(fwd.map((q) => q.id)).toEqual([big]);
    expect(fwd[0]).toMatchObject({ ttl: 6, hops: 1 });
    // Hits: the trimmed query and the TTL-1 query are answered; the forged and the TTL-0 ones are not.
    expect(new Set(x.of('hit').map((h) => h.id))).toEqual(new Set([big, one]));
    const d = drops(a);
    expect(d['hops+ttl over limit']).toBe(1);
    expect(d['ttl 0']).toBe(1);
  });

  it('drops a reply with no route and a message type that has no business on a neighbour link', async () => {
    const a = await start();
    const x = await raw(a);
    await waitFor('the raw neighbour', () => neighbourCount(a) === 1);
    x.send({ t: 'pong', id: newId(), hops: 0, peer: { host: '127.0.0.1', port: 9, peerId: newPeerId() }, files: 1, bytes: 1 });
    x.send({ t: 'list' });
    await waitFor('both drops counted', () => drops(a)['reply without route'] === 1 && drops(a)['unexpected list'] === 1);
  });
});

describe('v1 connect-backs', () => {
  it('never connects back to bogon addresses or to our own port, and says so in STATS', async () => {
    const a = await start();
    const port = a.addr.port;
    const targets = ['224.0.0.1', '0.0.0.0', '255.255.255.255', '239.255.255.250', '169.254.1.1', '240.0.0.1'];
    for (const t of targets) await v1Request(a.addr, `DISCOVER,3,${t},5000`);
    await v1Request(a.addr, `DISCOVER,3,127.0.0.1,${port}`);
    await v1Request(a.addr, `DISCOVER,3,localhost,${port}`);
    await waitFor('the bogon drops', () => (drops(a)['connect-back to bogon address'] ?? 0) === targets.length);
    await waitFor('the self drop', () => (drops(a)['connect-back to self'] ?? 0) === 1);
    // localhost names the same target: the seed's flood rules make it a duplicate.
    expect(a.peer.statsSnapshot().duplicatesDropped).toBe(1);
    // The refusal happens before any connect: none was counted as a connect-back.
    expect(a.peer.statsSnapshot().connectBacks).toBe(0);
  });

  it('rate-limits connect-backs per target, and counts each one', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `file${i}.mp3`);
    const a = await start({ files: Object.fromEntries(names.map((n) => [n, n])), tuning: { connectBackRate: [0.01, 3] } });
    const got: string[] = [];
    const victim = net.createServer((s) => {
      s.on('data', (c) => got.push(c.toString()));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => victim.listen(0, '127.0.0.1', () => r()));
    const vport = (victim.address() as net.AddressInfo).port;
    try {
      for (const n of names) await v1Request(a.addr, `SEARCH,${n},2,127.0.0.1,${vport}`);
      await v1Request(a.addr, `DISCOVER,2,127.0.0.1,${vport}`);
      await waitFor('the rate-limit drops', () => (drops(a)['connect-back rate limit'] ?? 0) === 8);
      await waitFor('three connect-backs at the victim', () => got.length === 3);
      expect(a.peer.statsSnapshot().connectBacks).toBe(3);
      expect(got.every((g) => g.startsWith('SEAR_Result,127.0.0.1,'))).toBe(true);
      // A repeat of the very same message is a duplicate, not a new connect-back.
      await v1Request(a.addr, `SEARCH,${names[0]},2,127.0.0.1,${vport}`);
      await waitFor('the v1 duplicate', () => a.peer.statsSnapshot().duplicatesDropped === 1);
    } finally {
      victim.close();
    }
  });

  it('caps a v1 TTL and drops TTL 0 or below with a named reason', async () => {
    const a = await start();
    await v1Request(a.addr, 'DISCOVER,0,127.0.0.1,1');
    await v1Request(a.addr, 'DISCOVER,-4,127.0.0.2,1');
    await waitFor('two ttl-0 drops', () => drops(a)['ttl 0'] === 2);
    expect(a.peer.statsSnapshot().connectBacks).toBe(0);
  });
});

describe('connection limits and bans', () => {
  it('bans an IP that reconnects too often, for longer at each repeat, with a log line and STATS reasons', async () => {
    const a = await start({
      files: { 'x.mp3': 'x' },
      tuning: {
        listener: { ...DEFAULT_LISTENER_LIMITS, connectsPerSecondPerIp: 0.001, connectBurstPerIp: 5, banBaseMs: 400, banMaxMs: 10_000 },
      },
    });
    const listr = async () => (await v1Request(a.addr, 'LISTR')).toString();
    for (let i = 0; i < 5; i++) expect(await listr()).toMatch(/music\t x\.mp3/);
    expect(await listr()).toBe(''); // over the burst: banned
    expect(await listr()).toBe(''); // while banned
    let d = drops(a);
    expect(d['reconnecting too often']).toBe(1);
    expect(d['banned IP']).toBe(1);
    expect(a.logs.some((l) => /banned 127\.0\.0\.1 for 0s: .* ban #1/.test(l))).toBe(true);
    // The ban ends (attempts while banned take nothing from the refilled bucket); the next storm earns a ban twice as long.
    await waitFor('the ban to end', async () => /x\.mp3/.test(await listr()));
    for (let i = 0; i < 4; i++) expect(await listr()).toMatch(/x\.mp3/);
    expect(await listr()).toBe('');
    d = drops(a);
    expect(d['reconnecting too often']).toBe(2);
    expect(a.logs.some((l) => /banned 127\.0\.0\.1 for 1s: .* ban #2/.test(l))).toBe(true);
    expect(await listr()).toBe(''); // and the second ban holds
  });

  it('ConnectTracker: the ban doubles with each repeat, up to the max, and is per IP', () => {
    let now = 0;
    const t = new ConnectTracker({ connectsPerSecondPerIp: 1, connectBurstPerIp: 2, banBaseMs: 1000, banMaxMs: 4000 }, () => now);
    const lengths: number[] = [];
    for (let round = 0; round < 4; round++) {
      let v = t.attempt('1.1.1.1');
      while (v.verdict === 'ok') v = t.attempt('1.1.1.1');
      expect(v.verdict).toBe('ban');
      if (v.verdict === 'ban') lengths.push(v.ms);
      expect(t.attempt('1.1.1.1').verdict).toBe('banned');
      expect(t.attempt('2.2.2.2').verdict).toBe('ok');
      now += v.verdict === 'ban' ? v.ms + 1 : 0;
    }
    expect(lengths).toEqual([1000, 2000, 4000, 4000]);
  });

  it('lets several honest peers behind one address be neighbours at once (NAT)', async () => {
    const a = await start();
    const many = await Promise.all(Array.from({ length: 12 }, (_, i) => raw(a, 3000 + i)));
    await waitFor('twelve neighbours from 127.0.0.1', () => neighbourCount(a) === 12);
    expect(many.every((m) => !m.closed)).toBe(true);
    expect(drops(a)['per-IP neighbour limit']).toBeUndefined();
  });

  it('refuses neighbours past the per-IP inbound cap with a named reason', async () => {
    const a = await start({ tuning: { maxInboundNeighboursPerIp: 3 } });
    const many = await Promise.all(Array.from({ length: 5 }, (_, i) => raw(a, 4000 + i)));
    await waitFor('two refused', () => many.filter((m) => m.closed).length === 2);
    expect(neighbourCount(a)).toBe(3);
    expect(drops(a)['per-IP neighbour limit']).toBe(2);
  });

  it('refuses connections past the per-IP connection cap', async () => {
    const a = await start({ tuning: { listener: { ...DEFAULT_LISTENER_LIMITS, maxConnectionsPerIp: 4 } } });
    const socks = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<net.Socket>((r) => {
            const s = net.connect(a.addr.port, '127.0.0.1', () => r(s));
            s.on('error', () => {});
          }),
      ),
    );
    await waitFor('two refused connections', () => drops(a)['per-IP connection limit'] === 2);
    for (const s of socks) s.destroy();
  });
});

describe('per-neighbour send queue', () => {
  it('sheds queries before hits and hits before control, then drops a neighbour congested too long', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect(port, '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const remote = await accepted;
    remote.pause(); // the neighbour stops reading
    const hello = { t: 'hello' as const, v: 2, peerId: newId(), port: 1, role: 'neighbour' as const };
    const conn = new V2Connection(client, new FrameDecoder(), hello, 'out', {
      ...DEFAULT_LIMITS,
      congestionBytes: 64 * 1024,
      maxCongestedMs: 300,
      keepaliveMs: 100_000,
      idleTimeoutMs: 100_000,
    });
    const dropped: string[] = [];
    conn.events.on('dropped', (d) => dropped.push(`${d.type}: ${d.reason}`));
    const closed = new Promise<string>((r) => conn.events.once('close', (c) => r(c.reason)));
    const q = (i: number) => ({ t: 'query' as const, id: newId(), ttl: 3, hops: 0, q: `${'x'.repeat(200)} ${i}` });
    const hit = () => ({
      t: 'hit' as const,
      id: newId(),
      hops: 0,
      peer: { host: '127.0.0.1', port: 1, peerId: newPeerId() },
      files: [{ name: 'y'.repeat(300), size: 1, type: 'music' as const, sha256: 'a'.repeat(64) }],
    });
    let i = 0;
    while (conn.send(q(i)) && i < 1_000_000) i++;
    expect(dropped.at(-1)).toBe('query: congested: query shed');
    expect(conn.queuedBytes).toBeGreaterThan(64 * 1024);
    expect(conn.send(hit())).toBe(true); // hits still go
    while (conn.send(hit())) i++;
    expect(dropped.at(-1)).toBe('hit: congested: hit shed');
    expect(conn.queuedBytes).toBeGreaterThan(128 * 1024);
    expect(conn.send({ t: 'ka' })).toBe(true); // control still goes
    expect(conn.send(q(0))).toBe(false);
    expect(await closed).toBe('congested for too long');
    client.destroy();
    remote.destroy();
    server.close();
  });

  it('a peer drops a neighbour that never reads, and counts it', async () => {
    const a = await start({
      tuning: {
        connection: { ...DEFAULT_LIMITS, congestionBytes: 16 * 1024, maxCongestedMs: 300, maxMessagesPerSecond: 1e6, messageBurst: 1e6 },
      },
    });
    const x = await raw(a, 1);
    const y = await raw(a, 2);
    await waitFor('two raw neighbours', () => neighbourCount(a) === 2);
    y.socket.pause();
    // x floods distinct queries; a relays each to y, which never reads.
    const pad = 'z'.repeat(250);
    let sent = 0;
    const pump = setInterval(() => {
      for (let k = 0; k < 150; k++, sent++) x.send({ t: 'query', id: newId(), ttl: 3, hops: 0, q: `${pad} ${sent}` });
    }, 5);
    try {
      await waitFor('the congested neighbour to be dropped', () => neighbourCount(a) === 1, 20_000);
      expect(y.closed || a.peer.peers().neighbours.every((n) => n.port !== 2)).toBe(true);
    } finally {
      clearInterval(pump);
    }
    const d = drops(a);
    expect(d['congested: query shed (query)']).toBeGreaterThan(0);
    expect((d['neighbour closed: congested for too long'] ?? 0) + (d['neighbour closed: send queue full'] ?? 0)).toBe(1);
  });
});
