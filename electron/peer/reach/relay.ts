/**
 * Relay for two firewalled peers, through a reachable neighbour they share.
 *
 * - The downloader D dials the relay R (hello role "relay") and asks for the
 *   source S by ID. R must have a neighbour link to S; it calls S over that
 *   link ("relay-call" with a token), S dials R back (role "relay",
 *   "relay-answer" with the token), and R splices the two links.
 * - D then runs TLS 1.3 *inside* the spliced stream with S, IDs checked both
 *   ways, and the download goes on as over a direct link: R forwards TLS
 *   records it cannot read.
 * - R bounds what it gives: a slot count, a bandwidth cap shared by all its
 *   relayed links, a wait limit for S, and a switch to refuse (`--no-relay`).
 */
import type net from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';
import type { PeerIdentity } from '../identity/identity.js';
import type { Logger } from '../logger.js';
import { newId } from '../overlay/flood-router.js';
import type { Neighbour } from '../overlay/neighbours.js';
import { nextFrame } from '../overlay/v2-inbound.js';
import { TokenBucket } from '../token-bucket.js';
import { TRANSFER_MAX_FRAME } from '../transfers/pieces.js';
import type { Hello } from '../v2/connection.js';
import { encodeFrame, type FrameDecoder } from '../v2/frame.js';
import type { V2Message, V2Of } from '../v2/messages.js';
import { acceptSecureV2, dialSecureV2, type SecureV2Link } from '../v2/secure-v2.js';

/** What relaying needs from the peer. */
export interface RelayDeps {
  log: Logger;
  identity(): PeerIdentity;
  hello(role: Hello['role']): Hello;
  /** Relaying for others allowed (the `relay` setting; `--no-relay` turns it off). */
  enabled(): boolean;
  neighbours(): Neighbour[];
  /** An inner link S accepted through a relay: serve it as any inbound v2 link. */
  acceptInner(socket: net.Socket, rest: Buffer, remoteId: string): void;
  /** Relayed links at once (default 4) and their shared bandwidth cap in bytes/s (default 8 MiB/s; 0 = none). */
  slots?: number;
  bytesPerSecond?: number;
  timeoutMs?: number;
}

interface Pending {
  socket: net.Socket;
  decoder: FrameDecoder;
  target: string;
  timer: NodeJS.Timeout;
}

/** Read one frame, from what the decoder holds or from the socket. */
async function frame(socket: net.Socket, decoder: FrameDecoder, timeoutMs: number): Promise<V2Message> {
  return decoder.next() ?? (await nextFrame(socket, decoder, timeoutMs));
}

/** Pass bytes on at the pace a shared bucket allows. */
function throttle(bucket: TokenBucket): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const wait = bucket.take(chunk.length);
      if (wait > 0) setTimeout(() => cb(null, chunk), wait);
      else cb(null, chunk);
    },
  });
}

/** The three roles of a relay: downloader (open), relay (onRelayLink), source (onRelayCall). */
export class RelayService {
  private readonly pending = new Map<string, Pending>();
  private readonly bucket: TokenBucket;
  private active = 0;
  /** Relays our downloads went through, for the doctor ("relayed via ID"). */
  readonly used = new Set<string>();

  constructor(private readonly deps: RelayDeps) {
    this.bucket = new TokenBucket(deps.bytesPerSecond ?? 8 * 1024 * 1024);
  }

  private get timeoutMs(): number {
    return this.deps.timeoutMs ?? 10_000;
  }

  /**
   * Downloader side: reach `source` through each neighbour we dialled (those
   * are reachable) in turn; resolves with a v2 link to the source, TLS end to
   * end, as if dialled directly.
   */
  async open(source: { id: string }, signal: AbortSignal): Promise<SecureV2Link & { via: string }> {
    const candidates = this.deps.neighbours().filter((n) => n.conn.direction === 'out' && n.conn.remote.peerId !== source.id);
    const errors: string[] = [];
    for (const n of candidates) {
      if (signal.aborted) break;
      const via = n.conn.remote.peerId;
      try {
        const outer = await dialSecureV2(n.address, this.deps.identity(), this.deps.hello('relay'), {
          expectedId: via,
          timeoutMs: this.timeoutMs,
          signal,
        });
        if (outer === 'v1') continue;
        outer.socket.write(encodeFrame({ t: 'relay', target: source.id }));
        const answer = await frame(outer.socket, outer.decoder, this.timeoutMs + 2000).catch((e: Error) => {
          outer.socket.destroy();
          throw e;
        });
        if (answer.t !== 'relay-ok') {
          outer.socket.destroy();
          errors.push(`${via}: ${answer.t === 'error' ? answer.message : `unexpected ${answer.t}`}`);
          continue;
        }
        const rest = outer.decoder.takeRest();
        if (rest.length) outer.socket.unshift(rest);
        const inner = await dialSecureV2(n.address, this.deps.identity(), this.deps.hello('transfer'), {
          expectedId: source.id,
          timeoutMs: this.timeoutMs,
          signal,
          maxFrame: TRANSFER_MAX_FRAME,
          socket: outer.socket,
        });
        if (inner === 'v1') throw new Error('the relayed peer did not answer TLS');
        inner.socket.once('close', () => outer.socket.destroy());
        this.used.add(via);
        this.deps.log.info(`relayed via ${via} to ${source.id}`);
        return { ...inner, via };
      } catch (e) {
        errors.push(`${via}: ${(e as Error).message}`);
      }
    }
    throw new Error(`no relay reached ${source.id}${errors.length ? ` (${errors.join('; ')})` : ' (no reachable neighbour to ask)'}`);
  }

  /** Relay side: an inbound link with hello role "relay", from a downloader (relay) or a source (relay-answer). */
  async onRelayLink(socket: net.Socket, decoder: FrameDecoder, remoteId: string): Promise<void> {
    let first: V2Message;
    try {
      first = await frame(socket, decoder, this.timeoutMs);
    } catch {
      socket.destroy();
      return;
    }
    if (first.t === 'relay') return this.onRelayRequest(socket, decoder, remoteId, first);
    if (first.t === 'relay-answer') return this.onRelayAnswer(socket, decoder, remoteId, first);
    socket.destroy();
  }

  private refuse(socket: net.Socket, message: string): void {
    this.deps.log.warn(`relay: ${message}`);
    socket.end(encodeFrame({ t: 'error', code: 'relay-refused', message }));
  }

  private onRelayRequest(socket: net.Socket, decoder: FrameDecoder, from: string, m: V2Of<'relay'>): void {
    if (!this.deps.enabled()) return this.refuse(socket, 'this peer does not relay (--no-relay)');
    if (this.active + this.pending.size >= (this.deps.slots ?? 4)) return this.refuse(socket, 'all relay slots are in use');
    const target = this.deps.neighbours().find((n) => n.conn.remote.peerId === m.target);
    if (!target) return this.refuse(socket, `${m.target} is not a neighbour of this relay`);
    const token = newId();
    const timer = setTimeout(() => {
      this.pending.delete(token);
      this.refuse(socket, `${m.target} did not answer the relay call`);
    }, this.timeoutMs);
    this.pending.set(token, { socket, decoder, target: m.target, timer });
    socket.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(token);
    });
    target.conn.send({ t: 'relay-call', token, from });
  }

  private onRelayAnswer(socket: net.Socket, decoder: FrameDecoder, from: string, m: V2Of<'relay-answer'>): void {
    const p = this.pending.get(m.token);
    // Only the peer that was called may answer, with the token it was given.
    if (!p || p.target !== from) {
      socket.destroy();
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(m.token);
    this.splice(p.socket, p.decoder.takeRest(), socket, decoder.takeRest());
  }

  /** Join the two links: each side is told, then bytes flow both ways within the shared cap, until either closes. */
  private splice(d: net.Socket, dRest: Buffer, s: net.Socket, sRest: Buffer): void {
    this.active++;
    const ok = encodeFrame({ t: 'relay-ok' });
    d.write(ok);
    s.write(ok);
    if (dRest.length) s.write(dRest);
    if (sRest.length) d.write(sRest);
    d.pipe(throttle(this.bucket)).pipe(s);
    s.pipe(throttle(this.bucket)).pipe(d);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.active--;
      d.destroy();
      s.destroy();
    };
    for (const x of [d, s]) {
      x.on('error', close);
      x.on('close', close);
    }
    d.resume();
    s.resume();
  }

  /** Source side: our neighbour relays for a downloader; dial it back, then accept the downloader's TLS inside. */
  async onRelayCall(n: Neighbour, m: V2Of<'relay-call'>): Promise<void> {
    try {
      const outer = await dialSecureV2(n.address, this.deps.identity(), this.deps.hello('relay'), {
        expectedId: n.conn.remote.peerId,
        timeoutMs: this.timeoutMs,
      });
      if (outer === 'v1') return;
      outer.socket.write(encodeFrame({ t: 'relay-answer', token: m.token }));
      const ok = await frame(outer.socket, outer.decoder, this.timeoutMs);
      if (ok.t !== 'relay-ok') {
        outer.socket.destroy();
        return;
      }
      const inner = await acceptSecureV2(outer.socket, outer.decoder.takeRest(), this.deps.identity(), this.timeoutMs);
      if (inner.remoteId !== m.from) {
        inner.socket.destroy();
        return;
      }
      inner.socket.once('close', () => outer.socket.destroy());
      this.deps.acceptInner(inner.socket, inner.rest, inner.remoteId);
    } catch (e) {
      this.deps.log.warn(`relay call from ${n.conn.remote.peerId} failed: ${(e as Error).message}`);
    }
  }
}
