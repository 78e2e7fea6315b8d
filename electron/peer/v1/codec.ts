/**
 * MacTella v1: the seed's wire format, byte for byte as in the flow chart.
 * One TCP connection per message, comma-separated text, no framing.
 */
import type { MediaType, RemoteFile } from '../../../shared/types.js';
import { isLiteralPeerHost } from '../address.js';

export class V1ProtocolError extends Error {
  override name = 'V1ProtocolError';
}

/** v1 TTLs from the network are trimmed to this, like v2's cap. */
export const V1_TTL_CAP = 7;
const V1_NO_FILES = 'There is no files in the directory';
export const V1_MAX_MESSAGE = 4096;

export type V1Message =
  | { kind: 'LISTR' }
  | { kind: 'GET'; name: string; host: string; port: number }
  | { kind: 'SEARCH'; name: string; ttl: number; originHost: string; originPort: number }
  | { kind: 'DISCOVER'; ttl: number; originHost: string; originPort: number }
  | { kind: 'SEAR_Result'; host: string; port: number }
  | { kind: 'DISCOV_Result'; host: string; port: number };

function port(text: string | undefined, what: string): number {
  if (text === undefined || !/^\d{1,5}$/.test(text.trim())) throw new V1ProtocolError(`bad ${what} port "${text ?? ''}"`);
  const n = Number(text);
  if (n < 1 || n > 65535) throw new V1ProtocolError(`bad ${what} port "${text}"`);
  return n;
}

/** A host in a v1 message: a literal address (see isLiteralPeerHost). */
function host(text: string | undefined, what: string): string {
  const h = (text ?? '').trim();
  if (!isLiteralPeerHost(h)) throw new V1ProtocolError(`bad ${what} address "${h.slice(0, 64)}"`);
  return h;
}

function ttl(text: string | undefined): number {
  if (text === undefined || !/^-?\d{1,9}$/.test(text.trim())) throw new V1ProtocolError(`bad ttl "${text ?? ''}"`);
  return Number(text);
}

/**
 * Parse one v1 message as the seed's server sees it (after `strip()`).
 * Names may contain commas: the fixed fields are taken from the ends.
 */
export function parseV1(raw: string): V1Message {
  const text = raw.trim();
  if (text.length === 0) throw new V1ProtocolError('empty message');
  if (text.length > V1_MAX_MESSAGE) throw new V1ProtocolError('message too long');
  if (text.includes('\0')) throw new V1ProtocolError('NUL byte in message');
  const f = text.split(',');
  const cmd = f[0]!;
  // Checked in the seed's order, with its startswith() semantics for LISTR.
  if (cmd.startsWith('LISTR')) return { kind: 'LISTR' };
  if (cmd === 'DISCOVER') {
    if (f.length !== 4) throw new V1ProtocolError('DISCOVER needs DISCOVER,ttl,originIP,originPort');
    return { kind: 'DISCOVER', ttl: ttl(f[1]), originHost: host(f[2], 'origin'), originPort: port(f[3], 'origin') };
  }
  if (cmd === 'DISCOV_Result' || cmd === 'SEAR_Result') {
    if (f.length !== 3) throw new V1ProtocolError(`${cmd} needs ${cmd},ip,port`);
    return { kind: cmd, host: host(f[1], 'result'), port: port(f[2], 'result') };
  }
  if (cmd === 'SEARCH') {
    if (f.length < 5) throw new V1ProtocolError('SEARCH needs SEARCH,name,ttl,originIP,originPort');
    const name = f.slice(1, -3).join(',');
    if (!name) throw new V1ProtocolError('SEARCH needs a file name');
    return { kind: 'SEARCH', name, ttl: ttl(f.at(-3)), originHost: host(f.at(-2), 'origin'), originPort: port(f.at(-1), 'origin') };
  }
  if (cmd === 'GET') {
    if (f.length < 4) throw new V1ProtocolError('GET needs GET,name,ip,port');
    const name = f.slice(1, -2).join(',');
    if (!name) throw new V1ProtocolError('GET needs a file name');
    return { kind: 'GET', name, host: host(f.at(-2), 'target'), port: port(f.at(-1), 'target') };
  }
  throw new V1ProtocolError(`unknown command "${cmd.slice(0, 32)}"`);
}

/** The exact bytes the seed sends for each message. */
export function encodeV1(m: V1Message): string {
  switch (m.kind) {
    case 'LISTR':
      return 'LISTR';
    case 'GET':
      return `GET,${m.name},${m.host},${m.port}`;
    case 'SEARCH':
      return `SEARCH,${m.name},${m.ttl},${m.originHost},${m.originPort}`;
    case 'DISCOVER':
      return `DISCOVER,${m.ttl},${m.originHost},${m.originPort}`;
    case 'SEAR_Result':
    case 'DISCOV_Result':
      return `${m.kind},${m.host},${m.port}`;
  }
}

/** The seed's LISTR reply: entries concatenated with no separator. */
export function formatV1Listing(files: { name: string; size: number; type: MediaType }[]): string {
  if (files.length === 0) return V1_NO_FILES;
  return files.map((f) => `${f.type}\t ${f.name}\t size: ${f.size}`).join('');
}

/** One LISTL line, as the seed prints it. */
export function formatV1Line(f: { name: string; size: number; type: MediaType }): string {
  return `${f.type}\t ${f.name}\t size: ${f.size}`;
}

/** Parse a LISTR reply; tolerant of newlines between entries (the seed's LISTL adds them). */
export function parseV1Listing(text: string): RemoteFile[] {
  if (text.trim() === V1_NO_FILES || text.trim() === '') return [];
  const out: RemoteFile[] = [];
  const re = /(video|music|picture)\t (.*?)\t size: (\d+)/gs;
  for (const m of text.matchAll(re)) out.push({ type: m[1] as MediaType, name: m[2]!.replace(/^\n+/, ''), size: Number(m[3]) });
  if (out.length === 0) throw new V1ProtocolError(`unexpected LISTR reply "${text.slice(0, 80)}"`);
  return out;
}
