import { EventEmitter } from 'node:events';
import type net from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readV1Message } from '../electron/peer/v1/inbound.js';
import { encodeV1, parseV1, parseV1Listing, formatV1Listing, V1ProtocolError, type V1Message } from '../electron/peer/v1/codec.js';
import { encodeFrame, FrameDecoder } from '../electron/peer/v2/frame.js';
import { toV2Message, V2ProtocolError, type V2Message } from '../electron/peer/v2/messages.js';
import { isSafeNetworkName, MEDIA_TYPES } from '../shared/types.js';
import { peerIdFromSpki } from '../electron/peer/identity/peer-id.js';

const RUNS = { numRuns: 1000 };

// ---------------------------------------------------------------- arbitraries

const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const id = hex(32);
/** Peer IDs: the SHA-256 of any key material, in the checked base32 form. */
const peerIdArb = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => peerIdFromSpki(b));
const sha = hex(64);
const u8 = fc.integer({ min: 0, max: 255 });
const count = fc.maxSafeNat();
const port = fc.integer({ min: 1, max: 65535 });
const text = (min: number, max: number) => fc.string({ minLength: min, maxLength: max, unit: 'grapheme' }).filter((s) => s.length <= max);
const mediaType = fc.constantFrom(...MEDIA_TYPES);
// Hosts in hits and pongs are literal addresses; names from the network hold no controls or commas (audit #6).
const literalHost = fc.oneof(
  fc.tuple(u8, u8, u8, u8).map((p) => p.join('.')),
  fc.constantFrom('localhost', '::1', 'fd00::7', '2001:db8::1'),
);
const peer = fc.record({ host: literalHost, port, peerId: peerIdArb });
const fileName = text(1, 60).filter(isSafeNetworkName);
const file = fc.record({ name: fileName, size: count, type: mediaType, sha256: sha });

const v2Message: fc.Arbitrary<V2Message> = fc.oneof(
  fc.record({
    t: fc.constant('hello' as const),
    v: fc.integer({ min: 1, max: 1000 }),
    peerId: peerIdArb,
    port: fc.integer({ min: 0, max: 65535 }),
    role: fc.constantFrom('neighbour' as const, 'transfer' as const, 'query' as const),
    agent: text(0, 64),
  }),
  fc.constant({ t: 'ka' as const }),
  fc.record({ t: fc.constant('bye' as const), reason: text(0, 100) }),
  fc.record(
    { t: fc.constant('query' as const), id, ttl: u8, hops: u8, q: text(1, 100), type: mediaType },
    { requiredKeys: ['t', 'id', 'ttl', 'hops', 'q'] },
  ),
  fc.record({ t: fc.constant('hit' as const), id, hops: u8, peer, files: fc.array(file, { minLength: 1, maxLength: 4 }) }),
  fc.record({ t: fc.constant('ping' as const), id, ttl: u8, hops: u8 }),
  fc.record({ t: fc.constant('pong' as const), id, hops: u8, peer, files: count, bytes: count }),
  fc.constant({ t: 'list' as const }),
  fc.record({ t: fc.constant('list-result' as const), files: fc.array(file, { maxLength: 4 }), more: fc.boolean() }),
  fc.record(
    { t: fc.constant('get' as const), sha256: sha, name: fileName, offset: count, length: count },
    { requiredKeys: ['t', 'offset'] },
  ),
  fc.record({ t: fc.constant('get-ok' as const), name: fileName, size: count, sha256: sha, offset: count, length: count }),
  fc.record({ t: fc.constant('queued' as const), position: count }),
  fc.record({ t: fc.constant('error' as const), code: text(0, 32).filter((s) => s.length <= 32), message: text(0, 100) }),
) as fc.Arbitrary<V2Message>;

// v1 fields as the seed writes them: names may hold commas, never NUL, and no
// surrounding whitespace (the seed's server strips the message).
const v1Name = fc
  .string({ minLength: 1, maxLength: 80, unit: 'grapheme' })
  .map((s) => s.replace(/\0/g, '').trim())
  .filter((s) => s.length > 0);
const ipv4 = fc.tuple(u8, u8, u8, u8).map((p) => p.join('.'));
// v1 hosts are literal IPs or the seed's own "localhost" (audit #2: never a name to resolve).
const v1Host = fc.oneof(ipv4, fc.constantFrom('localhost', '::1', 'fd00::7'));
const v1Ttl = fc.integer({ min: -5, max: 100 });
const v1Message: fc.Arbitrary<V1Message> = fc.oneof(
  fc.constant({ kind: 'LISTR' as const }),
  fc.record({ kind: fc.constant('GET' as const), name: v1Name, host: v1Host, port }),
  fc.record({ kind: fc.constant('SEARCH' as const), name: v1Name, ttl: v1Ttl, originHost: v1Host, originPort: port }),
  fc.record({ kind: fc.constant('DISCOVER' as const), ttl: v1Ttl, originHost: v1Host, originPort: port }),
  fc.record({ kind: fc.constantFrom('SEAR_Result' as const, 'DISCOV_Result' as const), host: v1Host, port }),
);

/** Cut points in a buffer: any sorted subset of positions. */
function splits(buf: Buffer): fc.Arbitrary<Buffer[]> {
  return fc.uniqueArray(fc.integer({ min: 1, max: Math.max(1, buf.length - 1) }), { maxLength: 12 }).map((cuts) => {
    const sorted = [...cuts].filter((c) => c < buf.length).sort((a, b) => a - b);
    const parts: Buffer[] = [];
    let at = 0;
    for (const c of sorted) {
      parts.push(buf.subarray(at, c));
      at = c;
    }
    parts.push(buf.subarray(at));
    return parts;
  });
}

function onlyTyped(fn: () => unknown, ...types: (new (...a: never[]) => Error)[]): void {
  try {
    fn();
  } catch (e) {
    if (!types.some((t) => e instanceof t)) throw new Error(`untyped error: ${String(e)}`, { cause: e });
  }
}

// ---------------------------------------------------------------- v2

describe('v2 codec properties', () => {
  it('decode(encode(x)) = x for every message', () => {
    fc.assert(
      fc.property(v2Message, (m) => {
        const out = new FrameDecoder().push(encodeFrame(m));
        expect(out).toEqual([m]);
        expect(toV2Message(JSON.parse(JSON.stringify(m)))).toEqual(m);
      }),
      RUNS,
    );
  });

  it('splitting the byte stream at any points gives the same messages', () => {
    fc.assert(
      fc.property(
        fc.array(v2Message, { minLength: 1, maxLength: 6 }).chain((ms) => {
          const stream = Buffer.concat(ms.map((m) => encodeFrame(m)));
          return fc.tuple(fc.constant(ms), splits(stream));
        }),
        ([ms, parts]) => {
          const d = new FrameDecoder();
          const out = parts.flatMap((p) => d.push(p));
          expect(out).toEqual(ms);
          expect(d.buffered).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it('random bytes into FrameDecoder.push throw nothing but V2ProtocolError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 }), (chunks) => {
        const d = new FrameDecoder(1024);
        for (const c of chunks) {
          try {
            d.push(Buffer.from(c));
          } catch (e) {
            if (!(e instanceof V2ProtocolError)) throw e;
            return;
          }
        }
      }),
      RUNS,
    );
  });

  it('well-sized frames with random or mutated JSON bodies throw nothing but V2ProtocolError', () => {
    const body = fc.oneof(
      fc.json().map((j) => Buffer.from(j)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify({ t: 'query', ...(typeof v === 'object' && v ? v : { v }) }))),
      fc.tuple(v2Message, fc.nat(), u8).map(([m, at, byte]) => {
        const b = Buffer.from(JSON.stringify(m));
        b[at % b.length] = byte;
        return b;
      }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
    );
    fc.assert(
      fc.property(body, (b) => {
        const head = Buffer.alloc(4);
        head.writeUInt32BE(b.length);
        onlyTyped(() => new FrameDecoder().push(Buffer.concat([head, b])), V2ProtocolError);
      }),
      RUNS,
    );
  });

  it('any JSON value into toV2Message throws nothing but V2ProtocolError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (v) => onlyTyped(() => toV2Message(v), V2ProtocolError)),
      RUNS,
    );
  });

  it('a frame over the limit is refused from its header alone', () => {
    const d = new FrameDecoder(1024);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1025);
    expect(() => d.push(head)).toThrow(V2ProtocolError);
  });
});

// ---------------------------------------------------------------- v1

describe('v1 codec properties', () => {
  it('parse(encode(x)) = x for every message', () => {
    fc.assert(
      fc.property(v1Message, (m) => {
        expect(parseV1(encodeV1(m))).toEqual(m);
      }),
      RUNS,
    );
  });

  it('LISTR listings round-trip', () => {
    const entry = fc.record({
      name: v1Name.filter((n) => !n.includes('\t') && !/(video|music|picture)\t /.test(n)),
      size: fc.maxSafeNat(),
      type: fc.constantFrom('video' as const, 'music' as const, 'picture' as const),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (files) => {
        expect(parseV1Listing(formatV1Listing(files))).toEqual(files);
      }),
      RUNS,
    );
  });

  it('random and mutated text into parseV1 throws nothing but V1ProtocolError', () => {
    const input = fc.oneof(
      fc.string({ maxLength: 200, unit: 'binary' }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a).toString('utf8')),
      fc.tuple(v1Message, fc.nat(), fc.string({ maxLength: 8, unit: 'binary' })).map(([m, at, ins]) => {
        const s = encodeV1(m);
        const i = at % (s.length + 1);
        return s.slice(0, i) + ins + s.slice(i + 1);
      }),
      fc.string({ maxLength: 5000 }).map((s) => `SEARCH,${s},3,127.0.0.1,1`),
    );
    fc.assert(
      fc.property(input, (s) => {
        onlyTyped(() => parseV1(s), V1ProtocolError);
        onlyTyped(() => parseV1Listing(s), V1ProtocolError);
      }),
      RUNS,
    );
  });

  it('readV1Message gives the same message however the bytes are split', async () => {
    await fc.assert(
      fc.asyncProperty(
        v1Message.chain((m) => {
          const bytes = Buffer.from(encodeV1(m), 'utf8');
          return fc.tuple(fc.constant(m), splits(bytes));
        }),
        async ([m, parts]) => {
          // A socket stand-in: the listener hands over the first chunk, the rest arrive as data, then the sender closes.
          const sock = Object.assign(new EventEmitter(), { resume: () => sock }) as unknown as net.Socket;
          const p = readV1Message(sock, parts[0]!, false, 10_000, 10_000);
          for (const c of parts.slice(1)) sock.emit('data', c);
          sock.emit('end');
          expect(await p).toEqual(m);
        },
      ),
      RUNS,
    );
  });
});
