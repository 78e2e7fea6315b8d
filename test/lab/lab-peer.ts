/**
 * A real terminal peer (`bin/mactella.mjs`) inside a lab namespace: its own
 * folders under the lab's directory, its prompt on stdin, its output lines
 * collected so a test can wait for one (bounded).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab } from './lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'mactella.mjs');

/** A terminal peer running in a lab host. */
export class LabPeer {
  readonly out: string[] = [];
  readonly dir: string;
  private rest = '';

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
    dir: string,
  ) {
    this.dir = dir;
    const take = (c: Buffer) => {
      const parts = (this.rest + c.toString()).split('\n');
      this.rest = parts.pop()!;
      this.out.push(...parts);
    };
    process.stdout?.on('data', take);
    process.stderr?.on('data', take);
  }

  /** Type a command at its prompt. */
  send(line: string): void {
    this.process.stdin?.write(`${line}\n`);
  }

  /** The first output line from `from` on that matches, waiting up to `timeoutMs`. */
  async waitFor(re: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpMatchArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (const l of this.out.slice(from)) {
        const m = l.match(re);
        if (m) return m;
      }
      if (this.process.exitCode !== null)
        throw new Error(`${this.name} exited (${this.process.exitCode}) before ${re}:\n${this.out.join('\n')}`);
      if (Date.now() > end) throw new Error(`${this.name}: no ${re} within ${timeoutMs} ms:\n${this.out.slice(-40).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Run a command and return the output lines it printed until `until` matched. */
  async command(line: string, until: RegExp, timeoutMs = 15_000): Promise<string[]> {
    const from = this.out.length;
    this.send(line);
    await this.waitFor(until, timeoutMs, from);
    return this.out.slice(from);
  }

  /** QUIT, or SIGTERM after a grace period. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.process.once('exit', () => r()));
    this.send('FORCEQUIT');
    const timer = setTimeout(() => this.process.kill('SIGTERM'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** Start a terminal peer in `host`, sharing `files` (name → content), listening on 0.0.0.0:`port`. */
export function startLabPeer(lab: Lab, host: string, port: number, args: string[], files: Record<string, string | Buffer> = {}): LabPeer {
  const dir = path.join(lab.dir, `peer-${host}`);
  for (const sub of ['share', 'data', 'downloads']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'share', name), content);
  const child = lab.spawn(
    host,
    process.execPath,
    [
      BIN,
      '--port',
      String(port),
      '--host',
      '0.0.0.0',
      '--share',
      path.join(dir, 'share'),
      '--data',
      path.join(dir, 'data'),
      '--downloads',
      path.join(dir, 'downloads'),
      '--no-watch',
      '--verbose',
      ...args,
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  return new LabPeer(host, child, dir);
}
