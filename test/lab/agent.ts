/**
 * A process the lab runs inside a namespace: it drives one reach part and
 * prints one JSON line per event on stdout, so a test can wait for events.
 * Stops cleanly on SIGTERM (the parts remove mappings and say goodbye).
 *
 * Usage: node --import tsx test/lab/agent.ts '<json job>'
 */
import net from 'node:net';
import { consoleLogger } from '../../electron/peer/logger.js';
import { DhtRendezvous } from '../../electron/peer/reach/dht-rendezvous.js';
import { LanDiscovery } from '../../electron/peer/reach/lan-discovery.js';
import { PortMapper, type MappingMethod } from '../../electron/peer/reach/port-mapping.js';
import { diagnose, formatDoctor } from '../../electron/peer/reach/doctor.js';
import { ReachService, type ReachSettings } from '../../electron/peer/reach/reach-service.js';
import { probeTcp } from '../../electron/peer/reach/reachability.js';

/** What an agent is asked to do. */
export type AgentJob =
  | { kind: 'lan'; peerId: string; port: number; interfaceAddress?: string }
  | { kind: 'dht'; bootstrap: string[]; networkName?: string; announcePort: number; dhtPort?: number; refreshMs?: number }
  | { kind: 'map'; port: number; methods?: MappingMethod[]; leaseSeconds?: number; greeting: string }
  | { kind: 'serve'; port: number; greeting: string }
  | { kind: 'probe'; host: string; port: number; timeoutMs?: number }
  | { kind: 'reach'; peerId: string; port: number; settings: ReachSettings; greeting: string };

const out = (event: string, data: object = {}) => process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...data })}\n`);
const log = consoleLogger('[agent] ');
const stops: (() => Promise<void>)[] = [];

/** A TCP server that writes its greeting to whoever connects: the thing a mapping must make reachable. */
function serveGreeting(port: number, greeting: string): Promise<void> {
  const server = net.createServer((s) => {
    // A probe closes at once; its reset is not this server's problem.
    s.on('error', () => {});
    s.end(greeting);
  });
  stops.push(() => new Promise((r) => server.close(() => r())));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
}

async function main(job: AgentJob): Promise<void> {
  switch (job.kind) {
    case 'lan': {
      const lan = new LanDiscovery({ peerId: job.peerId, port: job.port, interfaceAddress: job.interfaceAddress, logger: log });
      lan.on('found', (p) => out('found', { peer: p, sinceStartMs: lan.timeToFirstPeerMs() }));
      lan.on('lost', (p) => out('lost', { peer: p }));
      stops.push(() => lan.stop());
      await lan.start();
      out('started');
      return;
    }
    case 'dht': {
      const dht = new DhtRendezvous({ ...job, refreshMs: 3_600_000, logger: log });
      dht.on('peer', (p) => out('peer', { peer: p }));
      dht.on('announced', (a) => out('announced', a));
      stops.push(() => dht.stop());
      await dht.start();
      out('ready', { dhtPort: dht.dhtPort, nodes: dht.nodeCount() });
      if (!job.bootstrap.length) return;
      if (job.announcePort > 0) await dht.announce();
      const first = await dht.lookup();
      out('lookup', first);
      // Keep announcing and looking up, as the peer does, so later arrivals are found too.
      const timer = setInterval(() => void dht.refresh(), job.refreshMs ?? 1000);
      stops.unshift(async () => clearInterval(timer));
      return;
    }
    case 'map': {
      await serveGreeting(job.port, job.greeting);
      const mapper = new PortMapper({ port: job.port, methods: job.methods, leaseSeconds: job.leaseSeconds, logger: log });
      mapper.on('renewed', (m) => out('renewed', { mapping: m }));
      mapper.on('failed', (a) => out('failed', { attempt: a }));
      stops.unshift(async () => {
        await mapper.stop();
        out('unmapped');
      });
      const mapping = await mapper.start();
      out(mapping ? 'mapped' : 'unmappable', { mapping, attempts: mapper.attempts() });
      return;
    }
    case 'reach': {
      await serveGreeting(job.port, job.greeting);
      const reach = new ReachService({ peerId: job.peerId, port: job.port, settings: job.settings, logger: log, dhtRefreshMs: 1000 });
      reach.on('nearby', (p) => out('nearby', { peer: p }));
      reach.on('found-online', (p) => out('found-online', { peer: p }));
      reach.on('mapping', (m) => out('mapping', { mapping: m }));
      stops.unshift(() => reach.stop());
      // The doctor on demand: SIGUSR2 prints the report.
      process.on('SIGUSR2', () => {
        const report = diagnose(reach.snapshot(), { host: '0.0.0.0', port: job.port, interfaces: [] });
        out('doctor', { report, text: formatDoctor(report) });
      });
      await reach.start();
      out('started');
      return;
    }
    case 'serve':
      await serveGreeting(job.port, job.greeting);
      out('listening');
      return;
    case 'probe': {
      const r = await probeTcp(job.host, job.port, job.timeoutMs);
      let greeting = '';
      if (r.ok) {
        greeting = await new Promise<string>((resolve) => {
          const s = net.connect(job.port, job.host);
          let text = '';
          s.on('data', (d) => (text += d.toString()));
          s.on('close', () => resolve(text));
          s.on('error', () => resolve(text));
        });
      }
      out('probed', { ...r, greeting });
      process.exit(0);
    }
  }
}

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    for (const stop of stops) await stop().catch((err: Error) => log.warn(err.message));
    out('stopped');
    process.exit(0);
  })();
});

main(JSON.parse(process.argv[2] ?? '{}') as AgentJob).catch((err: Error) => {
  out('error', { message: err.message });
  process.exit(1);
});
