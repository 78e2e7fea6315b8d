import { streamResponse } from './stream-response.js';
import type { StreamSource } from './stream-source.js';

/**
 * Answer a WHATWG `Request` (Electron's `protocol.handle`) from `source` with
 * Range support. The body is pulled as the player reads; cancelling it, or
 * the request's own signal, aborts any wait for missing bytes. `onEnd` runs
 * once when the answer is over (sent, failed, cancelled or aborted), for
 * a caller that opened `source` just for this answer and must close it.
 */
export function streamWebResponse(
  source: StreamSource,
  request: Request,
  extraHeaders: Record<string, string> = {},
  onEnd: () => void = () => {},
): Response {
  const gone = new AbortController();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    request.signal?.removeEventListener('abort', onAbort);
    onEnd();
  };
  const onAbort = () => {
    gone.abort();
    end();
  };
  request.signal?.addEventListener('abort', onAbort, { once: true });
  const answer = streamResponse(source, { method: request.method, range: request.headers.get('range') }, gone.signal);
  const headers = { ...answer.headers, ...extraHeaders };
  if (!answer.body) {
    end();
    return new Response(null, { status: answer.status, headers });
  }
  const chunks = answer.body[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) {
            end();
            controller.close();
          } else controller.enqueue(new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        } catch (err) {
          end();
          // After a cancel the stream is closed already and this is a no-op (the spec checks the state).
          controller.error(err);
        }
      },
      cancel() {
        gone.abort();
        end();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: answer.status, headers });
}
