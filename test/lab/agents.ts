/**
 * Start lab agents (test/lab/agent.ts) inside namespaces and wait for the
 * JSON events they print, each wait bounded by a timeout.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentJob } from './agent.js';
import type { Lab } from './lab.js';

const AGENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'agent.ts');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One JSON line an agent printed. */
export interface AgentEvent {
  event: string;
  t: number;
  [key: string]: unknown;
}

/** A running agent. */
export class Agent {
  readonly events: AgentEvent[] = [];
  stderr = '';
  private waiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly process: ChildProcess,
  ) {
    let buf = '';
    process.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as AgentEvent);
        } catch {
          this.stderr += `(stdout) ${line}\n`;
        }
        this.notify();
      }
    });
    process.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    process.on('exit', () => this.notify());
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** The first event (from the start) that matches, waiting up to `timeoutMs`. */
  async waitFor(match: (e: AgentEvent) => boolean, timeoutMs: number, what = 'event'): Promise<AgentEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(match);
      if (hit) return hit;
      const error = this.events.find((e) => e.event === 'error');
      if (error) throw new Error(`${this.name}: ${String(error.message)}\n${this.stderr}`);
      if (this.process.exitCode !== null) throw new Error(`${this.name} exited (${this.process.exitCode}) before ${what}\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms\nevents: ${JSON.stringify(this.events)}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Ask it to stop (SIGTERM) and wait for it to exit. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs))]);
  }
}

/** Start an agent in a lab host. */
export function startAgent(lab: Lab, host: string, job: AgentJob): Agent {
  const child = lab.spawn(host, process.execPath, ['--import', 'tsx', AGENT, JSON.stringify(job)], { cwd: ROOT });
  return new Agent(`${host}(${job.kind})`, child);
}
