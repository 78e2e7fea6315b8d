import { streamResponse } from './stream-response.js';
import type { StreamSource } from './stream-source.js';

/**
 * Answer a WHATWG `Request` (Electron's `protocol.handle`) from `source` with
 * Range support. The body is pulled as the player reads; cancelling it, or
 * the request's own signal, aborts any wait for missing bytes.
 */
export function streamWebResponse(source: StreamSource, request: Request, extraHeaders: Record<string, string> = {}): Response {
  const gone = new AbortController();
  const onAbort = () => gone.abort();
  request.signal?.addEventListener('abort', onAbort, { once: true });
  const answer = streamResponse(source, { method: request.method, range: request.headers.get('range') }, gone.signal);
  const headers = { ...answer.headers, ...extraHeaders };
  if (!answer.body) return new Response(null, { status: answer.status, headers });
  const chunks = answer.body[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) {
            request.signal?.removeEventListener('abort', onAbort);
            controller.close();
          } else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        } catch (err) {
          // After a cancel the stream is closed already and this is a no-op (the spec checks the state).
          controller.error(err);
        }
      },
      cancel() {
        gone.abort();
        request.signal?.removeEventListener('abort', onAbort);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: answer.status, headers });
}
