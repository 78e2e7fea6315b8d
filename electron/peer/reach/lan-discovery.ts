/**
 * LAN discovery with DNS-SD over mDNS (RFC 6762/6763), service `_mactella._tcp`,
 * through bonjour-service: announce our peer ID and v2 port in the TXT record,
 * browse for the same service, and report peers found and lost.
 *
 * Nothing is sent until {@link LanDiscovery.start}; mDNS is multicast on the
 * LAN, so the peer starts this only when the user enabled it.
 */
import { Bonjour, type Browser, type Service } from 'bonjour-service';
import { silentLogger, type Logger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';

/** The DNS-SD service type (without the leading underscore and protocol). */
const LAN_SERVICE_TYPE = 'mactella';

/** A peer seen on the LAN. */
export interface LanPeer {
  /** Its peer ID, from the TXT record. */
  id: string;
  /** The address to dial: an announced IPv4 address, else the address the announcement came from. */
  host: string;
  /** Its v2 port. */
  port: number;
  /** Every address it announced. */
  addresses: string[];
  /** When we first saw it (ms since the epoch). */
  seenAt: number;
}

/** Events of a {@link LanDiscovery}. */
interface LanDiscoveryEvents {
  found: LanPeer;
  lost: LanPeer;
}

/** Options of a {@link LanDiscovery}. */
interface LanDiscoveryOptions {
  /** Our peer ID, announced in the TXT record and used to ignore our own announcement. */
  peerId: string;
  /** Our v2 port. */
  port: number;
  /** Send and receive mDNS on this interface address only (default: every interface). */
  interfaceAddress?: string;
  /** Ask the LAN again this often (default 30 s), so a lost packet costs one interval, not the session. */
  requeryMs?: number;
  /** At most this many peers are tracked (default 256): a noisy LAN cannot grow memory without bound. */
  maxPeers?: number;
  logger?: Logger;
}

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/** Turn a browsed DNS-SD service into a LanPeer, or null when its records are not a MacTella peer's. */
export function parseLanService(service: Pick<Service, 'txt' | 'port' | 'addresses' | 'referer'>, now = Date.now()): LanPeer | null {
  const txt = (service.txt ?? {}) as Record<string, unknown>;
  const id = typeof txt.id === 'string' ? txt.id : Buffer.isBuffer(txt.id) ? txt.id.toString('utf8') : '';
  const port = Number(txt.port ?? service.port);
  if (!ID_PATTERN.test(id) || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  const addresses = (service.addresses ?? []).filter((a) => typeof a === 'string');
  const referer = service.referer?.address;
  const v4 = addresses.filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
  // Prefer the announced address the packet came from; a multi-homed peer lists addresses we may not reach.
  const host = (referer && v4.includes(referer) ? referer : undefined) ?? referer ?? v4[0] ?? addresses[0];
  if (!host) return null;
  return { id, host, port, addresses, seenAt: now };
}

/** mDNS host labels are limited to 63 bytes; the peer ID keeps ours unique on a LAN of identical machines. */
function hostLabel(peerId: string): string {
  return `mactella-${peerId.replace(/[^A-Za-z0-9-]/g, '')}`.slice(0, 63);
}

/** Announces this peer on the LAN and reports the other MacTella peers there. */
export class LanDiscovery extends TypedEmitter<LanDiscoveryEvents> {
  private readonly log: Logger;
  private bonjour: Bonjour | null = null;
  private browser: Browser | null = null;
  private timers: NodeJS.Timeout[] = [];
  private readonly found = new Map<string, LanPeer>();
  private startedAt = 0;
  private firstPeerMs: number | null = null;

  constructor(private readonly opts: LanDiscoveryOptions) {
    super();
    if (!ID_PATTERN.test(opts.peerId)) throw new Error(`LAN discovery: invalid peer ID ${JSON.stringify(opts.peerId)}`);
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new Error(`LAN discovery: invalid port ${opts.port}`);
    this.log = opts.logger ?? silentLogger;
  }

  /** True between start and stop. */
  get running(): boolean {
    return this.bonjour !== null;
  }

  /** The peers seen and not lost, newest last. */
  peers(): LanPeer[] {
    return [...this.found.values()];
  }

  /** Milliseconds from start to the first peer found, or null before one was. */
  timeToFirstPeerMs(): number | null {
    return this.firstPeerMs;
  }

  /** Start announcing and browsing. Resolves once the mDNS socket is bound. */
  async start(): Promise<void> {
    if (this.bonjour) return;
    this.startedAt = Date.now();
    const iface = this.opts.interfaceAddress;
    // Bound to one interface's address, a Linux socket would not receive multicast: bind the wildcard, join on the interface.
    const mdnsOpts = iface ? { interface: iface, bind: '0.0.0.0' } : {};
    const bonjour = new Bonjour(mdnsOpts as object, (err: Error) => this.log.warn(`LAN discovery: ${err.message}`));
    this.bonjour = bonjour;
    const label = hostLabel(this.opts.peerId);
    bonjour.publish({
      name: label,
      type: LAN_SERVICE_TYPE,
      protocol: 'tcp',
      port: this.opts.port,
      host: `${label}.local`,
      txt: { id: this.opts.peerId, port: String(this.opts.port), v: '2' },
      disableIPv6: true,
    });
    const browser = bonjour.find({ type: LAN_SERVICE_TYPE, protocol: 'tcp' });
    this.browser = browser;
    browser.on('up', (s: Service) => this.onUp(s));
    browser.on('down', (s: Service) => this.onDown(s));
    const requery = () => {
      if (this.browser === browser) browser.update();
    };
    // A second query soon after start covers a peer that was still binding when the first went out.
    this.timers.push(setTimeout(requery, 1000));
    this.timers.push(setInterval(requery, this.opts.requeryMs ?? 30_000));
    for (const t of this.timers) t.unref();
    this.log.info(`LAN discovery: announcing _${LAN_SERVICE_TYPE}._tcp port ${this.opts.port}${iface ? ` on ${iface}` : ''}`);
  }

  private onUp(service: Service): void {
    const peer = parseLanService(service);
    if (!peer || peer.id === this.opts.peerId) return;
    const known = this.found.get(peer.id);
    if (known && known.host === peer.host && known.port === peer.port) return;
    if (!known && this.found.size >= (this.opts.maxPeers ?? 256)) return;
    this.found.set(peer.id, peer);
    if (this.firstPeerMs === null) this.firstPeerMs = Date.now() - this.startedAt;
    this.log.info(`LAN discovery: found ${peer.id} at ${peer.host}:${peer.port}`);
    this.emit('found', peer);
  }

  private onDown(service: Service): void {
    const peer = parseLanService(service);
    const known = peer && this.found.get(peer.id);
    if (!known) return;
    this.found.delete(known.id);
    this.log.info(`LAN discovery: lost ${known.id}`);
    this.emit('lost', known);
  }

  /** Say goodbye on the LAN (so others drop us at once), stop browsing and close the socket. */
  async stop(): Promise<void> {
    const bonjour = this.bonjour;
    if (!bonjour) return;
    this.bonjour = null;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    this.browser?.stop();
    this.browser = null;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      bonjour.unpublishAll(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
    this.found.clear();
  }
}
