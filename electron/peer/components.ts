import type { EventPayloads } from '../../shared/contract.js';
import { addressKey, normalizeHost } from './address.js';
import type { PeerAddress } from '../../shared/types.js';
import type { HostCache } from './host-cache.js';
import type { Library } from './library.js';
import type { Listener } from './listener.js';
import type { Logger } from './logger.js';
import type { StatsCounter } from './stats.js';
import type { TransferManager } from './transfers/transfer-manager.js';
import type { TypedEmitter } from './typed-emitter.js';
import type { Hello } from './v2/connection.js';
import type { PeerIdentity } from './identity/identity.js';

/** Time as the parts see it; tests hand in a fake one. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * The things a peer is built from. `Peer.start` creates them; each part gets
 * this one object, so a test can build a part with a fake clock and real
 * folders and sockets.
 */
export interface PeerComponents {
  listener?: Listener;
  hostCache: HostCache;
  /** The shared folder's index; a function, because changing the shared folder swaps it. */
  library: () => Library;
  transfers?: TransferManager;
  clock: Clock;
  log: Logger;
  stats: StatsCounter;
  events: TypedEmitter<EventPayloads>;
}

/** What the overlay parts need to know about the peer they belong to. */
export interface PeerSelf {
  /** Our peer ID. */
  id(): string;
  /** Our key and certificate: every v2 link is TLS 1.3 with them. */
  identity(): PeerIdentity;
  /** Our listening port (0 before listening). */
  port(): number;
  /** The host we listen on as bound (may be unspecified, e.g. 0.0.0.0). */
  boundHost(): string;
  /** Our hello for a connection of this role. */
  hello(role: Hello['role']): Hello;
  /** True if this address is this very peer. */
  isSelf(a: PeerAddress): boolean;
  /** Remember an address that turned out to be this peer. */
  markSelf(a: PeerAddress): void;
  /** True while the peer is starting or running (not quitting or stopped). */
  isLive(): boolean;
  /** Where the internet reaches us (a port mapping, or a confirmed public address), if known. */
  publicAddress?(): PeerAddress | null;
  /** True when neighbours could not dial us back: others cannot connect to us. */
  firewalled?(): boolean;
}

/** The addresses that are this very peer: where it listens, and any a dial found to be itself. */
export class SelfAddresses {
  private readonly keys = new Set<string>();
  private port = 0;

  /** Record where we listen (loopback always counts). */
  listening(a: PeerAddress, unspecified: boolean): void {
    this.port = a.port;
    this.add({ host: '127.0.0.1', port: a.port });
    if (!unspecified) this.add(a);
  }

  add(a: PeerAddress): void {
    this.keys.add(addressKey(a));
  }

  has(a: PeerAddress): boolean {
    if (this.keys.has(addressKey(a))) return true;
    const h = normalizeHost(a.host);
    return a.port === this.port && (h === '127.0.0.1' || h === '::1');
  }
}
