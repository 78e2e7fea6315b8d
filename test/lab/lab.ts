/**
 * A network lab of real Linux network namespaces on one machine: switches
 * (bridges), hosts, NAT routers (nftables masquerade) and, on a router that
 * asks for it, miniupnpd as a real UPnP-IGD / NAT-PMP gateway.
 *
 * Nothing here touches the root namespace's interfaces: every bridge lives in
 * the lab's own "switch" namespace and every veth pair is created directly
 * between two lab namespaces, so no packet can reach a real network. Names
 * carry the creating process's pid, so a later run can remove a crashed run's
 * namespaces ({@link cleanupStaleLabs}) without touching a live one.
 */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Every lab namespace starts with this. */
export const LAB_PREFIX = 'mtlab-';

/**
 * The "internet" of the lab. miniupnpd refuses to forward when its WAN address
 * is in a reserved block (it answers NAT-PMP with result 3), so the public
 * segment uses a routable range. It exists only inside the lab's namespaces.
 */
export const PUBLIC_NET = '100.200.0';

/** Why the lab cannot run here, or null when it can. */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'the network lab needs Linux network namespaces';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'the network lab needs root (ip netns, nftables)';
  for (const tool of ['ip', 'nft']) {
    if (!findExecutable(tool)) return `the network lab needs \`${tool}\` (apt: iproute2 nftables)`;
  }
  return null;
}

/** Why a lab with miniupnpd cannot run here, or null when it can. */
export function upnpUnavailableReason(): string | null {
  return labUnavailableReason() ?? (findExecutable('miniupnpd') ? null : 'the UPnP lab needs miniupnpd (apt: miniupnpd-nftables)');
}

function findExecutable(name: string): string | null {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin']);
  for (const d of dirs) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* keep looking */
    }
  }
  return null;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 10_000 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function listNamespaces(): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** Kill what runs inside a lab namespace (our own processes: only labs start them), then delete it. */
async function removeNamespace(ns: string): Promise<void> {
  const pids = await sh('ip', ['netns', 'pids', ns]).catch(() => '');
  for (const pid of pids
    .split('\n')
    .map(Number)
    .filter((n) => n > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await sh('ip', ['netns', 'del', ns]).catch(() => {});
}

/**
 * Remove the namespaces of labs whose creating process is dead (a crashed or
 * killed test run). Live labs, including other test workers', are left alone.
 * @returns the namespaces removed
 */
export async function cleanupStaleLabs(prefix = LAB_PREFIX): Promise<string[]> {
  const stale = (await listNamespaces()).filter((ns) => {
    if (!ns.startsWith(prefix)) return false;
    const pid = Number(ns.slice(prefix.length).split('-')[0]);
    return Number.isInteger(pid) && pid > 0 && !pidAlive(pid);
  });
  for (const ns of stale) await removeNamespace(ns);
  return stale;
}

/** One side of a link: the switch it plugs into and its address with prefix length, e.g. `192.168.1.10/24`. */
export interface LinkSpec {
  switch: string;
  address: string;
}

/** A router's options. */
export interface RouterSpec {
  wan: LinkSpec;
  lan: LinkSpec;
  /** Run miniupnpd (UPnP-IGD, and NAT-PMP unless `natpmp: false`) on this router. */
  upnp?: { igdV1?: boolean; natpmp?: boolean };
}

/** A running miniupnpd. */
export interface UpnpDaemon {
  process: ChildProcess;
  /** Its log so far (stderr and stdout). */
  log(): string;
}

/** Strip the prefix length: `192.168.1.1/24` → `192.168.1.1`. */
export function ipOf(cidr: string): string {
  return cidr.split('/')[0]!;
}

/** A lab: create it, add switches, hosts and routers, run processes in them, destroy it. */
export class Lab {
  readonly id: string;
  readonly dir: string;
  private readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private readonly switchNs: string;
  private portCounter = 0;

  private constructor() {
    this.id = `${LAB_PREFIX}${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
    this.switchNs = `${this.id}-sw`;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `${this.id}-`));
  }

  /** A new empty lab (after removing any crashed run's leftovers). */
  static async create(): Promise<Lab> {
    const reason = labUnavailableReason();
    if (reason) throw new Error(reason);
    await cleanupStaleLabs();
    const lab = new Lab();
    await lab.addNamespace(lab.switchNs);
    return lab;
  }

  /** The namespace name of a host or router. */
  ns(name: string): string {
    return `${this.id}-${name}`;
  }

  private async addNamespace(ns: string): Promise<void> {
    await sh('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A switch: a bridge in the lab's switch namespace. */
  async addSwitch(name: string): Promise<void> {
    await sh('ip', ['-n', this.switchNs, 'link', 'add', `br-${name}`, 'type', 'bridge']);
    await sh('ip', ['-n', this.switchNs, 'link', 'set', `br-${name}`, 'up']);
  }

  /** Plug interface `ifname` of namespace `ns` into a switch with a veth pair, and give it an address. */
  private async plug(ns: string, ifname: string, link: LinkSpec): Promise<void> {
    const port = `p${++this.portCounter}`;
    await sh('ip', ['link', 'add', ifname, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.switchNs]);
    await sh('ip', ['-n', this.switchNs, 'link', 'set', port, 'master', `br-${link.switch}`]);
    await sh('ip', ['-n', this.switchNs, 'link', 'set', port, 'up']);
    await sh('ip', ['-n', ns, 'addr', 'add', link.address, 'dev', ifname]);
    await sh('ip', ['-n', ns, 'link', 'set', ifname, 'up']);
  }

  /** A host with one interface `eth0`; `gateway` sets its default route. */
  async addHost(name: string, link: LinkSpec, gateway?: string): Promise<void> {
    const ns = this.ns(name);
    await this.addNamespace(ns);
    await this.plug(ns, 'eth0', link);
    // Multicast (mDNS, SSDP) needs a route even on a segment without a router.
    await sh('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    if (gateway) await sh('ip', ['-n', ns, 'route', 'add', 'default', 'via', gateway]);
  }

  /**
   * A home router: `wan0` on the public switch, `lan0` on the home switch,
   * masquerade out of wan0, and a forward policy that drops new inbound
   * connections (as a home router does) unless miniupnpd has mapped them.
   */
  async addRouter(name: string, spec: RouterSpec): Promise<UpnpDaemon | null> {
    const ns = this.ns(name);
    await this.addNamespace(ns);
    await this.plug(ns, 'wan0', spec.wan);
    await this.plug(ns, 'lan0', spec.lan);
    await sh('ip', ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lan0']);
    await sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    const rules = path.join(this.dir, `${name}.nft`);
    fs.writeFileSync(rules, routerRuleset());
    await sh('ip', ['netns', 'exec', ns, 'nft', '-f', rules]);
    return spec.upnp ? this.startMiniupnpd(name, spec) : null;
  }

  private async startMiniupnpd(name: string, spec: RouterSpec): Promise<UpnpDaemon> {
    const conf = path.join(this.dir, `${name}-miniupnpd.conf`);
    const lanNet = spec.lan.address.replace(/\.\d+\/(\d+)$/, '.0/$1');
    fs.writeFileSync(
      conf,
      [
        'ext_ifname=wan0',
        'listening_ip=lan0',
        'port=0',
        `ext_ip=${ipOf(spec.wan.address)}`,
        `enable_natpmp=${spec.upnp?.natpmp === false ? 'no' : 'yes'}`,
        'enable_upnp=yes',
        'secure_mode=yes',
        'system_uptime=yes',
        'ipv6_disable=yes',
        `force_igd_desc_v1=${spec.upnp?.igdV1 === false ? 'no' : 'yes'}`,
        `uuid=${crypto.randomUUID()}`,
        `lease_file=${path.join(this.dir, `${name}-leases`)}`,
        'upnp_table_name=mtnat',
        'upnp_nat_table_name=mtnat',
        'upnp_forward_chain=miniupnpd',
        'upnp_nat_chain=prerouting_miniupnpd',
        'upnp_nat_postrouting_chain=postrouting_miniupnpd',
        `allow 1024-65535 ${lanNet} 1024-65535`,
        'deny 0-65535 0.0.0.0/0 0-65535',
        '',
      ].join('\n'),
    );
    // Its default pid file is global (/run/miniupnpd.pid): one per router, or the second router refuses to start.
    const child = this.spawn(name, 'miniupnpd', ['-d', '-f', conf, '-P', path.join(this.dir, `${name}-miniupnpd.pid`)]);
    let log = '';
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    // Ready when it listens for NAT-PMP (or, without it, HTTP); its log says so.
    const ready = spec.upnp?.natpmp === false ? /HTTP listening on port/ : /Listening for NAT-PMP/;
    const deadline = Date.now() + 5000;
    while (!ready.test(log)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`miniupnpd did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { process: child, log: () => log };
  }

  /** Start a process inside a lab namespace (killed by {@link destroy}). */
  spawn(name: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const ns = this.ns(name);
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Run a command inside a lab namespace and return its stdout. */
  exec(name: string, cmd: string, args: string[]): Promise<string> {
    return sh('ip', ['netns', 'exec', this.ns(name), cmd, ...args]);
  }

  /** Stop every process the lab started and delete its namespaces and files. */
  async destroy(): Promise<void> {
    const exits = [...this.children].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => {
            c.kill('SIGKILL');
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(exits);
    for (const ns of this.namespaces.reverse()) await removeNamespace(ns);
    this.namespaces.length = 0;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The router's nftables: one table holding the NAT, the forward policy and the chains miniupnpd fills. */
function routerRuleset(): string {
  return `table inet mtnat {
  chain miniupnpd {
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
    jump miniupnpd
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "wan0" masquerade
  }
}
`;
}
