/**
 * A real terminal peer (`bin/mactella.mjs`) inside a lab namespace: its own
 * folders under the lab's directory, its prompt on stdin, its output lines
 * collected so a test can wait for one (bounded).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localPeerArgs, MACTELLA_BIN } from '../helpers/cli.js';
import type { Lab } from './lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A `found:` line of a search: the file name, the address exactly as printed, and the whole line. */
export interface Hit {
  name: string;
  address: string;
  line: string;
}

/** The hits among output lines, by file name. */
export function parseHits(lines: string[]): Map<string, Hit> {
  const hits = new Map<string, Hit>();
  for (const line of lines) {
    const m = /^found: (\S+) .* at (\S+) \[/.exec(line);
    if (m) hits.set(m[1]!, { name: m[1]!, address: m[2]!, line });
  }
  return hits;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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

  /** Its peer ID, once it printed it. */
  async id(timeoutMs = 15_000): Promise<string> {
    return (await this.waitFor(/^peer id: (\S+)/, timeoutMs))[1]!;
  }

  /** One search round: SEARCH for `word`, and the hits printed within `waitMs`. */
  async search(word: string, waitMs = 1500): Promise<Map<string, Hit>> {
    const from = this.out.length;
    this.send(`SEARCH,${word},4`);
    await new Promise((r) => setTimeout(r, waitMs));
    return parseHits(this.out.slice(from));
  }

  /** Search rounds for `word` until `done` holds for a round's hits (the overlay may still be linking up). */
  async searchUntil(word: string, done: (hits: Map<string, Hit>) => boolean, timeoutMs = 20_000): Promise<Map<string, Hit>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hits = await this.search(word);
      if (done(hits)) return hits;
      if (Date.now() > end)
        throw new Error(`${this.name} searched "${word}" for ${timeoutMs} ms; last found: ${[...hits.keys()].join(', ')}`);
    }
  }

  /** GET `name` from `source` (as a hit printed it, or HOST,PORT) and return the output until it ended. */
  download(name: string, source: string, timeoutMs = 60_000): Promise<string[]> {
    return this.command(`GET,${name},${source}`, new RegExp(`GET ${escapeRe(name)}: (complete|FAILED|cancelled)`), timeoutMs);
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

/** Build the CLI bundle once, before peers in several namespaces would each build it at the same moment. */
export function buildCliOnce(): void {
  execFileSync(process.execPath, [MACTELLA_BIN, '--help'], { stdio: 'ignore', timeout: 60_000 });
}

/** Start a terminal peer in `host`, sharing `files` (name → content), listening on 0.0.0.0:`port`. */
export function startLabPeer(lab: Lab, host: string, port: number, args: string[], files: Record<string, string | Buffer> = {}): LabPeer {
  const dir = path.join(lab.dir, `peer-${host}`);
  for (const sub of ['share', 'data', 'downloads']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'share', name), content);
  const child = lab.spawn(
    host,
    process.execPath,
    [MACTELLA_BIN, ...localPeerArgs(dir, { host: '0.0.0.0', port, extra: ['--no-watch', '--verbose', ...args] })],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  return new LabPeer(host, child, dir);
}

/** What {@link startLabPeers} starts: host, port, extra options, shared files. */
export type LabPeerSpec = [host: string, port: number, args: readonly string[], files?: Record<string, string | Buffer>];

/** Start terminal peers and wait until each printed its peer ID (pushing each into `into` first, for clean-up). */
export async function startLabPeers(lab: Lab, specs: readonly LabPeerSpec[], into: LabPeer[] = []): Promise<LabPeer[]> {
  const peers = specs.map(([host, port, args, files]) => startLabPeer(lab, host, port, [...args], files));
  into.push(...peers);
  for (const p of peers) await p.waitFor(/^peer id:/, 30_000);
  return peers;
}
