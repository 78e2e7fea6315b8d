/** The one lifecycle of a peer. */
export type PeerStatus = 'starting' | 'running' | 'quitting' | 'stopped';

/**
 * A peer's status, moving only forward: starting → running → quitting → stopped
 * (a failed start goes straight to stopped). `quit` runs the shutdown once;
 * a forced quit during a graceful one cuts its wait short.
 */
export class Lifecycle {
  private current: PeerStatus = 'starting';
  private shutdown?: Promise<void>;
  private forced = false;

  get status(): PeerStatus {
    return this.current;
  }

  /** Starting or running: the peer takes new work. */
  get live(): boolean {
    return this.current === 'starting' || this.current === 'running';
  }

  /** True once a forced quit was asked for. */
  get force(): boolean {
    return this.forced;
  }

  running(): void {
    if (this.current !== 'starting') throw new Error(`cannot run a peer that is ${this.current}`);
    this.current = 'running';
  }

  /** A start that failed: undo what it began with `undo`, then the peer is stopped. */
  async failed(undo: () => Promise<void>): Promise<void> {
    this.current = 'quitting';
    try {
      await undo();
    } finally {
      this.current = 'stopped';
    }
  }

  /**
   * Quit once: the status is quitting at once, while `waitIdle` (which should
   * watch `force`) and then `close` run, and stopped after.
   */
  quit(force: boolean, waitIdle: () => Promise<void>, close: () => Promise<void>): Promise<void> {
    if (force) this.forced = true;
    this.shutdown ??= (async () => {
      this.current = 'quitting';
      await waitIdle();
      try {
        await close();
      } finally {
        this.current = 'stopped';
      }
    })();
    return this.shutdown;
  }
}

/** A start failure as one line, keeping its errno `code` (the app's busy-port fallback matches EADDRINUSE). */
export function startError(e: unknown): Error {
  const src = e as NodeJS.ErrnoException;
  const err: NodeJS.ErrnoException = new Error(`cannot start the peer: ${String(src?.message ?? e).split('\n')[0]}`);
  if (src?.code) err.code = src.code;
  return err;
}
