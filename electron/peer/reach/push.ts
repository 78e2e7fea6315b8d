/**
 * PUSH, as in Gnutella, for a firewalled source and a reachable downloader:
 * the downloader sends a push request that travels back along the path the
 * source's hit came; the source dials out to the downloader over TLS (IDs
 * checked both ways, hello role "push") and serves the ranges on that link,
 * as if the downloader had dialled it.
 *
 * A push is a request to connect somewhere, so it is bounded as the v1
 * connect-back is: a shared budget, a few at a time, never a bogon address,
 * and the dial must reach the peer the request names (TLS checks its ID).
 */
import type net from 'node:net';
import type { PeerAddress, SearchHit } from '../../../shared/types.js';
import { addressKey, isBogonTarget } from '../address.js';
import type { PeerIdentity } from '../identity/identity.js';
import type { Logger } from '../logger.js';
import { nextFrame } from '../overlay/v2-inbound.js';
import { TokenBucket } from '../token-bucket.js';
import type { Hello } from '../v2/connection.js';
import { TRANSFER_MAX_FRAME } from '../transfers/pieces.js';
import { FrameDecoder } from '../v2/frame.js';
import type { V2Message, V2Of } from '../v2/messages.js';
import { dialSecureV2, type SecureV2Link } from '../v2/secure-v2.js';

/** What the push part needs from the peer. */
export interface PushDeps {
  log: Logger;
  identity(): PeerIdentity;
  hello(role: Hello['role']): Hello;
  /** Our ID and the address the source should dial: the public one (mapping or confirmed), if any. */
  self(): { id: string; reachable: PeerAddress | null };
  /** Send a push toward the peer with this ID; false when no path is known. */
  route(push: V2Of<'push'>): boolean;
  /** Serve one transfer request on a link (the upload server's entry). */
  serveTransfer(socket: net.Socket, decoder: FrameDecoder, first: V2Message, remote: Hello): Promise<void>;
  newId(): string;
  /** Pushes we act on per minute (default 12, bursts of 4) and at once (default 2). */
  perMinute?: number;
  concurrent?: number;
  timeoutMs?: number;
}

interface Waiter {
  resolve(link: SecureV2Link): void;
  reject(err: Error): void;
}

const MAX_REMEMBERED_HITS = 1000;

/** Both sides of PUSH for one peer. */
export class PushBroker {
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly hitIds = new Map<string, string>();
  private readonly budget: TokenBucket;
  private active = 0;

  constructor(private readonly deps: PushDeps) {
    const perMinute = deps.perMinute ?? 12;
    this.budget = new TokenBucket(perMinute / 60, Math.max(1, Math.ceil(perMinute / 3)));
  }

  /** Remember who answered at an address, so a GET by the printed address can ask that peer to push. */
  noteHit(h: SearchHit): void {
    if (!h.peer.id) return;
    if (this.hitIds.size >= MAX_REMEMBERED_HITS) this.hitIds.delete(this.hitIds.keys().next().value!);
    this.hitIds.set(addressKey(h.peer), h.peer.id);
  }

  /** The ID of the peer a recent hit showed at this address. */
  idAt(a: PeerAddress): string | undefined {
    return this.hitIds.get(addressKey(a));
  }

  /**
   * Downloader side: ask the source to dial us, and resolve with its link
   * once it did. Fails at once when we are not reachable ourselves (a relay is
   * needed then) or no path to the source is known.
   */
  request(source: PeerAddress & { id: string }, signal: AbortSignal): Promise<SecureV2Link> {
    const me = this.deps.self();
    if (!me.reachable)
      return Promise.reject(new Error(`cannot reach ${source.id}, and it cannot reach us (both firewalled: a relay is needed)`));
    const push: V2Of<'push'> = {
      t: 'push',
      id: this.deps.newId(),
      ttl: 7,
      hops: 0,
      target: source.id,
      to: { ...me.reachable, peerId: me.id },
    };
    if (!this.deps.route(push)) return Promise.reject(new Error(`cannot reach ${source.id}, and no path to ask it to push`));
    this.deps.log.info(`push: asked ${source.id} to connect to ${me.reachable.host}:${me.reachable.port}`);
    return new Promise<SecureV2Link>((resolve, reject) => {
      const list = this.waiting.get(source.id) ?? [];
      const w: Waiter = {
        resolve: (l) => (cleanup(), resolve(l)),
        reject: (e) => (cleanup(), reject(e)),
      };
      const timer = setTimeout(
        () => w.reject(new Error(`${source.id} did not push within ${this.deps.timeoutMs ?? 10_000} ms`)),
        this.deps.timeoutMs ?? 10_000,
      );
      const onAbort = () => w.reject(new Error('aborted'));
      const cleanup = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        const l = this.waiting.get(source.id)?.filter((x) => x !== w) ?? [];
        if (l.length) this.waiting.set(source.id, l);
        else this.waiting.delete(source.id);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      list.push(w);
      this.waiting.set(source.id, list);
    });
  }

  /** Downloader side: an inbound link with hello role "push"; hand it to a download waiting for that peer. */
  onPushLink(socket: net.Socket, decoder: FrameDecoder, remote: Hello, remoteId: string): void {
    const w = this.waiting.get(remoteId)?.[0];
    if (!w) {
      this.deps.log.warn(`push: a link from ${remoteId} nobody asked for, closed`);
      socket.destroy();
      return;
    }
    // The link came in as a neighbour-sized one; a transfer carries larger frames (piece lists).
    const d = new FrameDecoder(TRANSFER_MAX_FRAME);
    d.append(decoder.takeRest());
    w.resolve({ socket: socket as SecureV2Link['socket'], decoder: d, remote, remoteId });
  }

  /** Source side: a push request for us: dial the downloader (if within bounds) and serve its requests. */
  async onPush(m: V2Of<'push'>): Promise<void> {
    const to = m.to;
    if (isBogonTarget(to.host)) return this.deps.log.warn(`push: refused, ${to.host} is not an address a peer can be at`);
    if (this.active >= (this.deps.concurrent ?? 2) || !this.budget.tryTake(1))
      return this.deps.log.warn(`push: refused for ${to.peerId}, too many pushes`);
    this.active++;
    try {
      const link = await dialSecureV2({ host: to.host, port: to.port }, this.deps.identity(), this.deps.hello('push'), {
        expectedId: to.peerId,
        timeoutMs: this.deps.timeoutMs ?? 10_000,
      });
      if (link === 'v1') return;
      this.deps.log.info(`push: connected to ${to.peerId} at ${to.host}:${to.port}`);
      const first = link.decoder.next() ?? (await nextFrame(link.socket, link.decoder, this.deps.timeoutMs ?? 10_000));
      if (first.t !== 'get' && first.t !== 'pieces') {
        link.socket.destroy();
        return;
      }
      await this.deps.serveTransfer(link.socket, link.decoder, first, link.remote);
    } catch (e) {
      this.deps.log.warn(`push to ${to.peerId} failed: ${(e as Error).message}`);
    } finally {
      this.active--;
    }
  }
}
