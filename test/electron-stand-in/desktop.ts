/**
 * Building the desktop app and booting its main process in Node with the
 * recording `electron` stand-in (electron.mjs), for tests. The Electron
 * binary cannot exist on CI; everything but Electron itself is real: the
 * built bundle, the peer, its sockets and folders.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const ELECTRON_VITE = path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
const REGISTER = path.join(__dirname, 'register.mjs');

/** Run a Node script to completion within `timeoutMs`; rejects with its output on failure. */
export function runNode(args: string[], { cwd = ROOT, timeoutMs = 120_000, env = {} as NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out after ${timeoutMs} ms: node ${args.join(' ')}\n${out}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`exit ${code}: node ${args.join(' ')}\n${out.slice(-4000)}`));
    });
  });
}

/** `electron-vite build` into `outDir` (main, preload, renderer); about two seconds. */
export async function buildDesktop(outDir: string): Promise<void> {
  await runNode([ELECTRON_VITE, 'build', '--outDir', outDir, '--logLevel', 'warn']);
}

export interface StandInEvent {
  what: string;
  [key: string]: unknown;
}

/** One booted main process and the commands the stand-in understands (see electron.mjs). */
export class StandInApp {
  readonly events: StandInEvent[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly waiters = new Set<() => void>();

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: { type: string; id?: number; ok?: boolean; value?: unknown; error?: string } & StandInEvent) => {
      if (m.type === 'reply' && m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.value);
        else p?.reject(new Error(m.error));
      } else if (m.type === 'event') this.events.push(m);
      this.wake();
    });
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      this.wake();
    });
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const p of this.pending.values()) p.reject(new Error(`main process exited\n${this.stderr}`));
      this.pending.clear();
      this.wake();
    });
  }

  /** Boot `<outDir>/main/index.js` with `args` after `--` (peer options), as `electron . -- ARGS` would. */
  static boot(outDir: string, args: string[], home: string): StandInApp {
    const env: NodeJS.ProcessEnv = { ...process.env, MACTELLA_STAND_IN_HOME: home };
    delete env.ELECTRON_RENDERER_URL;
    const child = fork(path.join(outDir, 'main', 'index.js'), ['--', ...args], {
      cwd: ROOT,
      env,
      execArgv: ['--import', REGISTER],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child.stdout!.resume();
    return new StandInApp(child);
  }

  /** Ask the stand-in to act as Electron would (call an IPC handler, fetch a protocol URL, quit...). */
  call<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`stand-in command ${cmd} timed out\n${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ ...args, cmd, id });
    });
  }

  /** Wait (bounded) until `cond` holds, re-checked on every message and log line. */
  async until<T>(what: string, cond: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = cond();
      if (v) return v;
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(
          `waiting for ${what}: ${this.child.exitCode !== null ? `main exited (${this.child.exitCode})` : 'timed out'}\n${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, Math.min(250, deadline - Date.now())));
        this.waiters.add(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** The event `what`, once it has been reported. */
  event(what: string, timeoutMs?: number): Promise<StandInEvent> {
    return this.until(`event ${what}`, () => this.events.find((e) => e.what === what), timeoutMs);
  }

  /** The peer's "listening on HOST:PORT" line. */
  async listening(): Promise<{ host: string; port: number }> {
    const m = await this.until('listening line', () => /listening on (\S+):(\d+)/.exec(this.stderr) ?? undefined);
    return { host: m[1] ?? '', port: Number(m[2]) };
  }

  /** Stop the child if a test left it running. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
}
