/**
 * Mixed networks: our peer against a seed peer implemented byte-exactly from
 * the flow chart. LISTR, GET and SEARCH in both directions, DISCOVER too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SearchHit } from '../shared/types.js';
import { cleanupTemp, randomBytes, sameBytes, startPeer, tempDir, waitFor, type TestPeer } from './helpers/harness.js';
import { SeedPeer } from './helpers/seed-peer.js';

let ours: TestPeer;
let seed: SeedPeer;
let seedDir: string;
const seedSong = randomBytes(300_000);
// Data that starts with digits: the hard case for splitting "size" from data.
const ourPicture = Buffer.concat([Buffer.from('12345\n'), randomBytes(2_000_000)]);
const ourSong = Buffer.concat([Buffer.from('line one\nline two\n'), randomBytes(1_500_000)]);

beforeAll(async () => {
  seedDir = tempDir();
  fs.writeFileSync(path.join(seedDir, 'seed song.mp3'), seedSong);
  fs.writeFileSync(path.join(seedDir, 'digits.mov'), Buffer.concat([Buffer.from('777'), randomBytes(5000)]));
  fs.writeFileSync(path.join(seedDir, 'notes.txt'), 'not media');
  seed = new SeedPeer(seedDir);
  await seed.start();
  ours = await startPeer({ bootstrap: [{ host: '127.0.0.1', port: seed.PORT }], files: { 'photo.jpg': ourPicture, 'tune.mp3': ourSong } });
  seed.List_of_Peers.push({ IP_address: '127.0.0.1', Port: ours.addr.port });
  // The neighbour dial finds out the bootstrap peer is a seed peer: it never answers the handshake.
  await waitFor('v1 detection', () => ours.peer.peers().known[0]?.protocol === 'v1');
});

afterAll(async () => {
  await ours.peer.quit({ force: true });
  await seed.close();
  cleanupTemp();
});

describe('our peer as a v1 client of a seed peer', () => {
  it('detects the seed peer as v1 and never keeps a neighbour connection to it', () => {
    const { known, neighbours } = ours.peer.peers();
    expect(known[0]).toMatchObject({ port: seed.PORT, protocol: 'v1', connected: false });
    expect(neighbours).toEqual([]);
  });

  it('LISTR parses the seed listing (media only)', async () => {
    const r = await ours.peer.listRemote({ host: '127.0.0.1', port: seed.PORT });
    expect(r.protocol).toBe('v1');
    expect(r.files.map((f) => [f.type, f.name, f.size]).sort()).toEqual(
      [
        ['music', 'seed song.mp3', seedSong.length],
        ['video', 'digits.mov', 5003],
      ].sort(),
    );
  });

  it('GET downloads byte-identical from the seed, including data that starts with digits', async () => {
    for (const name of ['seed song.mp3', 'digits.mov']) {
      const t = ours.peer.download({ name, sources: [{ host: '127.0.0.1', port: seed.PORT }] });
      await waitFor(`${name} download`, () => ours.peer.transfersList().find((x) => x.id === t.id)?.state === 'done');
      const done = ours.peer.transfersList().find((x) => x.id === t.id)!;
      expect(sameBytes(fs.readFileSync(done.path!), fs.readFileSync(path.join(seedDir, name)))).toBe(true);
    }
  });

  it('GET of a missing file fails with the seed error and leaves no file', async () => {
    const t = ours.peer.download({ name: 'nope.mp3', sources: [{ host: '127.0.0.1', port: seed.PORT }] });
    await waitFor('failure', () => ours.peer.transfersList().find((x) => x.id === t.id)?.state === 'failed');
    expect(ours.peer.transfersList().find((x) => x.id === t.id)!.error).toMatch(/ERROR: could not find/);
    expect(fs.existsSync(path.join(ours.downloads, 'nope.mp3'))).toBe(false);
  });

  it('SEARCH reaches the seed, and its SEAR_Result connect-back becomes a hit', async () => {
    const hits: SearchHit[] = [];
    ours.peer.events.on('search:hit', (h) => hits.push(h));
    ours.peer.search('seed song.mp3', 2);
    await waitFor('SEAR_Result', () => hits.length > 0);
    expect(hits[0]).toMatchObject({ protocol: 'v1', name: 'seed song.mp3', peer: { host: 'localhost', port: seed.PORT } });
    // We advertised the address the seed actually reached, never "localhost".
    const sent = seed.received.find((m) => m.startsWith('SEARCH,seed song.mp3'))!;
    expect(sent).toBe(`SEARCH,seed song.mp3,2,127.0.0.1,${ours.addr.port}`);
  });

  it('DISCOVER reaches the seed, and its DISCOV_Result is taken as a found peer', async () => {
    const found: string[] = [];
    ours.peer.events.on('peer:found', (p) => found.push(`${p.host}:${p.port}`));
    ours.peer.discover(1);
    await waitFor('DISCOV_Result', () => found.length > 0);
    expect(seed.received).toContain(`DISCOVER,1,127.0.0.1,${ours.addr.port}`);
    // "localhost" names the same peer as the bootstrap entry 127.0.0.1: no duplicate entry.
    expect(found).toEqual([`127.0.0.1:${seed.PORT}`]);
    expect(ours.peer.peers().known).toHaveLength(1);
  });

  it('ignores a DISCOV_Result or SEAR_Result nobody asked for', async () => {
    const other = await startPeer();
    try {
      const before = other.peer.statsSnapshot().drops['unsolicited v1 result'] ?? 0;
      seed.send_using_new_socket('127.0.0.1', other.addr.port, 'DISCOV_Result,10.9.9.9,4000');
      seed.send_using_new_socket('127.0.0.1', other.addr.port, 'SEAR_Result,10.9.9.9,4000');
      await waitFor('drops', () => (other.peer.statsSnapshot().drops['unsolicited v1 result'] ?? 0) === before + 2);
      expect(other.peer.peers().known).toEqual([]);
    } finally {
      await other.peer.quit({ force: true });
    }
  });
});

describe('a seed peer as a client of our peer', () => {
  it('LISTR gets the seed format: entries concatenated, "type\\t name\\t size: N"', async () => {
    const reply = await seed.LISTR('127.0.0.1', ours.addr.port);
    expect(reply).toBe(`picture\t photo.jpg\t size: ${ourPicture.length}music\t tune.mp3\t size: ${ourSong.length}`);
  });

  it("GET: the size reaches the seed's recv(64) alone, then the bytes arrive identical", async () => {
    const out = tempDir();
    for (const [name, data] of [
      ['photo.jpg', ourPicture],
      ['tune.mp3', ourSong],
    ] as const) {
      const r = await seed.GET(`GET,${name},127.0.0.1,${ours.addr.port}`, out);
      expect(r.error).toBeUndefined();
      expect(sameBytes(fs.readFileSync(r.file!), data)).toBe(true);
    }
  });

  it('GET of a missing file or a path trick gets the ERROR reply', async () => {
    const out = tempDir();
    for (const name of ['missing.mp3', '../../etc/passwd', '/etc/passwd']) {
      const r = await seed.GET(`GET,${name},127.0.0.1,${ours.addr.port}`, out);
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(/^ERROR:/);
    }
  });

  it('SEARCH from the seed: our peer connects back with SEAR_Result naming the address the request reached', async () => {
    const before = seed.searchResults.length;
    // Not tune.mp3: the hostile-TTL test floods that one, and our peer would rightly drop this as its duplicate.
    await seed.flood('SEARCH,photo.jpg,3');
    await waitFor('SEAR_Result at the seed', () => seed.searchResults.length > before);
    expect(seed.searchResults.at(-1)).toBe(`SEAR_Result,127.0.0.1,${ours.addr.port}`);
    expect(ours.peer.statsSnapshot().connectBacks).toBeGreaterThan(0);
  });

  it('DISCOVER from the seed: DISCOV_Result comes back and the seed adds us', async () => {
    seed.List_of_Peers = [{ IP_address: '127.0.0.1', Port: ours.addr.port }];
    await seed.flood('DISCOVER,2');
    await waitFor('DISCOV_Result at the seed', () => seed.received.some((m) => m === `DISCOV_Result,127.0.0.1,${ours.addr.port}`));
  });

  it('a seed SEARCH with a hostile TTL is capped, and duplicates are not re-forwarded', async () => {
    const before = ours.peer.statsSnapshot();
    await seed.flood('SEARCH,tune.mp3,999999');
    await seed.flood('SEARCH,tune.mp3,999999');
    await waitFor('duplicate drop', () => ours.peer.statsSnapshot().duplicatesDropped > before.duplicatesDropped);
    const fwd = (ours.peer.statsSnapshot().messagesOut['v1:SEARCH'] ?? 0) - (before.messagesOut['v1:SEARCH'] ?? 0);
    // Forwarded at most once to the one other v1 peer it knows (the seed is the origin, so not even that).
    expect(fwd).toBeLessThanOrEqual(1);
    const received = seed.received.filter((m) => m.startsWith('SEARCH,tune.mp3,'));
    for (const m of received) expect(Number(m.split(',')[2])).toBeLessThanOrEqual(7);
  });
});
