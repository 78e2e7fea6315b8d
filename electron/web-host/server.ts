import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RENDERER_CSP_HEADER } from '../csp.js';
import type { Logger } from '../peer/logger.js';
import type { OperationHandlers } from '../peer/operations.js';
import type { Peer } from '../peer/peer.js';
import { FileStreamSource } from '../peer/stream/file-stream-source.js';
import { serveStream } from '../peer/stream/http-stream.js';
import type { StreamSource } from '../peer/stream/stream-source.js';
import { checkRequest, type TokenCarrier } from './guard.js';
import { loadStaticFiles, staticKey } from './static-files.js';
import { DEFAULT_MAX_UPLOAD, handleUpload } from './upload.js';
import { createWsBridge } from './ws-bridge.js';

/** What the web host needs from the peer: its events, previews (and the shared folder they must stay in) and browser uploads. */
export type WebHostPeer = Pick<Peer, 'events' | 'mediaPath' | 'importStream'> & { settings(): { sharedDir: string } };

export interface WebHostOptions {
  peer: WebHostPeer;
  /** The contract's operations (`createOperations(peer)`); the only way the browser reaches the peer. */
  operations: OperationHandlers;
  /** Folder of the built renderer (dist-web). */
  webRoot: string;
  host: string;
  port: number;
  token: string;
  log: Logger;
  maxUploadBytes?: number;
  /** Open streams by id (`/stream/ID`): files the player reads while they arrive. */
  streams?: { source(id: string): StreamSource | undefined };
}

export interface WebHost {
  /** Where the server listens. */
  address: { host: string; port: number };
  /** The URL to open, with the token in its fragment (never sent to a server, kept by the page). */
  url: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...extra });
  res.end(`${text}\n`);
}

/** `http://HOST:PORT` as a browser should be pointed at it (a wildcard bind is reached on loopback). */
function displayHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** The path of a request, for log lines: never its query, which may carry the token. */
function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    return '(bad URL)';
  }
}

/**
 * The headless web host: the built renderer, `/media/NAME` previews of
 * indexed files, `/upload` for dropped files, and the contract over `/ws`.
 * Every request must pass the Host and Origin checks; all but the public
 * files of the UI also need the token, in the place `TokenCarrier` says.
 */
export async function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const files = await loadStaticFiles(opts.webRoot);
  const maxUpload = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  const uploads = { count: 0 };
  let port = opts.port;

  const guard = (req: IncomingMessage, originRequired: boolean, carrier: TokenCarrier) =>
    checkRequest(req, { port, boundHost: opts.host, token: opts.token, originRequired, carrier });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const isUpload = url.pathname === '/upload';
    const isMedia = url.pathname.startsWith('/media/') || url.pathname.startsWith('/stream/');
    const carrier: TokenCarrier = isUpload ? 'header' : isMedia ? 'media' : 'page';
    const verdict = guard(req, isUpload, carrier);
    if (!verdict.ok) {
      opts.log.warn(`web UI: refused ${req.method} ${url.pathname} from ${req.socket.remoteAddress}: ${verdict.reason}`);
      return plain(
        res,
        verdict.status,
        verdict.status === 401
          ? 'MacTella: open the address printed by `mactella serve` (it carries the token).'
          : 'MacTella: request refused.',
      );
    }
    if (isUpload) {
      if (req.method !== 'POST') return plain(res, 405, 'POST only', { Allow: 'POST' });
      return handleUpload(req, res, opts.peer, { maxBytes: maxUpload, active: uploads, maxActive: 4 });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'GET only', { Allow: 'GET, HEAD' });

    if (url.pathname.startsWith('/media/')) {
      let name: string;
      try {
        name = decodeURIComponent(url.pathname.slice('/media/'.length));
      } catch {
        return plain(res, 400, 'bad name');
      }
      // Only files in the peer's index have a path; anything else (../, absolute, unknown) is simply not found.
      const file = opts.peer.mediaPath(name);
      if (!file) return plain(res, 404, 'not a shared file');
      // Gone, swapped for a symlink, or out of the shared folder since indexing: not found either.
      const source = await FileStreamSource.open(file, { root: opts.peer.settings().sharedDir }).catch(() => undefined);
      if (!source) return plain(res, 404, 'not a shared file');
      try {
        return await serveStream(req, res, source, SECURITY_HEADERS);
      } finally {
        await source.close();
      }
    }

    if (url.pathname.startsWith('/stream/')) {
      // Only verified bytes, with Range; a missing range is waited for (see electron/peer/stream).
      const source = opts.streams?.source(url.pathname.slice('/stream/'.length));
      if (!source) return plain(res, 404, 'no such stream');
      return serveStream(req, res, source, SECURITY_HEADERS);
    }

    const f = files.get(staticKey(url.pathname));
    if (!f) return plain(res, 404, 'not found');
    const headers: Record<string, string> = { ...SECURITY_HEADERS, 'Content-Type': f.type, 'Content-Length': String(f.body.length) };
    if (f.type.startsWith('text/html')) {
      headers['Content-Security-Policy'] = RENDERER_CSP_HEADER;
      headers['Cache-Control'] = 'no-store';
    } else {
      headers['Cache-Control'] = url.pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache';
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : f.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      opts.log.error(`web UI: ${req.method} ${pathOf(req)}: ${(e as Error).message}`);
      if (!res.headersSent) plain(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.headersTimeout = 20_000;
  server.requestTimeout = 0; // uploads of large files take as long as they take
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;

  const wss = createWsBridge({
    peer: opts.peer,
    operations: opts.operations,
    log: opts.log,
    verify: (req) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/ws') return { status: 404, reason: 'no such endpoint' };
      const v = guard(req, true, 'websocket');
      return v.ok ? undefined : { status: v.status, reason: v.reason };
    },
  });
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  port = addr.port;
  const shown = displayHost(addr.address);
  return {
    address: { host: addr.address, port },
    url: `http://${shown}:${port}/#token=${opts.token}`,
    async close() {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
