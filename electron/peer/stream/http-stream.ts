import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { streamResponse } from './stream-response.js';
import type { StreamSource } from './stream-source.js';

/**
 * Answer a Node HTTP request from `source` with Range support. Writes
 * respect back-pressure; when the client goes away (the response closes
 * early) any wait for missing bytes is aborted at once. Resolves when the
 * answer is complete or abandoned; never rejects.
 */
export async function serveStream(
  req: IncomingMessage,
  res: ServerResponse,
  source: StreamSource,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once('close', onClose);
  try {
    const answer = streamResponse(source, { method: req.method, range: req.headers.range }, gone.signal);
    res.writeHead(answer.status, { ...answer.headers, ...extraHeaders });
    if (!answer.body) return void res.end();
    // Send the headers now: the player learns the size while the first bytes may still be on their way.
    res.flushHeaders();
    for await (const chunk of answer.body) {
      if (!res.write(chunk)) await once(res, 'drain', { signal: gone.signal });
    }
    res.end();
  } catch {
    // The length was promised in the headers: a cut connection is the only honest way to say "not all of it".
    res.destroy();
  } finally {
    res.off('close', onClose);
  }
}
