/**
 * The terminal peer's command syntax: the seed's commands verbatim
 * (`SEARCH,name,ttl`), plus ID, PEERS, REMOVE, DOCTOR, STATS, LIMIT, HELP and WAIT,seconds for scripts.
 */
import type { PeerAddress } from '../shared/types.js';
import { formatAddress, parsePort } from './peer/address.js';
import { parsePeerSpec } from './peer/identity/peer-id.js';
import { parseRate } from './peer/options.js';

export type CliCommand =
  | { cmd: 'LISTL' }
  | { cmd: 'LISTR'; peer: PeerAddress }
  | { cmd: 'SEARCH'; name: string; ttl: number }
  | { cmd: 'DISCOVER'; ttl: number }
  | { cmd: 'GET'; name: string; peer: PeerAddress }
  /** Download with streaming priority and print a local URL a player (mpv, VLC) can open at once. */
  | { cmd: 'PLAY'; name: string; peer: PeerAddress }
  | { cmd: 'RESET' }
  | { cmd: 'QUIT' }
  | { cmd: 'FORCEQUIT' }
  | { cmd: 'ID' }
  | { cmd: 'PEERS' }
  /** Forget a known peer and its pinned ID (after a refusal), closing our link to it. */
  | { cmd: 'REMOVE'; peer: PeerAddress }
  /** The network doctor: what works, what does not, and what to do. */
  | { cmd: 'DOCTOR' }
  | { cmd: 'STATS' }
  | { cmd: 'HELP' }
  | { cmd: 'WAIT'; seconds: number }
  /** Global bandwidth limit in bytes per second, 0 = none. */
  | { cmd: 'LIMIT'; direction: 'up' | 'down'; bytesPerSecond: number }
  | { cmd: 'EMPTY' };

const USAGE: Record<string, string> = {
  LISTL: 'LISTL',
  LISTR: 'LISTR,ip,port',
  SEARCH: 'SEARCH,name,ttl   (ttl 1-7)',
  DISCOVER: 'DISCOVER,ttl   (ttl 1-7)',
  GET: 'GET,name,ip,port   (or the address a found: line printed: GET,name,ID@HOST:PORT)',
  PLAY: 'PLAY,name,ip,port   (watch or listen while it downloads: prints a URL for mpv or VLC)',
  RESET: 'RESET',
  QUIT: 'QUIT',
  FORCEQUIT: 'FORCEQUIT',
  ID: "ID   (this peer's ID, to give to others as ID@HOST:PORT)",
  PEERS: 'PEERS',
  REMOVE: 'REMOVE,ip,port   (forget a known peer and its pinned ID, e.g. after "expected peer ... but it presented ...")',
  DOCTOR: 'DOCTOR   (network check: listening, LAN, port mapping, reachability, DHT, relays)',
  STATS: 'STATS',
  WAIT: 'WAIT,seconds   (pause a script, 0-600)',
  LIMIT: 'LIMIT,up|down,rate   (bytes/s with k/m suffix, e.g. 500k or 2m; 0 = no limit)',
  HELP: 'HELP',
};

export const HELP_TEXT = `Commands (the seed's syntax, comma-separated):\n${Object.values(USAGE)
  .map((u) => `  ${u}`)
  .join('\n')}`;

class CommandError extends Error {}

function usage(cmd: string, why: string): CommandError {
  return new CommandError(`${why}. Usage: ${USAGE[cmd]}`);
}

function ttlOf(cmd: string, text: string | undefined): number {
  const t = (text ?? '').trim();
  if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 7) throw usage(cmd, `bad ttl "${t}": expected 1 to 7`);
  return Number(t);
}

/**
 * The ip and port fields. The ip may carry the peer's ID as a `found:` line
 * prints it (`ID@HOST`): the peer there must then prove that ID.
 */
function peerOf(cmd: string, host: string | undefined, port: string | undefined): PeerAddress {
  const h = (host ?? '').trim();
  if (!h || /\s/.test(h)) throw usage(cmd, `bad address "${h}"`);
  try {
    const addr = { host: h, port: parsePort((port ?? '').trim(), false) };
    const at = h.indexOf('@');
    if (at < 0) return addr;
    return parsePeerSpec(`${h.slice(0, at)}@${formatAddress({ ...addr, host: h.slice(at + 1) })}`);
  } catch (e) {
    throw usage(cmd, (e as Error).message);
  }
}

/** A whole printed address in one field, `ID@HOST:PORT` or `HOST:PORT` (not a bare port). */
function printedAddress(cmd: string, field: string | undefined): PeerAddress | undefined {
  const f = (field ?? '').trim();
  if (/^\d*$/.test(f) || (!f.includes('@') && !f.includes(':'))) return undefined;
  try {
    return parsePeerSpec(f);
  } catch (e) {
    throw usage(cmd, (e as Error).message);
  }
}

/** Parse one prompt line. Throws CommandError with a one-line explanation. */
export function parseCommand(line: string): CliCommand {
  const text = line.trim();
  if (text === '') return { cmd: 'EMPTY' };
  const f = text.split(',');
  const cmd = f[0]!.trim().toUpperCase();
  const n = f.length;
  const exact = (want: number) => {
    if (n !== want) throw usage(cmd, `${cmd} takes ${want - 1} field${want === 2 ? '' : 's'}`);
  };
  switch (cmd) {
    case 'LISTL':
    case 'RESET':
    case 'QUIT':
    case 'FORCEQUIT':
    case 'ID':
    case 'PEERS':
    case 'DOCTOR':
    case 'STATS':
    case 'HELP':
      exact(1);
      return { cmd };
    case 'LISTR':
    case 'REMOVE':
      exact(3);
      return { cmd, peer: peerOf(cmd, f[1], f[2]) };
    case 'SEARCH': {
      if (n < 3) throw usage(cmd, 'SEARCH needs a name and a ttl');
      const name = f.slice(1, -1).join(',').trim();
      if (!name) throw usage(cmd, 'empty search');
      return { cmd, name, ttl: ttlOf(cmd, f.at(-1)) };
    }
    case 'DISCOVER':
      exact(2);
      return { cmd, ttl: ttlOf(cmd, f[1]) };
    case 'GET':
    case 'PLAY': {
      // The address as a `found:` line printed it, whole (`ID@HOST:PORT`), or the seed's ip and port fields.
      const whole = n >= 3 ? printedAddress(cmd, f.at(-1)) : undefined;
      if (!whole && n < 4) throw usage(cmd, `${cmd} needs a name, an ip and a port`);
      const name = f
        .slice(1, whole ? -1 : -2)
        .join(',')
        .trim();
      if (!name) throw usage(cmd, 'empty file name');
      return { cmd, name, peer: whole ?? peerOf(cmd, f.at(-2), f.at(-1)) };
    }
    case 'WAIT': {
      exact(2);
      const s = Number(f[1]);
      if (!Number.isFinite(s) || s < 0 || s > 600) throw usage(cmd, `bad seconds "${f[1]}"`);
      return { cmd, seconds: s };
    }
    case 'LIMIT': {
      exact(3);
      const direction = (f[1] ?? '').trim().toLowerCase();
      if (direction !== 'up' && direction !== 'down') throw usage(cmd, `bad direction "${direction.slice(0, 20)}": expected up or down`);
      try {
        return { cmd, direction, bytesPerSecond: parseRate(f[2] ?? '') };
      } catch (e) {
        throw usage(cmd, (e as Error).message);
      }
    }
    default:
      throw new CommandError(`command entered is not recognized: "${cmd.slice(0, 40)}". Type HELP for the list (e.g. ${USAGE.SEARCH})`);
  }
}
