/**
 * A small UPnP-IGD *v1* client: the router kind most homes have, which
 * @achingbrain/nat-port-mapper 4 (IGD v2 only) does not find.
 *
 * Discovery is @achingbrain/ssdp's M-SEARCH (it also fetches and parses the
 * device description); the three SOAP actions (AddPortMapping,
 * GetExternalIPAddress, DeletePortMapping on WANIPConnection:1 or
 * WANPPPConnection:1) go over node:http with a timeout and a response size cap,
 * and only to the default gateway's own LAN address: a description naming any
 * other host is refused.
 */
import http from 'node:http';
import { isIPv4 } from 'node:net';
import ssdp, { type SSDP } from '@achingbrain/ssdp';
import xml2js from 'xml2js';

const IGD1 = 'urn:schemas-upnp-org:device:InternetGatewayDevice:1';
const WAN_SERVICES = ['urn:schemas-upnp-org:service:WANIPConnection:1', 'urn:schemas-upnp-org:service:WANPPPConnection:1'];
/** A SOAP answer is a few hundred bytes; anything far larger is not a router talking. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** UPnP error: the router only accepts permanent leases (many v1 routers). */
const ONLY_PERMANENT_LEASES = 725;

/** What {@link Igd1Gateway.map} asks for. */
export interface Igd1MapOptions {
  externalPort: number;
  description: string;
  /** Lease in seconds; 0 (permanent) when the router accepts only that. */
  leaseSeconds: number;
}

/** A mapping made on an IGD v1 router. */
export interface Igd1Mapping {
  externalHost: string;
  externalPort: number;
  internalHost: string;
  internalPort: number;
}

type Xml = Record<string, unknown>;

/** One IGD v1 router's WAN connection service, reached only at the router's address. */
export class Igd1Gateway {
  private constructor(
    /** The router's LAN address. */
    readonly host: string,
    private readonly control: URL,
    private readonly serviceType: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Search the LAN for an IGD v1 router at `router` (the default gateway) and
   * return its WAN connection service; rejects when none answers in `timeoutMs`.
   * SSDP is multicast: call only when port mapping is enabled.
   */
  static async find(router: string, localAddress: string, timeoutMs: number): Promise<Igd1Gateway> {
    const signal = AbortSignal.timeout(timeoutMs);
    let bus: SSDP | undefined;
    const refused: string[] = [];
    try {
      // Port 0: answers to an M-SEARCH come back to the asking port, so 1900 need not be free.
      bus = await ssdp({ cache: false, sockets: [{ type: 'udp4', bind: { address: localAddress, port: 0 } }] });
      bus.on('error', () => {});
      for await (const service of bus.discover({ serviceType: IGD1, signal })) {
        if (service.serviceType !== IGD1) continue;
        const gateway = Igd1Gateway.fromDescription(router, new URL(service.location), service.details, timeoutMs);
        if (gateway) return gateway;
        refused.push(new URL(service.location).host);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    } finally {
      await bus?.stop().catch(() => {});
    }
    const others = refused.length ? ` (ignored ${refused.join(', ')}: not the gateway or no WAN service)` : '';
    throw new Error(`no UPnP IGDv1 gateway at ${router} answered within ${timeoutMs} ms${others}`);
  }

  /**
   * The gateway a device description (parsed by xml2js, as @achingbrain/ssdp
   * gives it) offers, or null when it was not served by `router` itself, has no
   * WANIPConnection:1 / WANPPPConnection:1, or puts its control URL elsewhere.
   */
  static fromDescription(router: string, location: URL, details: unknown, timeoutMs: number): Igd1Gateway | null {
    if (location.hostname !== router || !details || typeof details !== 'object') return null;
    const found = controlUrlOf(details as Xml, location);
    return found ? new Igd1Gateway(router, found.url, found.serviceType, timeoutMs) : null;
  }

  /** Map `externalPort` (TCP) to `internalHost:internalPort`, then read the router's external address. */
  async map(internalPort: number, internalHost: string, opts: Igd1MapOptions): Promise<Igd1Mapping> {
    const add = (lease: number) =>
      this.call('AddPortMapping', [
        ['NewRemoteHost', ''],
        ['NewExternalPort', opts.externalPort],
        ['NewProtocol', 'TCP'],
        ['NewInternalPort', internalPort],
        ['NewInternalClient', internalHost],
        ['NewEnabled', 1],
        ['NewPortMappingDescription', opts.description],
        ['NewLeaseDuration', lease],
      ]);
    await add(opts.leaseSeconds).catch((err: Error & { upnpCode?: number }) => {
      if (err.upnpCode !== ONLY_PERMANENT_LEASES || opts.leaseSeconds === 0) throw err;
      return add(0);
    });
    const answer = await this.call('GetExternalIPAddress', []);
    const externalHost = String(answer.NewExternalIPAddress ?? '');
    if (!isIPv4(externalHost)) throw new Error(`router ${this.host} gave no usable external address (${externalHost || 'empty'})`);
    return { externalHost, externalPort: opts.externalPort, internalHost, internalPort };
  }

  /** Remove the TCP mapping of `externalPort`. */
  async unmap(externalPort: number, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.call(
      'DeletePortMapping',
      [
        ['NewRemoteHost', ''],
        ['NewExternalPort', externalPort],
        ['NewProtocol', 'TCP'],
      ],
      opts.signal,
    );
  }

  /** Nothing stays open between calls; kept so the mapper can treat every gateway alike. */
  async stop(_opts?: { signal?: AbortSignal }): Promise<void> {}

  /** One SOAP action; resolves with the action's response element, rejects with the router's UPnP error. */
  private async call(action: string, args: [string, string | number][], signal?: AbortSignal): Promise<Xml> {
    const body =
      '<?xml version="1.0"?>\r\n' +
      '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
      `<s:Body><u:${action} xmlns:u="${this.serviceType}">` +
      args.map(([k, v]) => `<${k}>${escapeXml(String(v))}</${k}>`).join('') +
      `</u:${action}></s:Body></s:Envelope>`;
    const { status, text } = await post(this.control, body, `"${this.serviceType}#${action}"`, this.timeoutMs, signal);
    const parsed = (await xml2js
      .parseStringPromise(text, { explicitArray: false, explicitRoot: false, tagNameProcessors: [xml2js.processors.stripPrefix] })
      .catch(() => null)) as Xml | null;
    const soapBody = parsed?.Body as Xml | undefined;
    if (status === 200 && soapBody && typeof soapBody === 'object') {
      const response = soapBody[`${action}Response`];
      return response && typeof response === 'object' ? (response as Xml) : {};
    }
    const upnp = ((soapBody?.Fault as Xml | undefined)?.detail as Xml | undefined)?.UPnPError as Xml | undefined;
    const err = new Error(
      upnp
        ? `${action} refused by ${this.host}: UPnP error ${String(upnp.errorCode)} ${String(upnp.errorDescription ?? '')}`.trim()
        : `${action} to ${this.host} failed: HTTP ${status}`,
    ) as Error & { upnpCode?: number };
    if (upnp) err.upnpCode = Number(upnp.errorCode);
    throw err;
  }
}

/** The control URL of the first WAN connection service in a device description, if it is on the router itself. */
function controlUrlOf(details: Xml, location: URL): { url: URL; serviceType: string } | null {
  const base = typeof details.URLBase === 'string' ? details.URLBase : location.href;
  for (const service of servicesOf(details.device as Xml | undefined)) {
    if (!WAN_SERVICES.includes(String(service.serviceType)) || typeof service.controlURL !== 'string') continue;
    let url: URL;
    try {
      url = new URL(service.controlURL, base);
    } catch {
      continue;
    }
    if (url.protocol === 'http:' && url.hostname === location.hostname) return { url, serviceType: String(service.serviceType) };
  }
  return null;
}

/** Every service of a device and its embedded devices (xml2js gives one child as an object, several as an array). */
function servicesOf(device: Xml | undefined, depth = 0): Xml[] {
  if (!device || typeof device !== 'object' || depth > 4) return [];
  const list = <T>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : x ? [x as T] : []);
  const own = list<Xml>((device.serviceList as Xml | undefined)?.service);
  const nested = list<Xml>((device.deviceList as Xml | undefined)?.device).flatMap((d) => servicesOf(d, depth + 1));
  return [...own, ...nested];
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** POST a SOAP body; the whole exchange is bounded by `timeoutMs` and the answer by {@link MAX_RESPONSE_BYTES}. */
function post(
  url: URL,
  body: string,
  soapAction: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const req = http.request(url, {
      method: 'POST',
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      headers: {
        'Content-Type': 'text/xml; charset="utf-8"',
        'Content-Length': Buffer.byteLength(body),
        SOAPAction: soapAction,
        Connection: 'close',
      },
    });
    req.once('error', (err) =>
      reject(err.name === 'AbortError' ? new Error(`no answer from ${url.hostname} within ${timeoutMs} ms`) : err),
    );
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          reject(new Error(`answer from ${url.hostname} exceeds ${MAX_RESPONSE_BYTES} bytes`));
        } else chunks.push(chunk);
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.once('error', reject);
    });
    req.end(body);
  });
}
