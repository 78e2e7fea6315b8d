/**
 * The `mactella` terminal peer: the seed's command syntax, errors at the
 * prompt, and printf scripts through the real bin, as the README shows.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../electron/cli-commands.js';
import { encodeFrame } from '../electron/peer/v2/frame.js';
import { localPeerArgs, spawnCli, type CliProcess } from './helpers/cli.js';
import { cleanupTemp, randomBytes, sameBytes, sleep, tempDir } from './helpers/harness.js';
import { dialV2ByHand } from './helpers/v2-wire.js';

const running: CliProcess[] = [];
afterAll(() => {
  for (const c of running) c.proc.kill('SIGKILL');
  cleanupTemp();
});

const peerArgs = (root: string, extra: string[] = []) => localPeerArgs(root, { downloads: 'dl', extra });

async function startCliPeer(
  files: Record<string, Buffer | string>,
  extra: string[] = [],
): Promise<{ cli: CliProcess; root: string; port: number }> {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'share'), { recursive: true });
  for (const [n, d] of Object.entries(files)) fs.writeFileSync(path.join(root, 'share', n), d);
  const cli = spawnCli(peerArgs(root, extra));
  running.push(cli);
  const m = await cli.waitFor(/^listening on 127\.0\.0\.1:(\d+)$/);
  return { cli, root, port: Number(m[1]) };
}

describe('command syntax', () => {
  it('accepts the seed commands verbatim', () => {
    expect(parseCommand('LISTL')).toEqual({ cmd: 'LISTL' });
    expect(parseCommand('LISTR,127.0.0.1,10001')).toEqual({ cmd: 'LISTR', peer: { host: '127.0.0.1', port: 10001 } });
    expect(parseCommand('SEARCH,song.mp3,3')).toEqual({ cmd: 'SEARCH', name: 'song.mp3', ttl: 3 });
    expect(parseCommand('DISCOVER,2')).toEqual({ cmd: 'DISCOVER', ttl: 2 });
    expect(parseCommand('GET,a,b.mp3,localhost,10001')).toEqual({ cmd: 'GET', name: 'a,b.mp3', peer: { host: 'localhost', port: 10001 } });
    for (const c of ['RESET', 'QUIT', 'FORCEQUIT', 'ID', 'PEERS', 'STATS', 'HELP']) expect(parseCommand(c)).toEqual({ cmd: c });
  });

  it('parses REMOVE,ip,port (forget a known peer and its pin)', () => {
    expect(parseCommand('REMOVE,127.0.0.1,10001')).toEqual({ cmd: 'REMOVE', peer: { host: '127.0.0.1', port: 10001 } });
    expect(parseCommand('remove, ::1 ,7')).toEqual({ cmd: 'REMOVE', peer: { host: '::1', port: 7 } });
  });

  it('parses LIMIT for global upload and download limits', () => {
    expect(parseCommand('LIMIT,up,500k')).toEqual({ cmd: 'LIMIT', direction: 'up', bytesPerSecond: 500 * 1024 });
    expect(parseCommand('limit, DOWN ,2m')).toEqual({ cmd: 'LIMIT', direction: 'down', bytesPerSecond: 2 * 1024 * 1024 });
    expect(parseCommand('LIMIT,up,0')).toEqual({ cmd: 'LIMIT', direction: 'up', bytesPerSecond: 0 });
    expect(parseCommand('LIMIT,down,1500')).toEqual({ cmd: 'LIMIT', direction: 'down', bytesPerSecond: 1500 });
  });

  it.each([
    ['FOO', /not recognized/],
    ['SEARCH,x', /Usage: SEARCH,name,ttl/],
    ['SEARCH,x,0', /bad ttl/],
    ['SEARCH,x,8', /bad ttl/],
    ['DISCOVER,abc', /bad ttl/],
    ['DISCOVER', /Usage: DISCOVER,ttl/],
    ['LISTR,127.0.0.1', /Usage: LISTR,ip,port/],
    ['LISTR,127.0.0.1,70000', /bad port/],
    ['GET,a.mp3,127.0.0.1', /Usage: GET,name,ip,port/],
    ['GET,a.mp3,127.0.0.1,0', /bad port/],
    ['LISTL,extra', /Usage: LISTL/],
    ['WAIT,-1', /bad seconds/],
    ['REMOVE,127.0.0.1', /Usage: REMOVE,ip,port/],
    ['REMOVE,127.0.0.1,0', /bad port/],
    ['LIMIT,up', /Usage: LIMIT,up\|down,rate/],
    ['LIMIT,sideways,1m', /bad direction/],
    ['LIMIT,up,fast', /bad rate "fast"/],
    ['LIMIT,down,-5', /bad rate/],
  ])('explains %s in one line', (line, re) => {
    let msg = '';
    try {
      parseCommand(line);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(re);
    expect(msg).not.toContain('\n');
  });
});

describe('mactella (the real bin)', () => {
  it('two peers share a file with printf scripts: LISTR, SEARCH, GET, verified', async () => {
    const song = randomBytes(3 * 1024 * 1024);
    const a = await startCliPeer({ 'song.mp3': song, 'cover.jpg': 'jpeg!' });
    const b = tempDir();
    const script = `LISTL\nLISTR,127.0.0.1,${a.port}\nSEARCH,song,2\nWAIT,0.5\nGET,song.mp3,127.0.0.1,${a.port}\nSTATS\n`;
    const cli = spawnCli(peerArgs(b, ['--peer', `127.0.0.1:${a.port}`]));
    running.push(cli);
    cli.proc.stdin.end(script);
    expect(await cli.exited).toBe(0);
    const out = cli.out.join('\n');
    expect(out).toContain('There is no files in the directory');
    expect(out).toContain(`127.0.0.1:${a.port} (v2): 2 files`);
    expect(out).toMatch(/music\t song\.mp3\t size: 3145728/);
    // A v2 hit names its peer: ID@HOST:PORT.
    expect(out).toMatch(
      new RegExp(
        `found: song\\.mp3 \\(3\\.0 MB, music\\) at ([A-Z2-7]{7}-){7}[A-Z2-7]{7}@127\\.0\\.0\\.1:${a.port} \\[v2, sha256 [0-9a-f]{16}\\]`,
      ),
    );
    expect(out).toMatch(/GET song\.mp3: complete and verified/);
    expect(out).toMatch(/messages out: .*query=1/);
    expect(out.trim().split('\n').at(-1)).toBe('Bye');
    expect(sameBytes(fs.readFileSync(path.join(b, 'dl', 'song.mp3')), song)).toBe(true);
    a.cli.send('LISTL');
    await a.cli.waitFor(/^picture\t cover\.jpg\t size: 5$/);
    a.cli.proc.stdin.end();
    expect(await a.cli.exited).toBe(0);
  });

  it('prints the peer ID right after "listening on"; ID prints it again', async () => {
    const a = await startCliPeer({});
    const m = await a.cli.waitFor(/^peer id: (\S+)$/);
    const at = a.cli.out.findIndex((l) => l.startsWith('listening on '));
    expect(a.cli.out[at + 1]).toBe(m[0]);
    a.cli.send('ID');
    a.cli.send('HELP'); // commands run in order: once HELP has answered, ID has too
    await a.cli.waitFor(/^Commands \(the seed's syntax/);
    expect(a.cli.out.filter((l) => l === m[0])).toHaveLength(2);
    a.cli.proc.stdin.end();
    expect(await a.cli.exited).toBe(0);
  });

  it('REMOVE forgets a pinned, connected peer; PEERS shows it gone; a second REMOVE is an error', async () => {
    const a = await startCliPeer({});
    const aId = (await a.cli.waitFor(/^peer id: (\S+)$/))[1]!;
    const b = await startCliPeer({}, ['--peer', `127.0.0.1:${a.port}`]);
    const pinned = `${aId}@127.0.0.1:${a.port}`;
    // PEERS until the link is up with A's ID pinned (each PEERS prints a fresh block).
    for (let i = 0; !b.cli.out.some((l) => l.startsWith(`  ${pinned}\t`) && l.endsWith('\tconnected')); i++) {
      if (i > 100) throw new Error(`no pinned, connected line in:\n${b.cli.out.join('\n')}`);
      b.cli.send('PEERS');
      await sleep(100);
    }
    b.cli.send(`REMOVE,127.0.0.1,${a.port}`);
    await b.cli.waitFor(new RegExp(`^Removed 127\\.0\\.0\\.1:${a.port} and its pinned ID \\(0 known peers left\\)$`));
    b.cli.send(`REMOVE,127.0.0.1,${a.port}`);
    await b.cli.waitFor(new RegExp(`^error: 127\\.0\\.0\\.1:${a.port} is not a known peer$`));
    b.cli.send('PEERS');
    await b.cli.waitFor(/^known peers \(0\):$/);
    b.cli.proc.stdin.end();
    a.cli.proc.stdin.end();
    expect(await b.cli.exited).toBe(0);
    expect(await a.cli.exited).toBe(0);
  });

  it('answers malformed commands with one line each and keeps going', async () => {
    const root = tempDir();
    const cli = spawnCli(peerArgs(root));
    running.push(cli);
    cli.proc.stdin.end('FOO\nSEARCH,x\nGET,a\nLISTR,1.2.3.4,nope\nDISCOVER,9\nLISTL\n');
    expect(await cli.exited).toBe(0);
    const errors = cli.out.filter((l) => l.startsWith('error: '));
    expect(errors).toHaveLength(5);
    expect(cli.out).toContain('There is no files in the directory');
  });

  it('a failed GET says so in its final line and leaves no file', async () => {
    const a = await startCliPeer({ 'x.mp3': 'x' });
    const root = tempDir();
    const cli = spawnCli(peerArgs(root));
    running.push(cli);
    cli.proc.stdin.end(`GET,nothere.mp3,127.0.0.1,${a.port}\n`);
    expect(await cli.exited).toBe(0);
    expect(cli.out.join('\n')).toMatch(/GET nothere\.mp3: FAILED, not complete: could not find the file/);
    expect(fs.existsSync(path.join(root, 'dl', 'nothere.mp3'))).toBe(false);
    a.cli.proc.kill();
  });

  it('QUIT waits for a running upload and says which; the end of stdin works the same', async () => {
    const data = randomBytes(6 * 1024 * 1024);
    const a = await startCliPeer({ 'big.mov': data });
    const { socket, decoder } = await dialV2ByHand({ host: '127.0.0.1', port: a.port }, { role: 'transfer' });
    socket.write(encodeFrame({ t: 'get', name: 'big.mov', offset: 0 }));
    await sleep(300);
    a.cli.send('QUIT');
    await a.cli.waitFor(/^Waiting for 1 transfer to finish/);
    await a.cli.waitFor(/^ {2}upload big\.mov \d+%$/);
    await sleep(300);
    expect(a.cli.proc.exitCode).toBeNull();
    let got = decoder.takeRest().length;
    socket.on('data', (c) => (got += c.length));
    socket.resume();
    expect(await a.cli.exited).toBe(0);
    expect(a.cli.out.at(-1)).toBe('Bye');
    expect(got).toBeGreaterThan(data.length);
  });

  it('LIMIT changes the global limits at run time and they persist in the settings', async () => {
    const a = await startCliPeer({});
    a.cli.send('LIMIT,up,500k');
    await a.cli.waitFor(/^upload limit: \S+/);
    a.cli.send('LIMIT,down,2m');
    await a.cli.waitFor(/^download limit: \S+/);
    a.cli.send('LIMIT,up,0');
    await a.cli.waitFor(/^upload limit: none$/);
    a.cli.send('LIMIT,up,x');
    await a.cli.waitFor(/^error: bad rate "x"/);
    a.cli.proc.stdin.end();
    expect(await a.cli.exited).toBe(0);
    const settings = JSON.parse(fs.readFileSync(path.join(a.root, 'data', 'settings.json'), 'utf8')) as Record<string, number>;
    expect(settings.maxUploadRate).toBe(0);
    expect(settings.maxDownloadRate).toBe(2 * 1024 * 1024);
  });

  it('FORCEQUIT stops at once', async () => {
    const a = await startCliPeer({});
    a.cli.send('FORCEQUIT');
    expect(await a.cli.exited).toBe(0);
  });

  it('rejects bad options with a clear message', async () => {
    const cli = spawnCli(['--port', 'abc']);
    expect(await cli.exited).toBe(2);
    expect(cli.err.join('\n')).toMatch(/bad port "abc"/);
    const cli2 = spawnCli(['--peer', 'nocolon']);
    expect(await cli2.exited).toBe(2);
    expect(cli2.err.join('\n')).toMatch(/expected HOST:PORT/);
  });
});
