import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import type { Peer } from '../peer/peer.js';

/** Default cap on one uploaded file (4 GiB). */
export const DEFAULT_MAX_UPLOAD = 4 * 1024 ** 3;

/** Passes bytes through and fails once more than `limit` went by. */
class ByteLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) return cb(new Error('upload larger than announced'));
    cb(null, chunk);
  }
}

function reply(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

/**
 * `POST /upload?name=NAME`: a file dropped in the browser, streamed into the
 * shared folder through `peer.importStream` (safe name, a temp file of its own, linked into place when complete).
 * The body must announce its length, and that length is capped.
 */
export async function handleUpload(
  req: IncomingMessage,
  res: ServerResponse,
  peer: Pick<Peer, 'importStream'>,
  opts: { maxBytes: number; active: { count: number }; maxActive: number },
): Promise<void> {
  const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? '';
  const length = Number(req.headers['content-length']);
  if (!name || name.length > 1024) return reply(res, 400, { error: 'missing file name' });
  if (req.headers['content-length'] === undefined || !Number.isSafeInteger(length) || length < 0)
    return reply(res, 411, { error: 'the upload needs a Content-Length' });
  if (length > opts.maxBytes)
    return reply(res, 413, { error: `the file is larger than the ${Math.floor(opts.maxBytes / 1024 ** 2)} MB upload limit` });
  if (opts.active.count >= opts.maxActive) return reply(res, 429, { error: 'too many uploads at once; try again' });
  opts.active.count++;
  try {
    const body = req.pipe(new ByteLimit(length));
    req.on('error', (e) => body.destroy(e));
    const saved = await peer.importStream(name, body, length);
    reply(res, 200, { name: saved });
  } catch (e) {
    // Drain what the browser still sends, so it sees our answer rather than a reset.
    req.resume();
    reply(res, 400, { error: (e as Error).message });
  } finally {
    opts.active.count--;
  }
}
