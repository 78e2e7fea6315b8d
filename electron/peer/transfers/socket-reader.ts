import type net from 'node:net';
import type { FrameDecoder } from '../v2/frame.js';
import type { V2Message } from '../v2/messages.js';

/**
 * Pull-style reads over a socket with back-pressure: at most `highWater`
 * bytes are buffered before the socket is paused. Frames and raw data can be
 * read in turn on the same connection.
 */
export class SocketReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private error?: Error;
  private wake?: () => void;

  constructor(
    private readonly socket: net.Socket,
    initial?: Buffer,
    private readonly highWater = 1 << 20,
  ) {
    if (initial?.length) this.push(initial);
    socket.on('data', (c: Buffer) => this.push(c));
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (e) => {
      this.error = e;
      this.finish();
    });
    socket.resume();
  }

  get closed(): boolean {
    return this.ended && this.chunks.length === 0;
  }

  private push(c: Buffer): void {
    this.chunks.push(c);
    this.buffered += c.length;
    if (this.buffered >= this.highWater) this.socket.pause();
    this.notify();
  }

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next chunk, at most `max` bytes; undefined when the connection ended. */
  async read(max = Infinity, timeoutMs = 0): Promise<Buffer | undefined> {
    while (this.chunks.length === 0) {
      if (this.ended) return undefined;
      await new Promise<void>((resolve, reject) => {
        const timer = timeoutMs > 0 ? setTimeout(() => reject(new Error('timed out waiting for data')), timeoutMs) : undefined;
        this.wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
    }
    let c = this.chunks[0]!;
    if (c.length > max) {
      this.chunks[0] = c.subarray(max);
      c = c.subarray(0, max);
    } else this.chunks.shift();
    this.buffered -= c.length;
    if (this.buffered < this.highWater && !this.ended) this.socket.resume();
    return c;
  }

  unshift(c: Buffer): void {
    if (!c.length) return;
    this.chunks.unshift(c);
    this.buffered += c.length;
  }

  /** Read one frame; undefined when the connection ended first. Bytes after it stay buffered. */
  async frame(decoder: FrameDecoder, timeoutMs = 0): Promise<V2Message | undefined> {
    for (;;) {
      const m = decoder.next();
      if (m) {
        this.unshift(decoder.takeRest());
        return m;
      }
      const c = await this.read(Infinity, timeoutMs);
      if (!c) return undefined;
      decoder.append(c);
    }
  }

  get failure(): Error | undefined {
    return this.error;
  }
}
