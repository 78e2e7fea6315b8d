import fs from 'node:fs';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

interface SendOptions {
  /** Bytes per read and socket write. */
  chunkSize?: number;
  /** Called per chunk sent; returns how many milliseconds to wait before the next (bandwidth limits). */
  onChunk?: (bytes: number) => number;
  /** A peer that takes no data for this long is cut off (its upload slot is freed). 0 = never. */
  stallMs?: number;
}

/** Reads in flight or waiting in the socket: enough to keep both busy, few enough to stay in the CPU cache. */
const BUFFERS = 4;
const CHUNK = 256 * 1024;

/**
 * Send `length` bytes of a file from `offset` down a socket, reading into a
 * few buffers that are reused once the socket has taken their data. Compared
 * with `createReadStream().pipe()` (a fresh 64 KiB-1 MiB buffer per read),
 * nothing is allocated per chunk, so there is no garbage to collect, and the
 * data the kernel copies out is still in the CPU cache. Resolves true once
 * everything was handed to the socket, false if the connection was lost or
 * the file could not be read (the socket is then destroyed).
 */
export async function sendFileRange(
  socket: net.Socket,
  file: string,
  offset: number,
  length: number,
  opts: SendOptions = {},
): Promise<boolean> {
  const size = opts.chunkSize ?? CHUNK;
  const free: Buffer[] = Array.from({ length: BUFFERS }, () => Buffer.allocUnsafe(size));
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on('close', notify);
  socket.on('drain', notify);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(file, 'r');
    let sent = 0;
    while (sent < length) {
      // Wait for a free buffer and for the socket to want more; a reader that takes nothing is cut off.
      while (!socket.destroyed && (free.length === 0 || socket.writableNeedDrain))
        await waitOrStall(socket, opts.stallMs ?? 0, (r) => (wake = r));
      if (socket.destroyed) return false;
      const buf = free.pop()!;
      const { bytesRead } = await fh.read(buf, 0, Math.min(size, length - sent), offset + sent);
      if (bytesRead === 0) throw new Error('file shorter than expected');
      sent += bytesRead;
      socket.write(bytesRead === size ? buf : buf.subarray(0, bytesRead), () => {
        free.push(buf);
        notify();
      });
      const wait = opts.onChunk?.(bytesRead) ?? 0;
      if (wait > 0) await sleep(wait);
    }
    return !socket.destroyed;
  } catch {
    socket.destroy();
    return false;
  } finally {
    socket.off('close', notify);
    socket.off('drain', notify);
    await fh?.close().catch(() => {});
  }
}

/** Wait for `arm`'s wake-up; after `stallMs` without one, destroy the socket (which wakes it through 'close'). */
async function waitOrStall(socket: net.Socket, stallMs: number, arm: (wake: () => void) => void): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((r) => {
      arm(r);
      if (stallMs > 0) timer = setTimeout(() => socket.destroy(), stallMs);
    });
  } finally {
    clearTimeout(timer);
  }
}
