/**
 * Map our v2 port on the home router with NAT-PMP, UPnP-IGD v2
 * (@achingbrain/nat-port-mapper) or UPnP-IGD v1 (./upnp-igd1.ts), renew the
 * lease while running, remove it on stop, and report the external address
 * others can dial.
 *
 * All talk to the LAN's router (SSDP is multicast), so nothing is sent until
 * {@link PortMapper.start}, which the peer calls only when enabled.
 *
 * nat-port-mapper 4 speaks UPnP-IGD v2 only (AddAnyPortMapping on
 * WANIPConnection:2); most home routers (and miniupnpd with
 * force_igd_desc_v1=yes) describe themselves as IGD v1, hence the third method.
 */
import { pmpNat, upnpNat, type Gateway } from '@achingbrain/nat-port-mapper';
import { silentLogger, type Logger } from '../logger.js';
import { TypedEmitter } from '../typed-emitter.js';
import { defaultGateway4, localAddressToward } from './default-gateway.js';
import { Igd1Gateway } from './upnp-igd1.js';

/** How a port was mapped: NAT-PMP, UPnP-IGD v2 or UPnP-IGD v1. */
export type MappingMethod = 'pmp' | 'upnp' | 'upnp-v1';

/** The order tried when none is given. */
const DEFAULT_METHODS: MappingMethod[] = ['pmp', 'upnp', 'upnp-v1'];

/** A method's name as people know it, for the doctor and the reachability reason. */
export function mappingMethodLabel(method: MappingMethod): string {
  return { pmp: 'NAT-PMP', upnp: 'UPnP IGDv2', 'upnp-v1': 'UPnP IGDv1' }[method];
}

/** A mapping in place on the router. */
export interface PortMapping {
  method: MappingMethod;
  /** The router's address (NAT-PMP) or host (UPnP). */
  gateway: string;
  externalHost: string;
  externalPort: number;
  internalHost: string;
  internalPort: number;
  /** Lease length asked for, in seconds. */
  leaseSeconds: number;
}

/** One attempt, kept for the network doctor. */
export interface MappingAttempt {
  method: MappingMethod;
  ok: boolean;
  error?: string;
  ms: number;
}

/** Events of a {@link PortMapper}. */
interface PortMapperEvents {
  mapped: PortMapping;
  renewed: PortMapping;
  failed: MappingAttempt;
  removed: PortMapping;
}

/** Options of a {@link PortMapper}. */
interface PortMapperOptions {
  /** The local TCP port to map (our v2 port). */
  port: number;
  /** Protocols to try, in order (default NAT-PMP, then UPnP IGDv2, then UPnP IGDv1). */
  methods?: MappingMethod[];
  /** The router for NAT-PMP and UPnP IGDv1 (default: the default route's gateway). */
  gateway?: string;
  /** The local address the mapping points at (default: the one facing the gateway). */
  internalHost?: string;
  /** Lease asked for, in seconds (default 3600; UPnP leases are at least 3600 in nat-port-mapper). Renewed at half. */
  leaseSeconds?: number;
  /** How long each protocol may take to answer (default 3 s). */
  timeoutMs?: number;
  description?: string;
  logger?: Logger;
}

/** Keeps one port mapped on the home router while running. */
export class PortMapper extends TypedEmitter<PortMapperEvents> {
  private readonly log: Logger;
  private gateway: Gateway | Igd1Gateway | null = null;
  private mapping: PortMapping | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private readonly tried: MappingAttempt[] = [];
  private stopped = false;

  constructor(private readonly opts: PortMapperOptions) {
    super();
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new Error(`port mapping: invalid port ${opts.port}`);
    this.log = opts.logger ?? silentLogger;
  }

  /** The mapping in place, or null. */
  current(): PortMapping | null {
    return this.mapping;
  }

  /** Every attempt so far, for the doctor. */
  attempts(): MappingAttempt[] {
    return [...this.tried];
  }

  /** Try each protocol in turn; resolve with the first mapping made, or null when none worked. */
  async start(): Promise<PortMapping | null> {
    this.stopped = false;
    for (const method of this.opts.methods ?? DEFAULT_METHODS) {
      if (this.stopped) return null;
      const t0 = performance.now();
      try {
        const mapping = await this.mapWith(method);
        this.tried.push({ method, ok: true, ms: performance.now() - t0 });
        this.mapping = mapping;
        this.scheduleRenewal();
        this.log.info(
          `port mapping: ${method} mapped ${mapping.externalHost}:${mapping.externalPort} -> ${mapping.internalHost}:${mapping.internalPort}`,
        );
        this.emit('mapped', mapping);
        return mapping;
      } catch (err) {
        const attempt = { method, ok: false, error: (err as Error).message, ms: performance.now() - t0 };
        this.tried.push(attempt);
        this.log.warn(`port mapping: ${method} failed: ${attempt.error}`);
        this.emit('failed', attempt);
        await this.dropGateway();
      }
    }
    return null;
  }

  private async mapWith(method: MappingMethod): Promise<PortMapping> {
    const timeoutMs = this.opts.timeoutMs ?? 3000;
    const leaseSeconds = this.opts.leaseSeconds ?? 3600;
    if (method === 'upnp-v1') return this.mapWithIgd1(timeoutMs, leaseSeconds);
    let gateway: Gateway;
    if (method === 'pmp') {
      gateway = pmpNat(await this.router(), { autoRefresh: false });
    } else {
      gateway = await findUpnpGateway(timeoutMs);
    }
    this.gateway = gateway;
    const internalHost = this.opts.internalHost ?? (await localAddressToward(gateway.host));
    const m = await gateway
      .map(this.opts.port, internalHost, {
        externalPort: this.opts.port,
        protocol: 'tcp',
        description: this.opts.description ?? 'MacTella',
        autoRefresh: false,
        // nat-port-mapper takes NAT-PMP lifetimes in seconds and UPnP lifetimes in milliseconds.
        ttl: method === 'pmp' ? leaseSeconds : leaseSeconds * 1000,
        signal: AbortSignal.timeout(timeoutMs),
      })
      .catch((err: Error) => {
        // An unanswered request surfaces as the library's abort: say what it means.
        if (err.name === 'TimeoutError' || err.name === 'AbortError')
          throw new Error(`no answer from ${gateway.host} within ${timeoutMs} ms`);
        // An IGD v1 router answering the v2 search lacks WANIPConnection:2.
        if (err.message === 'Service not found') throw new Error(`${gateway.host} offers no UPnP IGDv2 WAN service`);
        throw err;
      });
    return {
      method,
      gateway: gateway.host,
      externalHost: m.externalHost,
      externalPort: m.externalPort,
      internalHost: m.internalHost,
      internalPort: m.internalPort,
      leaseSeconds,
    };
  }

  private async mapWithIgd1(timeoutMs: number, leaseSeconds: number): Promise<PortMapping> {
    const router = await this.router();
    const internalHost = this.opts.internalHost ?? (await localAddressToward(router));
    const gateway = await Igd1Gateway.find(router, internalHost, timeoutMs);
    this.gateway = gateway;
    const m = await gateway.map(this.opts.port, internalHost, {
      externalPort: this.opts.port,
      description: this.opts.description ?? 'MacTella',
      leaseSeconds,
    });
    return { method: 'upnp-v1', gateway: router, ...m, leaseSeconds };
  }

  private async router(): Promise<string> {
    const router = this.opts.gateway ?? (await defaultGateway4());
    if (!router) throw new Error('no default gateway to ask');
    return router;
  }

  private scheduleRenewal(): void {
    const m = this.mapping;
    if (!m) return;
    this.renewTimer = setTimeout(() => void this.renew(), (m.leaseSeconds * 1000) / 2);
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    const m = this.mapping;
    if (!m || this.stopped) return;
    try {
      const next = await this.mapWith(m.method);
      if (this.stopped) return;
      this.mapping = next;
      this.emit('renewed', next);
    } catch (err) {
      this.log.warn(`port mapping: renewing failed: ${(err as Error).message}`);
    }
    this.scheduleRenewal();
  }

  private async dropGateway(): Promise<void> {
    const gateway = this.gateway;
    this.gateway = null;
    await gateway?.stop({ signal: AbortSignal.timeout(1000) }).catch(() => {});
  }

  /** Remove the mapping from the router and stop renewing it. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    const m = this.mapping;
    this.mapping = null;
    if (m && this.gateway) {
      try {
        await this.gateway.unmap(this.opts.port, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 3000) });
        this.log.info(`port mapping: removed ${m.externalHost}:${m.externalPort}`);
        this.emit('removed', m);
      } catch (err) {
        this.log.warn(`port mapping: removing failed: ${(err as Error).message}`);
      }
    }
    await this.dropGateway();
  }
}

async function findUpnpGateway(timeoutMs: number): Promise<Gateway> {
  const client = upnpNat({ autoRefresh: false });
  for await (const gateway of client.findGateways({ signal: AbortSignal.timeout(timeoutMs) })) {
    if (gateway.family === 'IPv4') return gateway;
  }
  throw new Error(`no UPnP IGDv2 gateway answered within ${timeoutMs} ms`);
}
