/**
 * The UPnP-IGD v1 client against a stand-in router on loopback (its SOAP
 * side; SSDP discovery is proven in the network lab, test/reach-lab-nat).
 * Shows what it refuses: control URLs off the router, oversized or missing
 * answers, and the router's UPnP errors.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import xml2js from 'xml2js';
import { afterEach, describe, expect, it } from 'vitest';
import { Igd1Gateway } from '../electron/peer/reach/upnp-igd1.js';

const WANIP1 = 'urn:schemas-upnp-org:service:WANIPConnection:1';

/** A device description as a v1 router serves it, parsed the way @achingbrain/ssdp does. */
async function description(controlURL: string, serviceType = WANIP1): Promise<unknown> {
  const xml = `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>
    <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
    <serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/l3f</controlURL></service></serviceList>
    <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
      <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
        <serviceList><service><serviceType>${serviceType}</serviceType><controlURL>${controlURL}</controlURL></service></serviceList>
      </device></deviceList>
    </device></deviceList></device></root>`;
  const parsed = (await xml2js.parseStringPromise(xml, { explicitArray: false, explicitRoot: true })) as { root: unknown };
  return parsed.root;
}

const envelope = (inner: string) =>
  `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>${inner}</s:Body></s:Envelope>`;
const upnpError = (code: number, text: string) =>
  envelope(
    `<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${text}</errorDescription></UPnPError></detail></s:Fault>`,
  );

interface Call {
  action: string;
  body: string;
}

/** A stand-in router's control endpoint on 127.0.0.1; `answer` decides each reply (null: never answer). */
async function fakeRouter(answer: (call: Call, n: number) => { status: number; body: string } | null) {
  const calls: Call[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const action = String(req.headers.soapaction ?? '').replace(/^"[^#]*#|"$/g, '');
      const call = { action, body };
      calls.push(call);
      const a = answer(call, calls.length);
      if (!a) return;
      res.writeHead(a.status, { 'content-type': 'text/xml' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const port = (server.address() as AddressInfo).port;
  return { calls, location: new URL(`http://127.0.0.1:${port}/rootDesc.xml`) };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const ok = (call: Call) => ({
  status: 200,
  body: envelope(
    call.action === 'GetExternalIPAddress'
      ? `<u:GetExternalIPAddressResponse xmlns:u="${WANIP1}"><NewExternalIPAddress>100.200.0.5</NewExternalIPAddress></u:GetExternalIPAddressResponse>`
      : `<u:${call.action}Response xmlns:u="${WANIP1}"></u:${call.action}Response>`,
  ),
});

describe('UPnP-IGD v1 client (stand-in router on loopback)', () => {
  it('maps, reads the external address and unmaps over WANIPConnection:1, escaping the description', async () => {
    const router = await fakeRouter(ok);
    const gw = Igd1Gateway.fromDescription('127.0.0.1', router.location, await description('/ctl/IPConn'), 2000);
    expect(gw).not.toBeNull();
    const m = await gw!.map(7400, '192.168.1.10', { externalPort: 7400, description: 'Mac<Tella> & co', leaseSeconds: 120 });
    expect(m).toEqual({ externalHost: '100.200.0.5', externalPort: 7400, internalHost: '192.168.1.10', internalPort: 7400 });
    await gw!.unmap(7400);
    expect(router.calls.map((c) => c.action)).toEqual(['AddPortMapping', 'GetExternalIPAddress', 'DeletePortMapping']);
    const add = router.calls[0]!.body;
    expect(add).toContain('<NewLeaseDuration>120</NewLeaseDuration>');
    expect(add).toContain('<NewInternalClient>192.168.1.10</NewInternalClient>');
    expect(add).toContain('Mac&#60;Tella&#62; &#38; co');
  });

  it('refuses a description served by another host than the gateway, or whose control URL points elsewhere', async () => {
    const router = await fakeRouter(ok);
    expect(Igd1Gateway.fromDescription('192.168.1.1', router.location, await description('/ctl'), 2000)).toBeNull();
    expect(Igd1Gateway.fromDescription('127.0.0.1', router.location, await description('http://203.0.113.9:80/ctl'), 2000)).toBeNull();
    // An IGD v2-only WAN service is not this client's job.
    const v2 = await description('/ctl', 'urn:schemas-upnp-org:service:WANIPConnection:2');
    expect(Igd1Gateway.fromDescription('127.0.0.1', router.location, v2, 2000)).toBeNull();
    expect(Igd1Gateway.fromDescription('127.0.0.1', router.location, 'not a description', 2000)).toBeNull();
    expect(router.calls).toEqual([]);
  });

  it("says the router's UPnP error, and retries once with a permanent lease when only those are allowed (725)", async () => {
    const conflict = await fakeRouter(() => ({ status: 500, body: upnpError(718, 'ConflictInMappingEntry') }));
    const gw = Igd1Gateway.fromDescription('127.0.0.1', conflict.location, await description('/ctl'), 2000)!;
    await expect(gw.map(7400, '192.168.1.10', { externalPort: 7400, description: 'x', leaseSeconds: 60 })).rejects.toThrow(
      'AddPortMapping refused by 127.0.0.1: UPnP error 718 ConflictInMappingEntry',
    );

    const permanent = await fakeRouter((call, n) =>
      n === 1 ? { status: 500, body: upnpError(725, 'OnlyPermanentLeasesSupported') } : ok(call),
    );
    const gw2 = Igd1Gateway.fromDescription('127.0.0.1', permanent.location, await description('/ctl'), 2000)!;
    await gw2.map(7400, '192.168.1.10', { externalPort: 7400, description: 'x', leaseSeconds: 60 });
    expect(permanent.calls.map((c) => c.action)).toEqual(['AddPortMapping', 'AddPortMapping', 'GetExternalIPAddress']);
    expect(permanent.calls[1]!.body).toContain('<NewLeaseDuration>0</NewLeaseDuration>');
  });

  it('bounds the answer: no answer times out, an oversized one is cut off, a bad external address is refused', async () => {
    const silent = await fakeRouter(() => null);
    const gw = Igd1Gateway.fromDescription('127.0.0.1', silent.location, await description('/ctl'), 300)!;
    await expect(gw.unmap(7400)).rejects.toThrow('no answer from 127.0.0.1 within 300 ms');

    const flood = await fakeRouter(() => ({ status: 200, body: envelope('x'.repeat(200_000)) }));
    const gw2 = Igd1Gateway.fromDescription('127.0.0.1', flood.location, await description('/ctl'), 2000)!;
    await expect(gw2.unmap(7400)).rejects.toThrow('exceeds 65536 bytes');

    const liar = await fakeRouter((call) =>
      call.action === 'GetExternalIPAddress'
        ? {
            status: 200,
            body: envelope(
              '<u:GetExternalIPAddressResponse><NewExternalIPAddress>not-an-ip</NewExternalIPAddress></u:GetExternalIPAddressResponse>',
            ),
          }
        : ok(call),
    );
    const gw3 = Igd1Gateway.fromDescription('127.0.0.1', liar.location, await description('/ctl'), 2000)!;
    await expect(gw3.map(7400, '192.168.1.10', { externalPort: 7400, description: 'x', leaseSeconds: 60 })).rejects.toThrow(
      'router 127.0.0.1 gave no usable external address (not-an-ip)',
    );
  }, 10_000);
});
