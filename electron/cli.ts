/**
 * `mactella`: the terminal peer. A thin adapter: it parses the seed's commands,
 * calls the peer, and prints the peer's events. No peer logic lives here.
 */
import readline from 'node:readline';
import cliProgress from 'cli-progress';
import { formatBytes, formatEta, formatRoute, formatSpeed, percent } from '../shared/format.js';
import type { SearchHit, TransferInfo } from '../shared/types.js';
import { HELP_TEXT, parseCommand, type CliCommand } from './cli-commands.js';
import { formatAddress } from './peer/address.js';
import { formatDoctor } from './peer/reach/doctor.js';
import { formatPeerSpec } from './peer/identity/peer-id.js';
import { consoleLogger, printable } from './peer/logger.js';
import { PEER_CLI_HELP, parsePeerArgs } from './peer/options.js';
import { Peer } from './peer/peer.js';
import { loadPeerOptions } from './peer/settings-store.js';
import { LocalStreamServer } from './peer/stream/local-stream-server.js';
import { formatV1Line } from './peer/v1/codec.js';

const USAGE = `Usage:
  mactella [peer options]          terminal peer: type the seed's commands (HELP lists them)
  mactella serve [peer options] [--ui-port N] [--ui-host ADDR]
                                   headless peer with the web UI

${PEER_CLI_HELP}
  --verbose           print the peer's log lines`;

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'serve') {
    const { runServe } = await import('./serve.js');
    await runServe(argv.slice(1));
    return;
  }
  let parsed;
  try {
    parsed = parsePeerArgs(argv, { verbose: { type: 'boolean' } });
  } catch (e) {
    console.error(`mactella: ${(e as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    console.log(USAGE);
    return;
  }
  if (parsed.positionals.length) {
    console.error(`mactella: unexpected argument "${parsed.positionals[0]}"\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const options = await loadPeerOptions(parsed.options);
  let peer: Peer;
  try {
    peer = await Peer.start(options, { logger: parsed.values.verbose ? consoleLogger() : undefined });
  } catch (e) {
    console.error(`mactella: ${(e as Error).message}`);
    process.exitCode = 1;
    return;
  }
  await new TerminalPeer(peer).run();
}

/** The prompt loop and event printing for one peer. */
class TerminalPeer {
  private readonly tty = Boolean(process.stdout.isTTY);
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private multibar?: cliProgress.MultiBar;
  private readonly watched = new Set<string>();
  private lastLine = new Map<string, number>();
  private quitting = false;
  private forced = false;
  private readonly queue: string[] = [];
  private busy = false;
  private inputClosed = false;
  private resolveDone!: () => void;
  /** Where PLAY's URLs point (127.0.0.1, a token per stream), started on the first PLAY. */
  private player?: LocalStreamServer;

  constructor(private readonly peer: Peer) {}

  async run(): Promise<void> {
    const { host, port } = this.peer.address();
    this.print(`listening on ${host}:${port}`);
    this.print(`peer id: ${this.peer.id}`);
    const n = this.peer.listLocal().length;
    this.print(`sharing ${this.peer.settings().sharedDir} (${n} file${n === 1 ? '' : 's'}); type HELP for commands`);
    this.subscribe();
    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    rl.on('line', (line) => {
      // FORCEQUIT works even while QUIT is waiting.
      if (line.trim().toUpperCase() === 'FORCEQUIT') return void this.forceQuit();
      this.queue.push(line);
      void this.drain();
    });
    rl.on('close', () => {
      this.inputClosed = true;
      void this.drain();
    });
    process.once('SIGINT', () => void this.forceQuit());
    process.once('SIGTERM', () => void this.forceQuit());
    await new Promise<void>((r) => (this.resolveDone = r));
    rl.close();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length && !this.quitting) {
        const line = this.queue.shift()!;
        try {
          await this.execute(parseCommand(line));
        } catch (e) {
          this.print(`error: ${printable((e as Error).message)}`);
        }
      }
      // The end of stdin behaves as QUIT, so piped scripts finish their transfers.
      if (this.inputClosed && !this.quitting && this.queue.length === 0) await this.quit();
    } finally {
      this.busy = false;
    }
  }

  private async execute(c: CliCommand): Promise<void> {
    const p = this.peer;
    switch (c.cmd) {
      case 'EMPTY':
        return;
      case 'HELP':
        return this.print(HELP_TEXT);
      case 'LISTL': {
        const files = p.listLocal();
        return this.print(files.length ? files.map(formatV1Line).join('\n') : 'There is no files in the directory');
      }
      case 'LISTR': {
        const r = await p.listRemote(c.peer);
        this.print(`${formatAddress(c.peer)} (${r.protocol}): ${r.files.length} file${r.files.length === 1 ? '' : 's'}`);
        if (r.files.length === 0) this.print('There is no files in the directory');
        for (const f of r.files)
          this.print(formatV1Line({ ...f, name: printable(f.name) }) + (f.sha256 ? `\t sha256: ${printable(f.sha256.slice(0, 16))}` : ''));
        return;
      }
      case 'SEARCH': {
        const { searchId } = p.search(c.name, c.ttl);
        this.print(`searching for "${c.name}" (ttl ${c.ttl}, id ${searchId.slice(0, 8)})`);
        return;
      }
      case 'DISCOVER':
        p.discover(c.ttl);
        return this.print(`discovering peers (ttl ${c.ttl})`);
      case 'GET': {
        const t = p.download({ name: c.name, sources: [c.peer] });
        this.watched.add(t.id);
        return this.print(`GET ${printable(t.name)} from ${formatPeerSpec(c.peer)} started`);
      }
      case 'PLAY': {
        const info = await p.streams.open({ name: c.name, sources: [c.peer] });
        if (info.transferId) this.watched.add(info.transferId);
        this.player ??= await LocalStreamServer.start();
        const { url } = this.player.publish(p.streams.source(info.id)!, info.name);
        return this.print(`PLAY ${printable(info.name)}: open ${url} in a player such as mpv or VLC`);
      }
      case 'RESET': {
        const known = p.reset();
        return this.print(`List of Peers has been reset (${known.length} bootstrap peer${known.length === 1 ? '' : 's'})`);
      }
      case 'ID':
        return this.print(`peer id: ${p.id}`);
      case 'PEERS':
        return this.printPeers();
      case 'REMOVE': {
        const { known } = p.removePeer(c.peer);
        return this.print(
          `Removed ${formatAddress(c.peer)} and its pinned ID (${known.length} known peer${known.length === 1 ? '' : 's'} left)`,
        );
      }
      case 'DOCTOR':
        return this.print(formatDoctor(p.doctor()));
      case 'STATS':
        return this.printStats();
      case 'WAIT':
        await new Promise((r) => setTimeout(r, c.seconds * 1000));
        return;
      case 'LIMIT': {
        const s = await p.updateSettings(
          c.direction === 'up' ? { maxUploadRate: c.bytesPerSecond } : { maxDownloadRate: c.bytesPerSecond },
        );
        const rate = c.direction === 'up' ? s.maxUploadRate : s.maxDownloadRate;
        return this.print(`${c.direction === 'up' ? 'upload' : 'download'} limit: ${rate > 0 ? formatSpeed(rate) : 'none'}`);
      }
      case 'QUIT':
        return this.quit();
      case 'FORCEQUIT':
        return this.forceQuit();
    }
  }

  private async quit(): Promise<void> {
    if (this.quitting) return;
    this.quitting = true;
    const running = this.peer.activeTransfers();
    if (running.length) {
      this.print(`Waiting for ${running.length} transfer${running.length === 1 ? '' : 's'} to finish (type FORCEQUIT to quit now):`);
      for (const t of running)
        this.print(`  ${t.direction === 'down' ? 'download' : 'upload'} ${printable(t.name)} ${percent(t.bytes, t.total)}%`);
    }
    await this.player?.close();
    await this.peer.quit();
    if (this.forced) return;
    this.multibar?.stop();
    this.print('Bye');
    this.resolveDone();
  }

  private async forceQuit(): Promise<void> {
    if (this.forced) return;
    this.forced = true;
    this.quitting = true;
    const cut = this.peer.activeTransfers();
    await this.player?.close();
    await this.peer.quit({ force: true });
    this.multibar?.stop();
    if (cut.length)
      this.print(`Stopped ${cut.length} transfer${cut.length === 1 ? '' : 's'}; partial downloads are kept and resume next time.`);
    this.print('Bye');
    this.resolveDone();
  }

  private subscribe(): void {
    const ev = this.peer.events;
    ev.on('search:hit', (h) => this.print(formatHit(h)));
    ev.on('peer:found', (p) =>
      this.print(`peer: ${printable(formatAddress(p))} (${p.protocol}${p.files !== undefined ? `, ${p.files} files` : ''})`),
    );
    ev.on('transfer:progress', (t) => this.progress(t));
    ev.on('transfer:done', (t) => this.finished(t));
    ev.on('transfer:failed', (t) => this.finished(t));
    ev.on('log', (l) => {
      if (l.level !== 'info') process.stderr.write(`${l.level}: ${printable(l.msg)}\n`);
    });
  }

  private progress(t: TransferInfo): void {
    if (!this.watched.has(t.id)) return;
    if (this.tty) {
      this.multibar ??= new cliProgress.MultiBar(
        { format: ' {name} [{bar}] {percentage}% {done} {speed} ETA {eta}', hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      let bar = this.bars.get(t.id);
      if (!bar) {
        bar = this.multibar.create(t.total || 1, 0, { name: printable(t.name) });
        this.bars.set(t.id, bar);
      }
      bar.setTotal(t.total || 1);
      bar.update(t.bytes, { name: printable(t.name), done: formatBytes(t.bytes), speed: formatSpeed(t.speed), eta: formatEta(t.eta) });
      return;
    }
    // Plain lines when not on a terminal: at most one a second per transfer.
    const now = Date.now();
    if (now - (this.lastLine.get(t.id) ?? 0) < 1000) return;
    this.lastLine.set(t.id, now);
    const route = formatRoute(t.route);
    const where = (t.state === 'queued' && t.queuePosition ? ` queued at position ${t.queuePosition}` : '') + (route ? ` ${route}` : '');
    this.print(
      `progress ${printable(t.name)} ${percent(t.bytes, t.total)}% ${formatBytes(t.bytes)}/${formatBytes(t.total)} ${formatSpeed(t.speed)} ETA ${formatEta(t.eta)}${where}`,
    );
  }

  private finished(t: TransferInfo): void {
    if (!this.watched.has(t.id)) return;
    const bar = this.bars.get(t.id);
    if (bar) {
      bar.update(t.bytes);
      bar.stop();
    }
    const route = formatRoute(t.route);
    if (t.state === 'done')
      this.print(
        `GET ${printable(t.name)}: complete and verified (${formatBytes(t.total)}, sha256 ${t.sha256}${route ? `, ${route}` : ''}) saved to ${printable(t.path ?? '')}`,
      );
    else if (t.state === 'cancelled') this.print(`GET ${printable(t.name)}: cancelled`);
    else this.print(`GET ${printable(t.name)}: FAILED, not complete: ${printable(t.error ?? t.state)}`);
    this.watched.delete(t.id);
  }

  private printPeers(): void {
    const { known, neighbours } = this.peer.peers();
    this.print(`known peers (${known.length}):`);
    // ID@HOST:PORT where an ID is pinned; seed peers are marked as the plain-text links they are.
    const proto = (p: string) => (p === 'v1' ? 'v1 unencrypted (seed peer)' : p === 'v2' ? 'v2 TLS' : p);
    for (const k of known)
      this.print(
        `  ${formatPeerSpec(k)}\t${proto(k.protocol)}\t${k.source}${k.connected ? '\tconnected' : ''}${k.refused ? `\trefused: ${k.refused}` : ''}`,
      );
    this.print(`neighbours (${neighbours.length}):`);
    for (const n of neighbours)
      this.print(`  ${formatPeerSpec({ ...n, id: n.peerId })}\tv2 TLS\t${n.direction === 'out' ? 'outgoing' : 'incoming'}`);
  }

  private printStats(): void {
    const s = this.peer.statsSnapshot();
    const fmt = (m: Record<string, number>) =>
      Object.entries(m)
        .sort()
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-';
    this.print(`messages in:  ${fmt(s.messagesIn)}`);
    this.print(`messages out: ${fmt(s.messagesOut)}`);
    this.print(`duplicates dropped: ${s.duplicatesDropped}`);
    this.print(`drops: ${fmt(s.drops)}`);
    this.print(`bytes up: ${s.bytesUp} (${formatBytes(s.bytesUp)})  bytes down: ${s.bytesDown} (${formatBytes(s.bytesDown)})`);
    this.print(`connect-backs: ${s.connectBacks}  neighbours: ${s.neighbours}  known peers: ${s.knownPeers}`);
  }

  /** Every line goes through {@link printable}; fields from the network are escaped before joining, so they cannot add lines. */
  private print(text: string): void {
    const safe = text.split('\n').map(printable).join('\n');
    if (this.multibar) this.multibar.log(`${safe}\n`);
    else process.stdout.write(`${safe}\n`);
  }
}

/**
 * The `found:` line of a search hit; every field from the network is escaped.
 * A v2 hit names its peer (`ID@HOST:PORT`), since two peers behind one NAT
 * share a public address; GET takes that address as printed.
 */
export function formatHit(h: SearchHit): string {
  const details = h.size !== undefined ? ` (${formatBytes(h.size)}, ${printable(String(h.type))})` : '';
  const hash = h.sha256 ? `, sha256 ${printable(h.sha256.slice(0, 16))}` : '';
  const fw = h.firewalled ? ', firewalled' : '';
  return `found: ${printable(h.name)}${details} at ${printable(formatPeerSpec(h.peer))} [${printable(String(h.protocol))}${hash}${fw}]`;
}
