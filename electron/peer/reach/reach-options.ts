/**
 * The reach switches on the command line and in settings.json: `--lan`,
 * `--upnp`, `--dht`, `--dht-bootstrap HOST:PORT` (repeatable), `--dht-network
 * NAME` and `--no-relay`. Off unless given, in the CLI and `serve`.
 */
import { parseHostPort } from '../address.js';
import type { ReachSettings } from '../../../shared/types.js';

/** The network everyone meets on unless they choose a private name. */
export const DEFAULT_NETWORK_NAME = 'mactella';

/** Everything off: the CLI's and `serve`'s default. Tests and CI start peers this way. */
export const REACH_OFF: ReachSettings = {
  lan: false,
  upnp: false,
  dht: false,
  dhtBootstrap: [],
  networkName: DEFAULT_NETWORK_NAME,
  relay: true,
};

/** On in the desktop app (with the public DHT unless a bootstrap list is set). */
export const REACH_DESKTOP: ReachSettings = { ...REACH_OFF, lan: true, upnp: true, dht: true };

/** Option definitions for node:util parseArgs, merged into the peer's own. */
export const REACH_CLI_OPTIONS = {
  lan: { type: 'boolean' },
  upnp: { type: 'boolean' },
  dht: { type: 'boolean' },
  'dht-bootstrap': { type: 'string', multiple: true },
  'dht-network': { type: 'string' },
  'no-relay': { type: 'boolean' },
} as const;

export const REACH_CLI_HELP = `Reach options (all off unless given; the desktop app turns the first three on):
  --lan               find peers on this LAN by mDNS (DNS-SD _mactella._tcp)
  --upnp              map the port on the home router (NAT-PMP, UPnP-IGD)
  --dht               meet peers over the internet on the BitTorrent DHT
  --dht-bootstrap HOST:PORT  DHT node to start from (repeatable; a private DHT)
  --dht-network NAME  DHT network name (default "mactella"; a private name: only friends meet)
  --no-relay          refuse to relay for two firewalled peers`;

/** A network name: what people type and share; bounded so it cannot bloat a hash input or a log line. */
function parseNetworkName(text: string): string {
  const name = text.trim();
  if (name.length < 1 || name.length > 64 || [...name].some((c) => c.charCodeAt(0) < 0x20))
    throw new Error(`bad DHT network name "${text}": expected 1 to 64 printable characters`);
  return name;
}

/** The reach switches given on the command line (only those given, so saved settings fill the rest). */
export function parseReachFlags(v: Record<string, unknown>): Partial<ReachSettings> {
  const out: Partial<ReachSettings> = {};
  if (v.lan) out.lan = true;
  if (v.upnp) out.upnp = true;
  if (v.dht) out.dht = true;
  if (v['dht-bootstrap'] !== undefined) {
    out.dhtBootstrap = (v['dht-bootstrap'] as string[]).map((s) => {
      parseHostPort(s);
      return s.trim();
    });
  }
  if (v['dht-network'] !== undefined) out.networkName = parseNetworkName(v['dht-network'] as string);
  if (v['no-relay']) out.relay = false;
  return out;
}

/** Reach settings read back from settings.json: each field checked, anything odd left at its default. */
export function reachFromSaved(saved: unknown, base: ReachSettings = REACH_OFF): ReachSettings {
  const s = (saved && typeof saved === 'object' ? saved : {}) as Record<string, unknown>;
  const out = { ...base };
  for (const k of ['lan', 'upnp', 'dht', 'relay'] as const) if (typeof s[k] === 'boolean') out[k] = s[k];
  if (Array.isArray(s.dhtBootstrap)) {
    out.dhtBootstrap = s.dhtBootstrap.filter((b): b is string => {
      try {
        parseHostPort(String(b));
        return typeof b === 'string';
      } catch {
        return false;
      }
    });
  }
  if (typeof s.networkName === 'string') {
    try {
      out.networkName = parseNetworkName(s.networkName);
    } catch {
      /* keep the default */
    }
  }
  return out;
}
