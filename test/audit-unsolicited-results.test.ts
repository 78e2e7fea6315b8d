/**
 * Audit finding 3: unsolicited results were accepted. DISCOV_Results from
 * hosts never asked joined the known-peer list (and were then dialled and fed
 * forwarded searches), and a SEAR_Result nobody asked for showed as a hit.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../shared/types.js';
import { waitFor, type TestPeer } from './helpers/harness.js';
import { v1Request } from './helpers/raw-neighbour.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const { start, servers } = cleanupAfterEach();

/** A v2 dial: a TLS ClientHello (v2 runs inside TLS), or the plain magic of old. */
const isV2 = (text: string) => text.startsWith('\x16\x03') || text.startsWith('MTELLA2');

/** A stand-in seed peer: never answers a hello (so it is taken for v1), records each message. */
async function fakeSeed(): Promise<{ port: number; messages: string[] }> {
  const messages: string[] = [];
  const s = net.createServer((c) => {
    let text = '';
    c.on('error', () => {});
    c.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (isV2(text)) c.end();
    });
    c.on('end', () => {
      if (text && !isV2(text)) messages.push(text);
      c.end();
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as net.AddressInfo).port, messages };
}

const drops = (p: TestPeer, reason: string) => p.peer.statsSnapshot().drops[reason] ?? 0;

describe('audit #3: unsolicited v1 results', () => {
  it('a SEAR_Result with no v1 search sent (only a v2 one) is no hit', async () => {
    const a = await start();
    const hits: SearchHit[] = [];
    a.peer.events.on('search:hit', (h) => hits.push(h));
    a.peer.search('anything', 2);
    await v1Request(a.addr, 'SEAR_Result,127.0.0.1,4000');
    await waitFor('the drop', () => drops(a, 'unsolicited v1 result') === 1);
    expect(hits).toEqual([]);
  });

  it('DISCOV_Results with no v1 discovery sent join nothing', async () => {
    const a = await start();
    a.peer.discover(2);
    for (let i = 0; i < 20; i++) await v1Request(a.addr, `DISCOV_Result,127.0.0.1,${40000 + i}`);
    await waitFor('the drops', () => drops(a, 'unsolicited v1 result') === 20);
    expect(a.peer.peers().known).toEqual([]);
  });

  it('results for a request we sent are capped per request', async () => {
    const seed = await fakeSeed();
    const a = await start({ bootstrap: [{ host: '127.0.0.1', port: seed.port }], tuning: { v1ResultsPerRequest: 5 } });
    await waitFor('the seed to be known as v1', () => a.peer.peers().known.some((k) => k.protocol === 'v1'));
    a.peer.discover(2);
    await waitFor('the DISCOVER at the seed', () => seed.messages.some((m) => m.startsWith('DISCOVER,')));
    for (let i = 0; i < 12; i++) await v1Request(a.addr, `DISCOV_Result,127.0.0.1,${41000 + i}`);
    await waitFor('the capped results', () => drops(a, 'v1 results over the cap') === 7);
    expect(a.peer.peers().known.filter((k) => k.source === 'discovered')).toHaveLength(5);
    const hits: SearchHit[] = [];
    a.peer.events.on('search:hit', (h) => hits.push(h));
    a.peer.search('song.mp3', 2);
    await waitFor('the SEARCH at the seed', () => seed.messages.some((m) => m.startsWith('SEARCH,')));
    for (let i = 0; i < 8; i++) await v1Request(a.addr, `SEAR_Result,127.0.0.1,${42000 + i}`);
    await waitFor('the capped hits', () => drops(a, 'v1 results over the cap') === 10);
    expect(hits).toHaveLength(5);
  });

  it('caps how many copies one source can have forwarded', async () => {
    const seeds = await Promise.all(Array.from({ length: 4 }, fakeSeed));
    const a = await start({ bootstrap: seeds.map((s) => ({ host: '127.0.0.1', port: s.port })) });
    await waitFor('the seeds known as v1', () => a.peer.peers().known.filter((k) => k.protocol === 'v1').length === 4);
    for (let i = 0; i < 30; i++) await v1Request(a.addr, `SEARCH,nothing ${i}.mp3,5,127.0.0.1,${43000 + i}`);
    await waitFor('the fan-out drops', () => drops(a, 'v1 forward budget') > 0);
    await waitFor(
      'the forwards sent',
      () => seeds.reduce((n, s) => n + s.messages.length, 0) === (a.peer.statsSnapshot().messagesOut['v1:SEARCH'] ?? 0),
    );
    // 30 messages to 4 seeds would be 120 copies; the budget per source allows far fewer.
    expect(a.peer.statsSnapshot().messagesOut['v1:SEARCH']).toBeLessThanOrEqual(40);
  });
});
