import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parsePort } from './address.js';
import type { ReachSettings } from '../../shared/types.js';
import { parsePeerSpec, type PeerSpec } from './identity/peer-id.js';
import { parseReachFlags, REACH_CLI_HELP, REACH_CLI_OPTIONS, REACH_OFF } from './reach/reach-options.js';

/** Everything a peer needs to start. Folders are injected so each test peer gets its own temp dirs. */
export interface PeerOptions {
  /** Listening port; 0 = any free port. */
  port: number;
  /** Listening address. */
  host: string;
  sharedDir: string;
  downloadDir: string;
  /** Settings, peer id, hash cache and host cache live here. */
  dataDir: string;
  /** The configured bootstrap peers: what RESET returns the known-peer list to. An `id` pins the peer from the start. */
  bootstrap: PeerSpec[];
  neighbourCap: number;
  uploadSlots: number;
  /** Bytes per second; 0 = unlimited. */
  maxUploadRate: number;
  maxDownloadRate: number;
  /** Watch the shared folder for changes (off in some tests to keep them deterministic). */
  watch: boolean;
  /** LAN discovery, port mapping, DHT rendezvous, relaying: all off unless switched on. */
  reach: ReachSettings;
}

/** Options from the command line: only those given. Reach switches are given one by one. */
export type CliPeerOptions = Partial<Omit<PeerOptions, 'reach'>> & { dataDir: string; reach?: Partial<ReachSettings> };

const DEFAULT_PORT = 10000;

function defaultDataDir(): string {
  return path.join(os.homedir(), '.mactella');
}

export function defaultPeerOptions(dataDir = defaultDataDir()): PeerOptions {
  return {
    port: DEFAULT_PORT,
    host: '0.0.0.0',
    sharedDir: path.join(dataDir, 'shared'),
    downloadDir: path.join(dataDir, 'downloads'),
    dataDir,
    bootstrap: [],
    neighbourCap: 8,
    uploadSlots: 4,
    maxUploadRate: 0,
    maxDownloadRate: 0,
    watch: true,
    reach: REACH_OFF,
  };
}

/** Option definitions shared by `mactella` and `mactella serve`. */
const PEER_CLI_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  share: { type: 'string' },
  downloads: { type: 'string' },
  peer: { type: 'string', multiple: true },
  data: { type: 'string' },
  'neighbour-cap': { type: 'string' },
  'upload-slots': { type: 'string' },
  'max-up': { type: 'string' },
  'max-down': { type: 'string' },
  'no-watch': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  ...REACH_CLI_OPTIONS,
} as const;

export const PEER_CLI_HELP = `Peer options:
  --port N            listening port (default ${DEFAULT_PORT}; 0 = any free port)
  --host ADDR         listening address (default 0.0.0.0)
  --share DIR         shared media folder (default ~/.mactella/shared or the saved setting)
  --downloads DIR     download folder
  --peer [ID@]HOST:PORT  bootstrap peer (repeatable); with ID, only that peer is accepted
                      there; without, its ID is pinned on first contact. RESET returns to this list
  --data DIR          settings, host cache and hash cache (default ~/.mactella)
  --neighbour-cap N   neighbour connections to keep (default 8)
  --upload-slots N    concurrent uploads before queueing (default 4)
  --max-up RATE       upload limit, bytes/s with optional k/m suffix (0 = none)
  --max-down RATE     download limit, bytes/s with optional k/m suffix (0 = none)
  --no-watch          do not watch the shared folder for changes

${REACH_CLI_HELP}`;

/** Parse `12m`, `500k`, `1000` into bytes per second. */
export function parseRate(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)(?:b|b\/s)?$/i.exec(text.trim());
  if (!m) throw new Error(`bad rate "${text}": expected bytes per second, e.g. 500k or 2m`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

function positiveInt(text: string, what: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new Error(`bad ${what} "${text}": expected 1 to ${max}`);
  return Number(text);
}

interface ParsedPeerArgs {
  options: CliPeerOptions;
  positionals: string[];
  values: Record<string, unknown>;
  help: boolean;
}

/**
 * Parse peer options from argv. Only the options given are returned, so saved
 * settings fill the rest. `extra` adds options of a sub-command (serve's --ui-port).
 */
export function parsePeerArgs(
  argv: string[],
  extra: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {},
): ParsedPeerArgs {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...PEER_CLI_OPTIONS, ...extra },
    allowPositionals: true,
    strict: true,
  });
  const v = values as Record<string, string | string[] | boolean | undefined>;
  const dataDir = path.resolve((v.data as string | undefined) ?? defaultDataDir());
  const options: CliPeerOptions = { dataDir };
  if (v.port !== undefined) options.port = parsePort(v.port as string, true);
  if (v.host !== undefined) options.host = v.host as string;
  if (v.share !== undefined) options.sharedDir = path.resolve(v.share as string);
  if (v.downloads !== undefined) options.downloadDir = path.resolve(v.downloads as string);
  if (v.peer !== undefined) options.bootstrap = (v.peer as string[]).map(parsePeerSpec);
  if (v['neighbour-cap'] !== undefined) options.neighbourCap = positiveInt(v['neighbour-cap'] as string, 'neighbour cap', 64);
  if (v['upload-slots'] !== undefined) options.uploadSlots = positiveInt(v['upload-slots'] as string, 'upload slots', 256);
  if (v['max-up'] !== undefined) options.maxUploadRate = parseRate(v['max-up'] as string);
  if (v['max-down'] !== undefined) options.maxDownloadRate = parseRate(v['max-down'] as string);
  if (v['no-watch']) options.watch = false;
  const reach = parseReachFlags(v);
  if (Object.keys(reach).length) options.reach = reach;
  return { options, positionals, values: v, help: Boolean(v.help) };
}
