import { parseRangeHeader, type ByteRange } from './byte-range.js';
import { abortError, verifiedEnd, type StreamSource } from './stream-source.js';

/** Bytes read and sent at once: small enough to start playback quickly, large enough to keep syscalls few. */
const STREAM_CHUNK = 256 * 1024;

/** The parts of a request the answer depends on, whatever server received it. */
interface StreamRequest {
  method: string | undefined;
  range: string | null | undefined;
}

/** A framework-free answer: status, headers, and for GET with bytes to send, the body. */
interface StreamResponse {
  status: 200 | 206 | 405 | 416;
  headers: Record<string, string>;
  body?: AsyncIterable<Buffer>;
}

/**
 * Answer a GET or HEAD for `source`, honouring `Range` (see byte-range.ts
 * for the choices made). The body yields only verified bytes: it waits for
 * missing ones, and ends with an error (the adapter cuts the connection)
 * when `signal` aborts or the source fails. A 200 or 206 is sent at once,
 * since the size is known before any byte has arrived.
 */
export function streamResponse(source: StreamSource, req: StreamRequest, signal: AbortSignal): StreamResponse {
  const headers: Record<string, string> = {
    'Content-Type': source.mime,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; sandbox",
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return { status: 405, headers: { ...headers, Allow: 'GET, HEAD', 'Content-Length': '0' } };
  }
  const asked = parseRangeHeader(req.range, source.size);
  if (asked.kind === 'unsatisfiable') {
    return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${source.size}`, 'Content-Length': '0' } };
  }
  const range = asked.kind === 'partial' ? asked.range : { start: 0, end: source.size };
  headers['Content-Length'] = String(range.end - range.start);
  if (asked.kind === 'partial') headers['Content-Range'] = `bytes ${range.start}-${range.end - 1}/${source.size}`;
  const status = asked.kind === 'partial' ? 206 : 200;
  if (req.method === 'HEAD' || range.end === range.start) return { status, headers };
  return { status, headers, body: verifiedBytes(source, range, signal) };
}

/** The bytes of `range`, in order, each chunk read only after it is verified. */
async function* verifiedBytes(source: StreamSource, range: ByteRange, signal: AbortSignal): AsyncGenerator<Buffer> {
  let pos = range.start;
  while (pos < range.end) {
    if (signal.aborted) throw abortError(signal);
    const want = Math.min(range.end, pos + STREAM_CHUNK);
    let ready = verifiedEnd(source.verifiedRanges(), pos);
    if (ready <= pos) {
      await source.waitForVerified(pos, want, signal);
      ready = want;
    }
    const end = Math.min(want, ready);
    const bytes = await source.read(pos, end);
    pos = end;
    yield bytes;
  }
}
