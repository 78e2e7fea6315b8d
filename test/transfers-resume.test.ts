import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Bitfield } from '../electron/peer/transfers/pieces.js';
import { randomFile, sha256File, startPeer, tempDir, waitFor, type TestPeer } from './helpers/harness.js';
import { localPeerArgs, spawnCli, type CliProcess } from './helpers/cli.js';

const MiB = 1 << 20;
let peers: TestPeer[] = [];
let dirs: string[] = [];
let children: CliProcess[] = [];

afterEach(async () => {
  for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
  await Promise.all(peers.map((p) => p.peer.quit({ force: true }).catch(() => {})));
  await Promise.all(dirs.map((d) => fs.promises.rm(d, { recursive: true, force: true })));
  peers = [];
  dirs = [];
  children = [];
});

describe('resume after kill -9', () => {
  it('a killed downloader resumes from its .part: byte-identical, less than 1.2x the size fetched', async () => {
    const root = tempDir();
    dirs.push(root);
    const size = 16 * MiB;
    const sha256 = await randomFile(path.join(root, 'up', 'share', 'movie.mp4'), size);
    const up = await startPeer({ dir: path.join(root, 'up'), options: { maxUploadRate: 4 * MiB } });
    peers.push(up);
    const dl = path.join(root, 'down');
    await fs.promises.mkdir(path.join(dl, 'share'), { recursive: true });
    const cmd = `GET,movie.mp4,127.0.0.1,${up.port}\n`;

    // The terminal peer in its own process, as a user runs it.
    const cliPeer = () => {
      const c = spawnCli(localPeerArgs(dl, { extra: ['--no-watch'] }));
      children.push(c);
      return c;
    };
    const first = cliPeer();
    await first.waitFor(/listening on/, 20_000);
    first.proc.stdin.write(cmd);
    // Kill it once between a quarter and three quarters of the pieces are recorded as done.
    // The resume state is kept in the data folder, one file per download.
    const stateDir = path.join(dl, 'data', 'transfers');
    let state = '';
    await waitFor(
      'a quarter of the pieces',
      async () => {
        const names = await fs.promises.readdir(stateDir).catch(() => []);
        if (names.length !== 1) return false;
        state = path.join(stateDir, names[0]!);
        const s = JSON.parse(await fs.promises.readFile(state, 'utf8').catch(() => '{}')) as { pieces?: string[]; done?: string };
        return s.pieces && new Bitfield(s.pieces.length, s.done).done >= s.pieces.length / 4;
      },
      20_000,
    );
    first.proc.kill('SIGKILL');
    await first.exited;
    const s = JSON.parse(await fs.promises.readFile(state, 'utf8')) as { pieces: string[]; done: string };
    const doneBefore = new Bitfield(s.pieces.length, s.done).done;
    expect(doneBefore).toBeLessThan(s.pieces.length);
    expect(fs.existsSync(path.join(dl, 'downloads', 'movie.mp4'))).toBe(false);
    const sentBefore = up.peer.statsSnapshot().bytesUp;

    const second = cliPeer();
    await second.waitFor(/listening on/, 20_000);
    second.proc.stdin.write(cmd);
    const [line] = await second.waitFor(/^GET movie\.mp4: .*/, 30_000);
    expect(line).toContain('complete and verified');
    expect(await sha256File(path.join(dl, 'downloads', 'movie.mp4'))).toBe(sha256);
    const total = up.peer.statsSnapshot().bytesUp;
    expect(total).toBeLessThan(size * 1.2);
    // The second run fetched only what was missing.
    expect(total - sentBefore).toBeLessThanOrEqual(size - doneBefore * MiB + 2 * MiB);
    expect(fs.readdirSync(path.join(dl, 'downloads'))).toEqual(['movie.mp4']);
    second.proc.stdin.end();
  }, 60_000);
});
