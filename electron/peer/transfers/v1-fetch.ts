import crypto from 'node:crypto';
import fs from 'node:fs';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerAddress } from '../../../shared/types.js';
import { V1GetHeaderParser, listV1 } from '../v1/client.js';
import { readUntil } from '../net/read-until.js';
import { connectTcp } from '../v2/connection.js';
import type { Download } from './download.js';
import { diskError, TransferError } from './source-conn.js';
import { SocketReader } from './socket-reader.js';

/** What a seed-peer GET needs from the download side. */
interface V1FetchContext {
  connectTimeoutMs?: number;
  /** Milliseconds to wait after receiving `n` bytes for download `d` (bandwidth limits). */
  throttle: (d: Download, n: number) => number;
  onBytes: (n: number) => void;
  /** The size is known: persist it before data arrives. */
  saveState: (d: Download) => Promise<void>;
  /** Throws when `need` more bytes do not fit on the disk. */
  ensureSpace: (need: number) => Promise<void>;
  /** Checked as data arrives: an error here (the disk filling up) stops the download. */
  guard: (d: Download) => Error | undefined;
}

/** A whole-file GET from a seed peer (no ranges: a resume starts over). */
export async function fetchV1(ctx: V1FetchContext, d: Download, source: PeerAddress, signal: AbortSignal): Promise<void> {
  let expected = d.info.total || undefined;
  if (expected === undefined) {
    const listing = await listV1(source.host, source.port).catch(() => []);
    expected = listing.find((f) => f.name === d.info.name)?.size;
  }
  const socket = await connectTcp(source.host, source.port, ctx.connectTimeoutMs ?? 5000, signal);
  const onAbort = () => socket.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    socket.write(`GET,${d.info.name},${source.host},${source.port}`);
    const parser = new V1GetHeaderParser(expected);
    const rest = await readSizeHeader(socket, parser);
    if (d.expectedSize !== undefined && parser.size !== d.expectedSize)
      throw new TransferError(`source claims ${parser.size} bytes, the search hit said ${d.expectedSize}`);
    await ctx.ensureSpace(parser.size!);
    d.info.total = parser.size!;
    d.info.bytes = 0;
    await ctx.saveState(d);
    await receiveV1(ctx, d, socket, rest, parser.size!);
  } finally {
    signal.removeEventListener('abort', onAbort);
    socket.destroy();
  }
}

/** Read until the seed's size header is parsed; resolves with the data after it. No time limit: aborting destroys the socket. */
function readSizeHeader(socket: net.Socket, parser: V1GetHeaderParser): Promise<Buffer> {
  const take = (c: Buffer): Buffer | undefined => {
    const rest = parser.push(c);
    if (parser.error) throw new TransferError(parser.error);
    return parser.size === undefined ? undefined : (rest ?? Buffer.alloc(0));
  };
  const closed = (): never => {
    throw new TransferError('source closed before sending the size');
  };
  return readUntil(socket, take, 0, 'the size', { closed });
}

/** Stream a seed peer's whole file into the `.part` from offset 0, with back-pressure and limits. */
async function receiveV1(ctx: V1FetchContext, d: Download, socket: net.Socket, first: Buffer, length: number): Promise<void> {
  const hash = crypto.createHash('sha256');
  await d.whole?.close();
  d.whole = undefined;
  if (d.pieces) d.pieces.have.clear();
  const reader = new SocketReader(socket, first);
  const fh = await fs.promises.open(d.partPath!, 'w');
  try {
    let got = 0;
    let pending: Promise<unknown> | undefined;
    while (got < length) {
      const c = await reader.read(length - got, 30_000);
      if (!c) throw new TransferError(`source went away after ${got} of ${length} bytes`);
      const stop = ctx.guard(d);
      if (stop) throw stop;
      const at = got;
      got += c.length;
      hash.update(c);
      ctx.onBytes(c.length);
      await pending;
      pending = fh.write(c, 0, c.length, at).then(
        () => (d.info.bytes = at + c.length),
        (e: NodeJS.ErrnoException) => {
          throw diskError(e);
        },
      );
      pending.catch(() => {});
      const wait = ctx.throttle(d, c.length);
      if (wait > 0) await sleep(wait);
    }
    await pending;
    const digest = hash.digest('hex');
    d.whole = { digest: () => Promise.resolve(digest), close: () => {} };
  } finally {
    await fh.close();
  }
}
