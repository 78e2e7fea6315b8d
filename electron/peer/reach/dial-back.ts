/**
 * The reachability check, as libp2p's AutoNAT does it: we ask a neighbour that
 * is beyond our network to dial us back ("dial-me", with our port), it tries a
 * TCP connection and tells us what happened ("dialed"). The answers feed the
 * verdict (open / mapped / firewalled).
 *
 * It cannot be turned into a connect-back weapon: a neighbour dials only the
 * address the request came from (never one the message names), answers each
 * link once, and all requests share one small budget.
 */
import { isLocalNetworkHost } from '../address.js';
import type { Logger } from '../logger.js';
import { TokenBucket } from '../token-bucket.js';
import type { V2Connection } from '../v2/connection.js';
import type { V2Of } from '../v2/messages.js';
import type { DialBackResult } from './reachability.js';

/** The link a request or answer came on, as the dial-back needs it. */
export type DialBackLink = Pick<V2Connection, 'remoteHost' | 'remote' | 'send' | 'isOpen'>;

/** Options of a {@link DialBack}. */
interface DialBackOptions {
  log: Logger;
  /** The TCP probe (reachability.ts's probeTcp). */
  probe(host: string, port: number, timeoutMs: number): Promise<{ ok: boolean; error?: string }>;
  /** A result arrived for a request of ours. */
  result(r: DialBackResult): void;
  /** Dial-backs we perform for others per minute (default 20). */
  perMinute?: number;
  timeoutMs?: number;
  now?: () => number;
}

/** Both sides of the dial-back check for one peer. */
export class DialBack {
  private readonly asked = new WeakSet<DialBackLink>();
  private readonly pending = new WeakSet<DialBackLink>();
  private readonly answered = new WeakSet<DialBackLink>();
  private readonly budget: TokenBucket;

  constructor(private readonly opts: DialBackOptions) {
    const perMinute = opts.perMinute ?? 20;
    this.budget = new TokenBucket(perMinute / 60, Math.max(1, Math.ceil(perMinute / 4)), opts.now);
  }

  /**
   * Ask this neighbour to dial us back at `port`, once per link, and only a
   * neighbour beyond our local network: the question is whether the internet
   * reaches us.
   */
  ask(link: DialBackLink, port: number): boolean {
    if (this.asked.has(link) || !link.isOpen || isLocalNetworkHost(link.remoteHost)) return false;
    this.asked.add(link);
    this.pending.add(link);
    return link.send({ t: 'dial-me', port });
  }

  /** A neighbour asks us to dial it back: the address its request came from, at the port it names. */
  async onDialMe(link: DialBackLink, m: V2Of<'dial-me'>): Promise<void> {
    if (this.answered.has(link)) return this.opts.log.warn(`dial-back: a second request on one link from ${link.remoteHost} ignored`);
    this.answered.add(link);
    if (!this.budget.tryTake(1)) return this.opts.log.warn(`dial-back: budget spent, request from ${link.remoteHost} ignored`);
    const host = link.remoteHost;
    const r = await this.opts.probe(host, m.port, this.opts.timeoutMs ?? 3000);
    if (link.isOpen) link.send({ t: 'dialed', host, port: m.port, ok: r.ok });
  }

  /** A neighbour tells us how dialling us went; only an answer to our own request counts. */
  onDialed(link: DialBackLink, m: V2Of<'dialed'>): void {
    if (!this.pending.has(link)) return this.opts.log.warn(`dial-back: an answer nobody asked for from ${link.remoteHost} ignored`);
    this.pending.delete(link);
    this.opts.result({
      by: link.remote.peerId,
      host: m.host,
      port: m.port,
      ok: m.ok,
      at: (this.opts.now ?? Date.now)(),
    });
  }
}
