import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomMedia } from './media.js';
import { ROOT } from './paths.js';

/** One real MacTella process (`mactella` or `mactella serve`) with its own folders. */
export interface PeerProcess {
  name: string;
  /** `127.0.0.1:PORT` of its peer. */
  address: string;
  port: number;
  share: string;
  downloads: string;
  data: string;
  /** The web UI URL (serve only). */
  uiUrl?: string;
  /** Everything printed on stdout so far. */
  output(): string;
  /** Type a line at the terminal peer's prompt. */
  type(line: string): void;
  /** Wait until stdout matches. */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

const roots: string[] = [];

/** A temp folder with share/, downloads/ and data/, removed by {@link removeTempFolders}. */
export function tempFolders(name: string): { share: string; downloads: string; data: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `mactella-e2e-${name}-`));
  roots.push(root);
  const f = { share: path.join(root, 'share'), downloads: path.join(root, 'downloads'), data: path.join(root, 'data') };
  for (const d of Object.values(f)) fs.mkdirSync(d, { recursive: true });
  return f;
}

export function removeTempFolders(): void {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
}

/**
 * Start `node bin/mactella.mjs [serve] --port 0 --host 127.0.0.1 ...` and wait
 * for its `listening on HOST:PORT` line (and, for serve, the UI line).
 */
export async function startProcess(opts: {
  name: string;
  serve?: boolean;
  files?: Record<string, Buffer>;
  peers?: string[];
  args?: string[];
  timeoutMs?: number;
}): Promise<PeerProcess> {
  const f = tempFolders(opts.name);
  for (const [name, data] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(f.share, name), data);
  const args = [
    path.join(ROOT, 'bin', 'mactella.mjs'),
    ...(opts.serve ? ['serve', '--ui-port', '0'] : []),
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--share',
    f.share,
    '--downloads',
    f.downloads,
    '--data',
    f.data,
    ...(opts.peers ?? []).flatMap((p) => ['--peer', p]),
    ...(opts.args ?? []),
  ];
  // stdin stays open: the terminal peer treats the end of its input as QUIT.
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, { cwd: ROOT, stdio: 'pipe' });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    waiters.forEach((w) => w());
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));

  const waitForOutput = (re: RegExp, timeoutMs = 20_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(re);
        if (m) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(m);
        } else if (child.exitCode !== null) {
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`${opts.name} exited (${child.exitCode}) before printing ${re}:\n${out}\n${err}`));
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`${opts.name} did not print ${re} within ${timeoutMs} ms:\n${out}\n${err}`));
      }, timeoutMs);
      waiters.add(check);
      child.once('exit', check);
      check();
    });

  const listening = await waitForOutput(/listening on ([\d.]+):(\d+)/, opts.timeoutMs);
  const ui = opts.serve ? (await waitForOutput(/MacTella UI: (http:\/\/\S+)/, opts.timeoutMs))[1] : undefined;
  return {
    name: opts.name,
    address: `${listening[1]}:${listening[2]}`,
    port: Number(listening[2]),
    ...f,
    uiUrl: ui,
    output: () => out,
    type: (line) => child.stdin.write(`${line}\n`),
    waitForOutput,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** The two source peers of the core-path specs and the video they both share. */
export interface VideoSources {
  a: PeerProcess;
  /** Knows A; also shares a song. */
  b: PeerProcess;
  /** 12 MiB of random bytes, shared by both as holiday-beach.mp4. */
  video: Buffer;
  stop(): Promise<void>;
}

/**
 * Start A, and B that knows A. Both share the same video (so its download has
 * two sources) and cap their uploads at 1 MB/s (so its progress bar is seen
 * moving); B also shares a song, A `moreOnA`.
 */
export async function startVideoSources(prefix: string, moreOnA: Record<string, Buffer> = {}): Promise<VideoSources> {
  const video = randomMedia(12 * 1024 * 1024);
  const up = ['--max-up', '1m'];
  const a = await startProcess({ name: `${prefix}a`, files: { 'holiday-beach.mp4': video, ...moreOnA }, args: up });
  try {
    const song = randomMedia(300_000);
    const b = await startProcess({
      name: `${prefix}b`,
      peers: [a.address],
      files: { 'holiday-beach.mp4': video, 'beach-song.mp3': song },
      args: up,
    });
    return { a, b, video, stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
  } catch (e) {
    await a.stop();
    throw e;
  }
}
