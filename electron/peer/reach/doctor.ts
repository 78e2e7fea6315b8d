/**
 * The network doctor: from a reach snapshot, one line per check (listening,
 * LAN, port mapping, reachability, DHT, relays), and for each failure the
 * likely cause and what to do. The CLI prints it; the Peers view shows it.
 */
import type { DoctorCheck, DoctorReport, DoctorStatus } from '../../../shared/types.js';
import type { ReachSnapshot } from './reach-service.js';
import { mappingMethodLabel } from './port-mapping.js';

export type { DoctorCheck, DoctorReport, DoctorStatus };

/** Where we listen, as the doctor needs it. */
interface ListenInfo {
  host: string;
  port: number;
  /** The machine's non-loopback IPv4 addresses, when listening on all of them. */
  interfaces: string[];
}

/** A feature turned off: what switching it on with `--<flag>` would do. */
function off(name: string, flag: string, purpose: string): DoctorCheck {
  return { name, status: 'off', detail: 'off', advice: `turn it on with --${flag} (or the setting) to ${purpose}` };
}

/** Before this long, "no LAN peer yet" is not a problem: mDNS answers take a few hundred ms. */
const LAN_GRACE_MS = 5000;

function listening(l: ListenInfo): DoctorCheck {
  const all = l.host === '0.0.0.0' || l.host === '::';
  const where = all ? (l.interfaces.length ? l.interfaces.map((a) => `${a}:${l.port}`).join(', ') : `*:${l.port}`) : `${l.host}:${l.port}`;
  if (l.host.startsWith('127.') || l.host === '::1') {
    return {
      name: 'listening',
      status: 'warn',
      detail: where,
      advice: 'only this machine can connect; start with --host 0.0.0.0 to be reachable on the network',
    };
  }
  return { name: 'listening', status: 'ok', detail: where };
}

function lan(s: ReachSnapshot): DoctorCheck {
  if (!s.lan) return off('LAN discovery', 'lan', 'find peers on this network with nothing typed');
  const n = s.lan.peers.length;
  if (n > 0) {
    const first = s.lan.firstPeerMs === null ? '' : `, first after ${s.lan.firstPeerMs} ms`;
    return {
      name: 'LAN discovery',
      status: 'ok',
      detail: `${n} nearby peer(s)${first}: ${s.lan.peers.map((p) => `${p.host}:${p.port}`).join(', ')}`,
    };
  }
  if (s.lan.runningMs < LAN_GRACE_MS) return { name: 'LAN discovery', status: 'ok', detail: 'announcing, listening for answers' };
  return {
    name: 'LAN discovery',
    status: 'warn',
    detail: 'announcing _mactella._tcp, no other peer seen',
    advice:
      'no other MacTella peer with LAN discovery on this network, or the network blocks mDNS (UDP 5353): Wi-Fi client/AP isolation (guest networks), a VPN that captures traffic, or a firewall; on macOS allow "Local Network" for MacTella',
  };
}

function mapping(s: ReachSnapshot): DoctorCheck {
  if (!s.mapping) return off('port mapping', 'upnp', 'open the port on a home router');
  const m = s.mapping.current;
  if (m) {
    return {
      name: 'port mapping',
      status: 'ok',
      detail: `${mappingMethodLabel(m.method)} ${m.externalHost}:${m.externalPort} -> ${m.internalHost}:${m.internalPort}`,
    };
  }
  const tried = s.mapping.attempts.map((a) => `${mappingMethodLabel(a.method)}: ${a.error ?? 'failed'}`).join('; ');
  return {
    name: 'port mapping',
    status: 'fail',
    detail: tried || 'not tried yet',
    advice: `the router does not offer UPnP-IGD or NAT-PMP, or has it turned off: turn UPnP on in the router, or forward TCP port ${s.port} to this machine by hand`,
  };
}

function reachability(s: ReachSnapshot): DoctorCheck {
  const v = s.reachability;
  switch (v.state) {
    case 'open':
    case 'mapped':
      return { name: 'reachability', status: 'ok', detail: `${v.state}: ${v.reason}` };
    case 'firewalled':
      return {
        name: 'reachability',
        status: 'warn',
        detail: `firewalled: ${v.reason}`,
        advice: `others cannot dial this peer, so downloads from it go by PUSH or a relay; open TCP port ${s.port} in the firewall and router (or turn on --upnp)`,
      };
    default:
      return {
        name: 'reachability',
        status: 'warn',
        detail: `unknown: ${v.reason}`,
        advice: 'connect to a neighbour: neighbours dial back to check',
      };
  }
}

function dht(s: ReachSnapshot): DoctorCheck {
  if (!s.dht) return off('DHT rendezvous', 'dht', 'meet peers over the internet with nothing typed');
  const d = s.dht;
  const detail = `network "${d.network}", ${d.nodes} node(s), ${d.peers.length} peer(s) found`;
  if (d.error || d.nodes === 0) {
    return {
      name: 'DHT rendezvous',
      status: 'fail',
      detail: d.error ? `${detail}; ${d.error}` : detail,
      advice: `no DHT node answered from ${d.bootstrap.join(', ')}: check the --dht-bootstrap addresses, and that UDP is not blocked (firewall, VPN, captive portal)`,
    };
  }
  return { name: 'DHT rendezvous', status: 'ok', detail };
}

function relays(s: ReachSnapshot): DoctorCheck {
  const serving = s.settings.relay ? 'relaying for others allowed' : 'relaying for others refused (--no-relay)';
  if (!s.relays.length) return { name: 'relays', status: 'off', detail: `none in use; ${serving}` };
  return { name: 'relays', status: 'ok', detail: `in use: ${s.relays.join(', ')}; ${serving}` };
}

/** Run every check on a snapshot. */
export function diagnose(s: ReachSnapshot, listen: ListenInfo): DoctorReport {
  return { checks: [listening(listen), lan(s), mapping(s), reachability(s), dht(s), relays(s)] };
}

/** The report as the CLI prints it: one line per check, advice indented below. */
export function formatDoctor(r: DoctorReport): string {
  const mark: Record<DoctorStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', off: 'off ' };
  return r.checks
    .map((c) => `${mark[c.status]} ${c.name}: ${c.detail}${c.advice && c.status !== 'ok' ? `\n       -> ${c.advice}` : ''}`)
    .join('\n');
}
