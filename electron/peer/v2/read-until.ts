import type net from 'node:net';

/**
 * One read from a socket that another part owns before and after: each chunk
 * goes to `take`, which returns the result once it has what it wants
 * (undefined: wait for more; a throw rejects). Rejects when the socket closes
 * first or after `timeoutMs`, naming `what`. Either way the socket is left
 * paused with none of these listeners, ready for its next reader.
 */
export function readUntil<T>(socket: net.Socket, take: (chunk: Buffer) => T | undefined, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      fn();
    };
    const onData = (c: Buffer) => {
      let got: T | undefined;
      try {
        got = take(c);
      } catch (e) {
        return done(() => reject(e as Error));
      }
      if (got !== undefined) done(() => resolve(got));
    };
    const onClose = () => done(() => reject(new Error(`connection closed before ${what}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${what}`))), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.resume();
  });
}
