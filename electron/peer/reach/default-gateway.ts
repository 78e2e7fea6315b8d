/**
 * The IPv4 default gateway (where NAT-PMP requests go) and the local address
 * that faces it (the internal host a port mapping points at).
 */
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Parse Linux's /proc/net/route: the gateway of the default route, or null. */
export function parseProcNetRoute(text: string): string | null {
  for (const line of text.split('\n').slice(1)) {
    const [, dest, gateway, flags] = line.trim().split(/\s+/);
    // RTF_UP | RTF_GATEWAY, destination 0.0.0.0.
    if (dest === '00000000' && gateway && (Number.parseInt(flags ?? '0', 16) & 3) === 3) {
      const n = Number.parseInt(gateway, 16);
      return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
    }
  }
  return null;
}

/** The IPv4 default gateway, or null when there is none (or the platform is not supported). */
export async function defaultGateway4(): Promise<string | null> {
  if (process.platform === 'linux') {
    return parseProcNetRoute(await fs.readFile('/proc/net/route', 'utf8').catch(() => ''));
  }
  if (process.platform === 'darwin') {
    const out = await run('/sbin/route', ['-n', 'get', 'default'], { timeout: 3000 }).catch(() => ({ stdout: '' }));
    return /gateway:\s*(\d+\.\d+\.\d+\.\d+)/.exec(out.stdout)?.[1] ?? null;
  }
  return null;
}

/**
 * The local address the kernel would use to reach `host`. A connected UDP
 * socket sends nothing; connecting only picks the route.
 */
export function localAddressToward(host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.connect(9, host, () => {
      const { address } = socket.address();
      socket.close();
      resolve(address);
    });
  });
}
