import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { WS_TOKEN_PREFIX } from '../../shared/web-protocol.js';

/**
 * Request checks for the web host: the token, the Host header (against DNS
 * rebinding) and the Origin (against other sites driving the UI).
 */

/** A fresh access token: 192 random bits, URL-safe. */
export function newToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

/** Constant-time token comparison (hashing first makes the lengths equal). */
export function tokenMatches(given: string | undefined | null, token: string): boolean {
  if (!given) return false;
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(token).digest();
  return crypto.timingSafeEqual(a, b);
}

/**
 * Where a request may carry the token. No cookie anywhere: browsers send
 * cookies to every port of a host, so any other server on 127.0.0.1 would get it.
 * - `page`: none needed (the built UI is public; the page reads the token from its URL fragment)
 * - `header`: `Authorization: Bearer TOKEN` (uploads)
 * - `websocket`: the subprotocol `mactella.token.TOKEN` (a browser cannot set headers on a WebSocket)
 * - `media`: `?token=` in the URL, or the header (an `<img>` or `<video>` cannot set headers)
 */
export type TokenCarrier = 'page' | 'header' | 'websocket' | 'media';

function bearer(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** The token a request carries in the place its kind allows, if any. */
function requestToken(req: Pick<IncomingMessage, 'url' | 'headers'>, carrier: TokenCarrier): string | undefined {
  switch (carrier) {
    case 'page':
      return undefined;
    case 'header':
      return bearer(req);
    case 'websocket': {
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      return offered.find((p) => p.startsWith(WS_TOKEN_PREFIX))?.slice(WS_TOKEN_PREFIX.length);
    }
    case 'media':
      return new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? bearer(req);
  }
}

/** Split a Host header into hostname and port (`[::1]:80` → `::1`, 80). */
function parseHostHeader(host: string): { hostname: string; port: number | undefined } | undefined {
  const m = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/i.exec(host) ?? /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return undefined;
  return { hostname: m[1]!.toLowerCase(), port: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * DNS-rebinding defence: the Host header must name this server by IP
 * literal, `localhost`, or the host name it was bound to, with our port. A
 * rebinding attack arrives with the attacker's own domain name instead.
 */
export function isAllowedHost(hostHeader: string | undefined, port: number, boundHost: string): boolean {
  if (!hostHeader) return false;
  const h = parseHostHeader(hostHeader.trim());
  if (!h) return false;
  if ((h.port ?? 80) !== port) return false;
  return h.hostname === 'localhost' || net.isIP(h.hostname) !== 0 || h.hostname === boundHost.toLowerCase();
}

/** The request's own origin, as a browser on this page would send it. */
function ownOrigin(hostHeader: string): string {
  return `http://${hostHeader.trim().toLowerCase()}`;
}

/**
 * Origin check. `required` for WebSocket upgrades and uploads (browsers
 * always send Origin there); for plain GETs a missing Origin is fine, a
 * foreign one is not. `Sec-Fetch-Site: cross-site` is refused too.
 */
function isAllowedOrigin(req: Pick<IncomingMessage, 'headers'>, required: boolean): boolean {
  const host = req.headers.host;
  if (!host) return false;
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return !required;
  return origin.toLowerCase() === ownOrigin(host);
}

type GuardResult = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** All three checks, in the order that leaks least: Host, then Origin, then the token (except for the public `page` files). */
export function checkRequest(
  req: Pick<IncomingMessage, 'url' | 'headers'>,
  opts: { port: number; boundHost: string; token: string; originRequired: boolean; carrier: TokenCarrier },
): GuardResult {
  if (!isAllowedHost(req.headers.host, opts.port, opts.boundHost)) return { ok: false, status: 403, reason: 'unexpected Host header' };
  if (!isAllowedOrigin(req, opts.originRequired)) return { ok: false, status: 403, reason: 'foreign or missing Origin' };
  if (opts.carrier !== 'page' && !tokenMatches(requestToken(req, opts.carrier), opts.token))
    return { ok: false, status: 401, reason: 'missing or wrong access token' };
  return { ok: true };
}
