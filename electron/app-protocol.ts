import fs from 'node:fs';
import path from 'node:path';
import { RENDERER_CSP_HEADER } from './csp.js';
import { FileStreamSource } from './peer/stream/file-stream-source.js';
import { streamWebResponse } from './peer/stream/web-stream.js';
import type { StreamSource } from './peer/stream/stream-source.js';
import { staticContentType } from './static-types.js';

const notFound = () => new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain' } });

/**
 * The handler of `mactella-app://app/…`: files of the built renderer only.
 * The path is checked lexically and, after resolving symlinks, must still be
 * inside the renderer folder.
 */
export function appProtocolHandler(rendererDir: string): (req: Request) => Promise<Response> {
  const root = path.resolve(rendererDir);
  return async (req) => {
    const url = new URL(req.url);
    if (req.method !== 'GET' || url.host !== 'app') return notFound();
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return notFound();
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    if (rel.includes('\0') || rel.split('/').some((s) => s === '..' || s.startsWith('.'))) return notFound();
    const file = path.join(root, ...rel.split('/').filter(Boolean));
    const type = staticContentType(file);
    if (!type) return notFound();
    try {
      const real = await fs.promises.realpath(file);
      const realRoot = await fs.promises.realpath(root);
      if (!real.startsWith(realRoot + path.sep)) return notFound();
      const body = await fs.promises.readFile(real);
      const headers: Record<string, string> = { 'Content-Type': type, 'X-Content-Type-Options': 'nosniff' };
      if (type.startsWith('text/html')) headers['Content-Security-Policy'] = RENDERER_CSP_HEADER;
      return new Response(body, { status: 200, headers });
    } catch {
      return notFound();
    }
  };
}

/**
 * The handler of `mactella-media://local/NAME`: previews of files in the
 * peer's index, and nothing else (`mediaPath` knows only indexed files),
 * still plain files inside `sharedRoot()` when they are opened, answered
 * by the same streaming core as streams. And of
 * `mactella-media://stream/ID`: an open stream, answered with Range here
 * (a `net.fetch` of a file URL would ignore Range, electron#38749), bytes
 * served only once verified and waited for when missing.
 */
export function mediaProtocolHandler(
  mediaPath: (name: string) => string | undefined,
  sharedRoot: () => string,
  streamSource?: (id: string) => StreamSource | undefined,
): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (url.host === 'stream' && streamSource && (req.method === 'GET' || req.method === 'HEAD')) {
      const source = streamSource(url.pathname.replace(/^\//, ''));
      return source ? streamWebResponse(source, req) : notFound();
    }
    if (req.method !== 'GET' || url.host !== 'local') return notFound();
    let name: string;
    try {
      name = decodeURIComponent(url.pathname.replace(/^\//, ''));
    } catch {
      return notFound();
    }
    const file = mediaPath(name);
    if (!file) return notFound();
    // Gone, swapped for a symlink, or out of the shared folder since indexing: not found.
    const source = await FileStreamSource.open(file, { root: sharedRoot() }).catch(() => undefined);
    if (!source) return notFound();
    return streamWebResponse(source, req, {}, () => void source.close().catch(() => {}));
  };
}
