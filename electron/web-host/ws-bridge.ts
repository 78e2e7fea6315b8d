import type { IncomingMessage } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { EVENT_NAMES, isOperationName, type EventName, type WsServerMessage } from '../../shared/contract.js';
import { WS_PROTOCOL } from '../../shared/web-protocol.js';
import type { Logger } from '../peer/logger.js';
import type { OperationHandlers } from '../peer/operations.js';
import type { Peer } from '../peer/peer.js';
import { TokenBucket } from '../peer/token-bucket.js';

/** Largest message a browser may send: operation arguments are small (1,000 import paths at most). */
const WS_MAX_PAYLOAD = 1024 * 1024;
/** Calls one connection may have running at once. */
const MAX_IN_FLIGHT = 32;
/** Messages per second one connection may send (token bucket: rate, burst). */
const RATE = 100;
const BURST = 200;
/** Past this much unsent data, events that a later one replaces are skipped; far past it the client is dropped. */
const SOFT_BUFFER = 4 * 1024 * 1024;
const HARD_BUFFER = 64 * 1024 * 1024;
const DROPPABLE = new Set<EventName>(['stats', 'transfer:progress', 'import:progress', 'log']);

const clientMessage = z
  .object({
    kind: z.literal('invoke'),
    id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    op: z.string().max(64),
    args: z.unknown(),
  })
  .strict();

interface WsBridgeOptions {
  peer: Pick<Peer, 'events'>;
  operations: OperationHandlers;
  log: Logger;
  /** Returns why a connection is refused (status and reason), or undefined to accept. */
  verify: (req: IncomingMessage) => { status: number; reason: string } | undefined;
  maxClients?: number;
}

/**
 * The contract over WebSocket: each `invoke` goes through the operation table
 * (which validates its arguments), and every peer event is forwarded to
 * every client. Returns the `ws` server (attach with `handleUpgrade`).
 */
export function createWsBridge(opts: WsBridgeOptions): WebSocketServer {
  const maxClients = opts.maxClients ?? 16;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: WS_MAX_PAYLOAD,
    perMessageDeflate: false,
    // The client also offers `mactella.token.…`; answering with the plain name keeps the token out of the reply.
    handleProtocols: (offered: Set<string>) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      const refused = opts.verify(info.req);
      if (refused) {
        opts.log.warn(`web UI: refused WebSocket from ${info.req.socket.remoteAddress}: ${refused.reason}`);
        return done(false, refused.status, refused.reason);
      }
      if (wss.clients.size >= maxClients) return done(false, 503, 'too many clients');
      done(true);
    },
  });

  wss.on('connection', (ws: WebSocket) => {
    let inFlight = 0;
    const rate = new TokenBucket(RATE, BURST);
    const send = (msg: WsServerMessage) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > HARD_BUFFER) {
        opts.log.warn('web UI: a client stopped reading; dropping it');
        ws.terminate();
        return;
      }
      if (msg.kind === 'event' && ws.bufferedAmount > SOFT_BUFFER && DROPPABLE.has(msg.event)) return;
      ws.send(JSON.stringify(msg));
    };
    const off = opts.peer.events.onAny(EVENT_NAMES, (event, payload) => send({ kind: 'event', event, payload } as WsServerMessage));
    ws.on('close', off);
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => {
      if (!rate.tryTake()) {
        opts.log.warn('web UI: a client sent too many messages; closing it');
        return ws.close(1008, 'rate limit');
      }
      if (isBinary) return ws.close(1003, 'text messages only');
      let parsed;
      try {
        parsed = clientMessage.safeParse(JSON.parse(data.toString()));
      } catch {
        return ws.close(1007, 'not JSON');
      }
      if (!parsed.success) return ws.close(1007, 'not a MacTella message');
      const { id, op, args } = parsed.data;
      if (!isOperationName(op)) return send({ kind: 'result', id, ok: false, error: `unknown operation: ${op}` });
      if (inFlight >= MAX_IN_FLIGHT) return send({ kind: 'result', id, ok: false, error: 'too many requests at once; try again' });
      inFlight++;
      opts.operations[op](args)
        .then((result) => send({ kind: 'result', id, ok: true, result }))
        .catch((e: unknown) => send({ kind: 'result', id, ok: false, error: e instanceof Error ? e.message : String(e) }))
        .finally(() => inFlight--);
    });
  });
  return wss;
}
