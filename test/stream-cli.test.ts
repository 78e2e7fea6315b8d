import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCommand } from '../electron/cli-commands.js';
import { localPeerArgs, spawnCli, type CliProcess } from './helpers/cli.js';
import { cleanupTemp, randomFile, startPeer, tempDir, type TestPeer } from './helpers/harness.js';
import { httpBytes } from './helpers/http-request.js';

let peers: TestPeer[] = [];
let clis: CliProcess[] = [];

afterEach(async () => {
  for (const c of clis) {
    c.proc.kill('SIGTERM');
    await c.exited;
  }
  await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
  peers = [];
  clis = [];
  cleanupTemp();
});

describe('PLAY in the terminal peer', () => {
  it('parses like GET', () => {
    expect(parseCommand('PLAY,a,b.mp4,127.0.0.1,10001')).toEqual({
      cmd: 'PLAY',
      name: 'a,b.mp4',
      peer: { host: '127.0.0.1', port: 10001 },
    });
    expect(() => parseCommand('PLAY,a.mp4,127.0.0.1')).toThrow(/Usage: PLAY,name,ip,port/);
  });

  it('prints a local URL with a token that serves the file with ranges, while it downloads', async () => {
    const root = tempDir();
    const original = path.join(root, 'movie.mp4');
    await randomFile(original, 3 * 1024 * 1024 + 7);
    const bytes = fs.readFileSync(original);
    const src = await startPeer({ files: { 'movie.mp4': bytes }, options: { maxUploadRate: 4 * 1024 * 1024 } });
    peers.push(src);
    const cli = spawnCli(localPeerArgs(path.join(root, 'cli')));
    clis.push(cli);
    await cli.waitFor(/listening on/);
    cli.send(`PLAY,movie.mp4,127.0.0.1,${src.port}`);
    const [, url] = await cli.waitFor(/PLAY movie\.mp4: open (http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/movie\.mp4) in a player/);
    const part = await httpBytes(url!, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${bytes.length}`);
    expect(part.body.equals(bytes.subarray(100, 200))).toBe(true);
    const tail = await httpBytes(url!, { headers: { Range: 'bytes=-1000' } });
    expect(tail.body.equals(bytes.subarray(-1000))).toBe(true);
    await cli.waitFor(/GET movie\.mp4: complete and verified/);
    expect((await httpBytes(url!.replace(/\/[A-Za-z0-9_-]{32}\//, `/${'x'.repeat(32)}/`))).status).toBe(404);
  });
});
