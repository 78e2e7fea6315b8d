import type tls from 'node:tls';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { DEFAULT_LISTENER_LIMITS } from '../electron/peer/listener.js';
import { parseV1 } from '../electron/peer/v1/codec.js';
import { DEFAULT_LIMITS } from '../electron/peer/v2/connection.js';
import { MAGIC, PROTOCOL_VERSION } from '../electron/peer/v2/messages.js';
import { cleanupTemp, mb, pool, startPeer, waitFor } from './helpers/harness.js';
import { v1Request } from './helpers/raw-neighbour.js';
import { peerIdFromSpki } from '../electron/peer/identity/peer-id.js';
import { secureDial } from '../electron/peer/identity/tls-link.js';
import { testIdentity } from './helpers/v2-wire.js';

afterAll(() => cleanupTemp());

const SEED = 20250101;
const V2_CONNECTIONS = 240;
const FRAMES_PER_V2 = 30;
const V1_MESSAGES = 3200;

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const small = fc.integer({ min: -3, max: 300 });
const anyField = fc.oneof(fc.string({ maxLength: 20 }), small, fc.constant(null), fc.boolean(), hex(32), hex(64));
const types = [
  'hello',
  'ka',
  'bye',
  'query',
  'hit',
  'ping',
  'pong',
  'list',
  'list-result',
  'get',
  'get-ok',
  'queued',
  'pieces',
  'error',
  'zzz',
];

/** A frame-shaped object, often almost valid: right type, plausible fields, some wrong. */
const v2Object = fc.record(
  {
    t: fc.constantFrom(...types),
    id: fc.oneof(hex(32), anyField),
    ttl: small,
    hops: small,
    q: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), anyField),
    peer: fc.oneof(
      fc.record({
        host: fc.constant('127.0.0.1'),
        port: fc.integer({ min: 1, max: 65535 }),
        peerId: fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => peerIdFromSpki(b)),
      }),
      anyField,
    ),
    files: fc.oneof(
      fc.array(fc.record({ name: fc.string(), size: small, type: fc.constantFrom('music', 'video', 'x'), sha256: hex(64) }), {
        maxLength: 3,
      }),
      small,
    ),
    bytes: small,
    reason: fc.string({ maxLength: 30 }),
    name: fc.oneof(fc.constantFrom('../../etc/passwd', 'song.mp3', '/etc/passwd'), fc.string()),
    offset: small,
    sha256: hex(64),
  },
  { requiredKeys: ['t'] },
);

/** Bytes of one fuzzed v2 frame: valid, mutated, mis-sized or plain random. */
const v2Frame: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: v2Object.map((o) => frameOf(Buffer.from(JSON.stringify(o)))) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(v2Object, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
      .map(([o, flips]) => {
        const b = frameOf(Buffer.from(JSON.stringify(o)));
        for (const [at, byte] of flips) b[4 + (at % Math.max(1, b.length - 4))] = byte;
        return b;
      }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((n) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    }),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => frameOf(Buffer.from(s))) },
);

function frameOf(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** Only loopback may ever be named: a fuzzed v1 message must not aim our peer at a real address. */
function safeV1(text: string): boolean {
  try {
    const m = parseV1(text);
    const host = 'originHost' in m ? m.originHost : 'host' in m ? m.host : '127.0.0.1';
    return /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return true; // refused by the parser: nothing is ever dialled
  }
}

const v1Base = fc.oneof(
  fc.constant('LISTR'),
  fc.string({ maxLength: 30 }).map((n) => `GET,${n},127.0.0.1,1`),
  fc.tuple(fc.string({ maxLength: 30 }), small).map(([n, t]) => `SEARCH,${n},${t},127.0.0.1,1`),
  small.map((t) => `DISCOVER,${t},127.0.0.1,1`),
  fc.constantFrom('SEAR_Result,127.0.0.1,1', 'DISCOV_Result,127.0.0.1,1', 'GET,../../etc/passwd,127.0.0.1,1', 'GET,song.mp3,127.0.0.1,1'),
);
const v1Text: fc.Arbitrary<Buffer> = fc
  .oneof(
    { weight: 3, arbitrary: v1Base },
    {
      weight: 4,
      arbitrary: fc.tuple(v1Base, fc.nat(), fc.string({ maxLength: 6, unit: 'binary' })).map(([s, at, ins]) => {
        const i = at % (s.length + 1);
        return s.slice(0, i) + ins + s.slice(i + 1);
      }),
    },
    { weight: 2, arbitrary: fc.string({ maxLength: 120, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.string({ minLength: 4000, maxLength: 6000 }).map((s) => `SEARCH,${s},3,127.0.0.1,1`) },
  )
  .filter(
    (s) =>
      s.length > 0 && safeV1(s) && !MAGIC.subarray(0, Math.min(s.length, MAGIC.length)).equals(Buffer.from(s).subarray(0, MAGIC.length)),
  )
  .map((s) => Buffer.from(s));

/** TLS (v2 runs inside it), handshake as a (random) role, then write the fuzzed frames; resolves when the peer closes or all is sent. */
async function v2Session(port: number, role: string, frames: Buffer[]): Promise<void> {
  const identity = await testIdentity();
  let s: tls.TLSSocket;
  try {
    ({ socket: s } = await secureDial('127.0.0.1', port, identity, { timeoutMs: 3000 }));
  } catch {
    return; // refused (e.g. a rate limit): as good as closed
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => s.destroy(), 3000);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    const hello = { t: 'hello', v: PROTOCOL_VERSION, peerId: identity.id, port: 1, role };
    s.write(Buffer.concat([MAGIC, frameOf(Buffer.from(JSON.stringify(hello)))]));
    let i = 0;
    const step = () => {
      if (s.destroyed) return;
      if (i >= frames.length) {
        s.end();
        return;
      }
      s.write(frames[i++]!);
      setImmediate(step);
    };
    step();
  });
}

it('survives 10,000+ fuzzed v1 and v2 frames over many connections, then still answers LISTR, list and search, with memory back within bounds', async () => {
  const song = Buffer.alloc(32 * 1024, 7);
  const a = await startPeer({
    files: { 'song.mp3': song, 'clip.mov': 'moving picture' },
    tuning: {
      listener: { ...DEFAULT_LISTENER_LIMITS, connectsPerSecondPerIp: 1e6, connectBurstPerIp: 1e6, firstByteTimeoutMs: 2000 },
      connection: { ...DEFAULT_LIMITS, maxMessagesPerSecond: 1e5, messageBurst: 1e5 },
      maxInboundNeighbours: 64,
      maxInboundNeighboursPerIp: 64,
    },
  });
  const before = process.memoryUsage();
  const v2Frames = fc.sample(v2Frame, { seed: SEED, numRuns: V2_CONNECTIONS * FRAMES_PER_V2 });
  const roles = fc.sample(fc.constantFrom('neighbour', 'neighbour', 'query', 'transfer', 'bogus'), { seed: SEED, numRuns: V2_CONNECTIONS });
  const v1Messages = fc.sample(v1Text, { seed: SEED + 1, numRuns: V1_MESSAGES });
  let sent = 0;
  let peakRss = before.rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const sessions: (() => Promise<unknown>)[] = [];
  for (let c = 0; c < V2_CONNECTIONS; c++) {
    const frames = v2Frames.slice(c * FRAMES_PER_V2, (c + 1) * FRAMES_PER_V2);
    sessions.push(() => v2Session(a.addr.port, roles[c]!, frames).then(() => (sent += frames.length)));
  }
  for (const m of v1Messages) sessions.push(() => v1Request(a.addr, m, 3000).then(() => sent++));
  // Interleave v1 and v2 sessions, 48 at a time.
  const order = fc.sample(fc.shuffledSubarray(sessions, { minLength: sessions.length }), { seed: SEED, numRuns: 1 })[0]!;
  await pool(order, 48, (run) => run());
  clearInterval(sampler);
  expect(sent).toBeGreaterThanOrEqual(10_000);

  // Still alive, and still right.
  const listing = (await v1Request(a.addr, 'LISTR')).toString();
  expect(listing).toContain('music\t song.mp3\t size: 32768');
  expect(listing).toContain('video\t clip.mov\t size: 14');
  const b = await startPeer({ bootstrap: [a.addr] });
  try {
    const remote = await b.peer.listRemote(a.addr);
    expect(remote.protocol).toBe('v2');
    expect(remote.files.map((f) => f.name).sort()).toEqual(['clip.mov', 'song.mp3']);
    await waitFor('b to become a neighbour of a', () => b.peer.peers().neighbours.some((n) => n.port === a.addr.port));
    const hits: string[] = [];
    b.peer.events.on('search:hit', (h) => hits.push(h.name));
    b.peer.search('song', 2);
    await waitFor('a search hit from the fuzzed peer', () => hits.includes('song.mp3'));
  } finally {
    await b.peer.quit({ force: true });
  }
  await waitFor('every fuzz connection to be closed', () => a.peer.peers().neighbours.length === 0, 10_000);

  (globalThis as { gc?: () => void }).gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const after = process.memoryUsage();
  const s = a.peer.statsSnapshot();
  console.log(
    `fuzz: ${sent} frames (${V2_CONNECTIONS * FRAMES_PER_V2} v2 on ${V2_CONNECTIONS} connections, ${V1_MESSAGES} v1); ` +
      `rss ${mb(before.rss)} -> peak ${mb(peakRss)} -> ${mb(after.rss)}; heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}; ` +
      `drops ${JSON.stringify(s.drops)}`,
  );
  expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
  expect(after.rss).toBeLessThan(before.rss + 256 * 1024 * 1024);
  await a.peer.quit({ force: true });
}, 90_000);
