import fs from 'node:fs';
import { mimeTypeOf } from './peer/media-types.js';

/** A response for one shared file: status, headers and (except for 416) a body stream. */
export interface MediaResponse {
  status: 200 | 206 | 416;
  headers: Record<string, string>;
  body?: fs.ReadStream;
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
 * path through `peer.mediaPath`, so only indexed files ever get here.
 */
export async function mediaResponse(file: string, rangeHeader: string | null | undefined): Promise<MediaResponse> {
  const st = await fs.promises.stat(file);
  const headers: Record<string, string> = {
    'Content-Type': mimeTypeOf(file),
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
  };
  const range = parseRange(rangeHeader, st.size);
  if (range === null) return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${st.size}` } };
  if (range === undefined) {
    return { status: 200, headers: { ...headers, 'Content-Length': String(st.size) }, body: fs.createReadStream(file) };
  }
  return {
    status: 206,
    headers: {
      ...headers,
      'Content-Length': String(range.end - range.start + 1),
      'Content-Range': `bytes ${range.start}-${range.end}/${st.size}`,
    },
    body: fs.createReadStream(file, { start: range.start, end: range.end }),
  };
}
