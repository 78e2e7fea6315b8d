import type net from 'node:net';

/** How one read ends when the chunks alone do not end it. */
interface ReadUntilOptions<T> {
  /** Bytes already read from the socket: given to `take` before any new ones. */
  initial?: Buffer;
  /**
   * The socket closed (or failed with `error`) before `take` had what it
   * wanted: return the result, or throw to reject. Default: reject with
   * "connection closed before <what>".
   */
  closed?: (error?: Error) => T;
  /** The message on timeout. Default: "timed out waiting for <what>". */
  timedOut?: string;
}

/**
 * One read from a socket that another part owns before and after: each chunk
 * goes to `take`, which returns the result once it has what it wants
 * (undefined: wait for more; a throw rejects). Ends early when the socket
 * closes (see `closed`) and rejects after `timeoutMs` (0: no time limit),
 * naming `what`. Either way the socket is left paused with none of these
 * listeners, ready for its next reader (or for the caller to destroy it).
 */
export function readUntil<T>(
  socket: net.Socket,
  take: (chunk: Buffer) => T | undefined,
  timeoutMs: number,
  what: string,
  opts: ReadUntilOptions<T> = {},
): Promise<T> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn: () => void) => {
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      fn();
    };
    const settle = (step: () => T | undefined) => {
      let got: T | undefined;
      try {
        got = step();
      } catch (e) {
        return done(() => reject(e as Error));
      }
      if (got !== undefined) done(() => resolve(got));
    };
    const onData = (c: Buffer) => settle(() => take(c));
    const closed =
      opts.closed ??
      (() => {
        throw new Error(`connection closed before ${what}`);
      });
    // 'close' passes a boolean (had an error); only an 'error' event passes the Error.
    const onEnd = (e?: unknown) => {
      const error = e instanceof Error ? e : undefined;
      settle(() => closed(error));
      if (!settled) done(() => reject(new Error(`connection closed before ${what}`)));
    };
    const timer =
      timeoutMs > 0
        ? setTimeout(() => done(() => reject(new Error(opts.timedOut ?? `timed out waiting for ${what}`))), timeoutMs)
        : undefined;
    if (opts.initial?.length) onData(opts.initial);
    if (settled) return;
    socket.on('data', onData);
    socket.on('close', onEnd);
    socket.on('error', onEnd);
    socket.resume();
  });
}
