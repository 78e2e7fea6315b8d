import crypto from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveStream } from './http-stream.js';
import type { StreamSource } from './stream-source.js';

/** A published stream: the URL to hand to a player, and how to withdraw it. */
interface PublishedStream {
  url: string;
  /** Stop serving: requests in flight are cut, the URL answers 404, and `onRemove` runs. */
  remove(): void;
}

interface Entry {
  source: StreamSource;
  responses: Set<ServerResponse>;
  onRemove?: () => void;
}

/** Connections at once; players open two or three per stream. */
const MAX_CONNECTIONS = 32;

const hashToken = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

/**
 * A small HTTP server on 127.0.0.1 that any player (mpv, VLC, a browser's
 * address bar) can open: `http://127.0.0.1:PORT/TOKEN/NAME`. Each published
 * stream has its own random 192-bit token in the path. Requests must name
 * the server as `127.0.0.1:PORT` in Host (against DNS rebinding) and must not
 * come from a web page (no Origin, no cross-site fetch), so a site the user
 * visits cannot read a stream even if it learnt the URL.
 */
export class LocalStreamServer {
  private readonly entries = new Map<string, Entry>();

  private constructor(private readonly server: http.Server) {}

  /** Listen on 127.0.0.1, on a free port unless one is given. */
  static async start(port = 0): Promise<LocalStreamServer> {
    const server = http.createServer();
    server.maxConnections = MAX_CONNECTIONS;
    const self = new LocalStreamServer(server);
    server.on('request', (req, res) => void self.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return self;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Streams currently published. */
  get size(): number {
    return this.entries.size;
  }

  /** Serve `source` under a fresh token. `name` only decorates the URL (players show it and guess the type from it). */
  publish(source: StreamSource, name: string, onRemove?: () => void): PublishedStream {
    const token = crypto.randomBytes(24).toString('base64url');
    const key = hashToken(token);
    const entry: Entry = { source, responses: new Set(), onRemove };
    this.entries.set(key, entry);
    const url = `http://127.0.0.1:${this.port}/${token}/${encodeURIComponent(name.split('/').pop() || 'stream')}`;
    return { url, remove: () => this.remove(key) };
  }

  /** Withdraw every stream and stop listening. */
  async close(): Promise<void> {
    for (const key of [...this.entries.keys()]) this.remove(key);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    for (const res of entry.responses) res.destroy();
    entry.onRemove?.();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refuse = (status: number, text: string) => {
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
      });
      res.end(`${text}\n`);
    };
    if ((req.headers.host ?? '').toLowerCase() !== `127.0.0.1:${this.port}`) return refuse(403, 'unexpected Host header');
    const site = req.headers['sec-fetch-site'];
    if (req.headers.origin !== undefined || (site !== undefined && site !== 'none')) return refuse(403, 'not for web pages');
    const token = /^\/([A-Za-z0-9_-]{32})(?:\/|$)/.exec(req.url ?? '')?.[1];
    const entry = token === undefined ? undefined : this.entries.get(hashToken(token));
    if (!entry) return refuse(404, 'no such stream');
    entry.responses.add(res);
    res.once('close', () => entry.responses.delete(res));
    await serveStream(req, res, entry.source);
  }
}
