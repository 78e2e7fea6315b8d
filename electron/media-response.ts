import fs from 'node:fs';
import { mimeTypeOf } from './peer/media-types.js';
import { isRealPathInside } from './peer/safe-path.js';

/** A response for one shared file: status, headers and (for 200 and 206) a body stream. */
export interface MediaResponse {
  status: 200 | 206 | 404 | 416;
  headers: Record<string, string>;
  body?: fs.ReadStream;
}

// Not on Windows, where the lstat and real-path checks still apply.
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/**
 * Open an indexed file for reading only if it is still a plain file inside
 * the shared folder, the check v1 and v2 make before each upload (lstat, then
 * the real path). O_NOFOLLOW and the inode comparison close the window
 * between that check and the open, should a symlink be swapped in meanwhile.
 */
async function openShared(file: string, sharedRoot: string): Promise<{ handle: fs.promises.FileHandle; size: number } | undefined> {
  const before = await fs.promises.lstat(file).catch(() => undefined);
  if (!before?.isFile() || !(await isRealPathInside(sharedRoot, file))) return undefined;
  const handle = await fs.promises.open(file, fs.constants.O_RDONLY | O_NOFOLLOW).catch(() => undefined);
  if (!handle) return undefined;
  const now = await handle.stat().catch(() => undefined);
  if (!now?.isFile() || now.ino !== before.ino || now.dev !== before.dev) {
    await handle.close();
    return undefined;
  }
  return { handle, size: now.size };
}

/** Parse a single `bytes=` range against a file size; `null` when unsatisfiable, `undefined` when absent or unsupported. */
export function parseRange(header: string | null | undefined, size: number): { start: number; end: number } | null | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges or other units: ignore the header and send the whole file, as RFC 9110 allows.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return null;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end || start >= size) return null;
  return { start, end };
}

/**
 * Serve an indexed shared file for a preview (`<img>`, `<audio>`, `<video>`),
 * with byte ranges so players can seek. The caller has already resolved the
 * path through `peer.mediaPath`, so only indexed files ever get here; a file
 * that has since gone, or become a symlink, or left `sharedRoot`, is a 404.
 * The caller must destroy `body` if it does not send it (it holds the file open).
 */
export async function mediaResponse(file: string, sharedRoot: string, rangeHeader: string | null | undefined): Promise<MediaResponse> {
  const opened = await openShared(file, sharedRoot);
  if (!opened) return { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } };
  const { handle, size } = opened;
  const headers: Record<string, string> = {
    'Content-Type': mimeTypeOf(file),
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
  };
  const range = parseRange(rangeHeader, size);
  if (range === null) {
    await handle.close();
    return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${size}` } };
  }
  if (range === undefined) {
    return { status: 200, headers: { ...headers, 'Content-Length': String(size) }, body: handle.createReadStream() };
  }
  return {
    status: 206,
    headers: {
      ...headers,
      'Content-Length': String(range.end - range.start + 1),
      'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
    },
    body: handle.createReadStream({ start: range.start, end: range.end }),
  };
}
