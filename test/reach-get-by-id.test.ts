/**
 * Downloads by the address a hit shows (issue 11, item 6): a v2 `found:` line
 * names its peer as `ID@HOST:PORT` (two peers behind one NAT share a public
 * address), GET takes that address as printed, and the peer there must prove
 * the ID: the wrong one is refused naming both. The contract's
 * `transfer:start` (the UI's Download button) takes and checks the ID too.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../electron/cli-commands.js';
import { formatHit } from '../electron/cli.js';
import { peerIdFromKey } from '../electron/peer/identity/peer-id.js';
import { createOperations } from '../electron/peer/operations.js';
import { localPeerArgs, spawnCli, type CliProcess } from './helpers/cli.js';
import { cleanupTemp, randomBytes, sameBytes, startPeer, tempDir, transferEnded, type TestPeer } from './helpers/harness.js';

const ID = 'P56IOI7-MZJNU2Y-IQGDREY-DM2MGTI-MGL3BXN-PQ6W5BM-TBBZ4TJ-XZWICQ2';
/** A well-formed ID nobody here has. */
const stranger = () => peerIdFromKey(crypto.generateKeyPairSync('ed25519').privateKey);

const running: CliProcess[] = [];
const peers: TestPeer[] = [];
afterAll(async () => {
  for (const c of running) c.proc.kill('SIGKILL');
  await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
  cleanupTemp();
});

describe('GET by the printed address (parsing)', () => {
  it('a v2 found: line prints ID@HOST:PORT, a v1 one HOST:PORT, and GET takes either exactly as printed', () => {
    const v2 = formatHit({ searchId: 's', name: 'a,b.mp3', peer: { host: '203.0.113.7', port: 6346, id: ID }, protocol: 'v2' });
    const v1 = formatHit({ searchId: 's', name: 'c.mp3', peer: { host: '203.0.113.7', port: 6347 }, protocol: 'v1' });
    expect(v2).toContain(` at ${ID}@203.0.113.7:6346 [v2]`);
    expect(v1).toContain(' at 203.0.113.7:6347 [v1]');
    expect(parseCommand(`GET,a,b.mp3,${ID}@203.0.113.7:6346`)).toEqual({
      cmd: 'GET',
      name: 'a,b.mp3',
      peer: { host: '203.0.113.7', port: 6346, id: ID },
    });
    expect(parseCommand('GET,c.mp3,203.0.113.7:6347')).toEqual({ cmd: 'GET', name: 'c.mp3', peer: { host: '203.0.113.7', port: 6347 } });
  });

  it("the seed's ip,port fields take ID@HOST as the ip; IDs are forgiven case and dashes, not typos", () => {
    const loose = ID.toLowerCase().replace(/-/g, '');
    expect(parseCommand(`GET,x.mp3,${loose}@10.0.0.2,7`)).toEqual({
      cmd: 'GET',
      name: 'x.mp3',
      peer: { host: '10.0.0.2', port: 7, id: ID },
    });
    expect(parseCommand(`PLAY,x.mp4,${ID}@[::1]:5`)).toEqual({ cmd: 'PLAY', name: 'x.mp4', peer: { host: '::1', port: 5, id: ID } });
    expect(parseCommand(`GET,x.mp3,${ID}@::1,5`)).toEqual({ cmd: 'GET', name: 'x.mp3', peer: { host: '::1', port: 5, id: ID } });
    expect(parseCommand('GET,x.mp3,127.0.0.1,10001')).toEqual({ cmd: 'GET', name: 'x.mp3', peer: { host: '127.0.0.1', port: 10001 } });
    const typo = `${ID.slice(0, -1)}A`;
    expect(() => parseCommand(`GET,x.mp3,${typo}@10.0.0.2:7`)).toThrow(/check character does not match.*Usage: GET/);
    expect(() => parseCommand(`GET,x.mp3,${typo}@10.0.0.2,7`)).toThrow(/check character does not match/);
    expect(() => parseCommand('GET,x.mp3,WRONG@10.0.0.2:7')).toThrow(/bad peer ID "WRONG"/);
    expect(() => parseCommand(`GET,x.mp3,${ID}@10.0.0.2:0`)).toThrow(/bad port/);
    expect(() => parseCommand('GET,x.mp3,10.0.0.2')).toThrow(/GET needs a name, an ip and a port/);
  });
});

describe('GET by the printed address (real peers)', () => {
  it('the mactella bin: GET with the found: address downloads; the same address with a wrong ID is refused naming both IDs', async () => {
    const song = randomBytes(1024 * 1024);
    const rootA = tempDir();
    fs.mkdirSync(path.join(rootA, 'share'), { recursive: true });
    fs.writeFileSync(path.join(rootA, 'share', 'song.mp3'), song);
    fs.writeFileSync(path.join(rootA, 'share', 'other.mp3'), 'other');
    const a = spawnCli(localPeerArgs(rootA, { downloads: 'dl' }));
    running.push(a);
    const port = Number((await a.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/))[1]);
    const aId = (await a.waitFor(/^peer id: (\S+)$/))[1]!;

    const rootB = tempDir();
    const b = spawnCli(localPeerArgs(rootB, { downloads: 'dl', extra: ['--peer', `127.0.0.1:${port}`] }));
    running.push(b);
    let found: RegExpMatchArray | undefined;
    for (let i = 0; !found; i++) {
      if (i > 50) throw new Error(`no found: line in:\n${b.out.join('\n')}`);
      b.send('SEARCH,song,2');
      found = await b.waitFor(/^found: song\.mp3 .* at (\S+) \[v2/, 500).catch(() => undefined);
    }
    expect(found[1]).toBe(`${aId}@127.0.0.1:${port}`);

    b.send(`GET,song.mp3,${found[1]}`);
    await b.waitFor(/^GET song\.mp3: (complete and verified|FAILED)/, 20_000);
    expect(b.out.join('\n')).toMatch(/GET song\.mp3: complete and verified/);
    expect(sameBytes(fs.readFileSync(path.join(rootB, 'dl', 'song.mp3')), song)).toBe(true);

    const wrong = stranger();
    b.send(`GET,other.mp3,${wrong}@127.0.0.1:${port}`);
    const failed = await b.waitFor(/^GET other\.mp3: (complete|FAILED.*)$/, 20_000);
    expect(failed[1]).toContain(`expected peer ${wrong} at 127.0.0.1:${port}, but it presented ${aId}`);
    expect(fs.existsSync(path.join(rootB, 'dl', 'other.mp3'))).toBe(false);
    b.proc.stdin.end();
    a.proc.stdin.end();
    expect(await b.exited).toBe(0);
    expect(await a.exited).toBe(0);
  });

  it('transfer:start (the Download button) with the hit ID downloads; a wrong ID fails naming both; a typo is refused at once', async () => {
    const up = await startPeer({ files: { 'clip.mp4': randomBytes(300_000), 'two.mp4': 'two' } });
    const down = await startPeer();
    peers.push(up, down);
    const ops = createOperations(down.peer);

    const ok = await ops['transfer:start']({ name: 'clip.mp4', sources: [{ ...up.addr, id: up.peer.id }] });
    const done = await transferEnded(down.peer, ok.id);
    expect(done.state).toBe('done');
    expect(done.route).toEqual({ kind: 'direct' });

    const wrong = stranger();
    const bad = await ops['transfer:start']({ name: 'two.mp4', sources: [{ ...up.addr, id: wrong }] });
    const failed = await transferEnded(down.peer, bad.id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toContain(`expected peer ${wrong} at 127.0.0.1:${up.port}, but it presented ${up.peer.id}`);

    const typo = `${up.peer.id.slice(0, -1)}${up.peer.id.endsWith('A') ? 'B' : 'A'}`;
    await expect(ops['transfer:start']({ name: 'two.mp4', sources: [{ ...up.addr, id: typo }] })).rejects.toThrow(
      /check character does not match/,
    );
  });
});
