import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `mactella` command (the terminal peer's bin). */
// import.meta, not __dirname: bench/ runs this file under tsx as an ES module, where __dirname does not exist.
export const MACTELLA_BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'mactella.mjs');

export interface CliProcess {
  proc: ChildProcessWithoutNullStreams;
  out: string[];
  err: string[];
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  send(line: string): void;
  exited: Promise<number | null>;
}

/**
 * The options of a `mactella` with its share, data and downloads folders under
 * `root`: by default on 127.0.0.1, any free port (the lab's peers in their
 * namespaces listen on 0.0.0.0 and a fixed port).
 */
export function localPeerArgs(
  root: string,
  { downloads = 'downloads', extra = [] as string[], host = '127.0.0.1', port = 0 } = {},
): string[] {
  return [
    '--port',
    String(port),
    '--host',
    host,
    '--share',
    path.join(root, 'share'),
    '--data',
    path.join(root, 'data'),
    '--downloads',
    path.join(root, downloads),
    ...extra,
  ];
}

/** Run `mactella` as a child process (the real bin), collecting its output lines. */
export function spawnCli(args: string[]): CliProcess {
  const proc = spawn(process.execPath, [MACTELLA_BIN, ...args], { stdio: 'pipe', env: { ...process.env, NO_COLOR: '1' } });
  const out: string[] = [];
  const err: string[] = [];
  const split = (sink: string[]) => {
    let rest = '';
    return (c: Buffer) => {
      const parts = (rest + c.toString()).split('\n');
      rest = parts.pop()!;
      sink.push(...parts);
    };
  };
  proc.stdout.on('data', split(out));
  proc.stderr.on('data', split(err));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  return {
    proc,
    out,
    err,
    exited,
    send: (line) => proc.stdin.write(`${line}\n`),
    async waitFor(re, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        for (const l of out) {
          const m = l.match(re);
          if (m) return m;
        }
        if (proc.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no line matching ${re} in:\n${out.join('\n')}\n--- stderr:\n${err.join('\n')}`);
    },
  };
}
