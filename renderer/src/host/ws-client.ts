import type { MacTellaApi, WsClientMessage, WsServerMessage } from '../../../shared/contract.js';
import { EventListeners } from '../../../shared/event-listeners.js';
import type { ConnectionState } from './host.js';

/** The part of the DOM WebSocket this client uses (so tests can pass a fake). */
export type SocketLike = Pick<WebSocket, 'readyState' | 'send' | 'close' | 'onopen' | 'onclose' | 'onerror' | 'onmessage'>;

interface WsApiOptions {
  /** Creates a socket to the host (with the token in its URL). */
  connect: () => SocketLike;
  /** A call not answered in this time fails. */
  timeoutMs?: number;
  /** Reconnect delays grow from `minDelayMs` to `maxDelayMs`. */
  minDelayMs?: number;
  maxDelayMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

interface WsApi extends MacTellaApi {
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}

const OPEN = 1;
/** Calls made while disconnected wait for the connection, up to this many. */
const MAX_WAITING = 200;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: unknown;
}

/**
 * The contract over one WebSocket to `mactella serve`: request/response by id,
 * events pushed by the host, reconnection with back-off. Calls made while the
 * socket is down are sent once it is up again.
 */
export function createWsApi(opts: WsApiOptions): WsApi {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const minDelay = opts.minDelayMs ?? 500;
  const maxDelay = opts.maxDelayMs ?? 10_000;
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));

  const pending = new Map<number, Pending>();
  const waiting: string[] = [];
  const listeners = new EventListeners();
  const stateListeners = new Set<(s: ConnectionState) => void>();
  let state: ConnectionState = 'connecting';
  let nextId = 1;
  let delay = minDelay;
  let closed = false;
  let socket: SocketLike | null = null;

  const setState = (s: ConnectionState) => {
    if (s === state) return;
    state = s;
    stateListeners.forEach((l) => l(s));
  };

  const dispatch = (msg: WsServerMessage) => {
    if (msg.kind === 'result') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimer(p.timer);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
      return;
    }
    listeners.emit(msg.event, msg.payload);
  };

  const open = () => {
    if (closed) return;
    setState('connecting');
    const s = opts.connect();
    socket = s;
    s.onopen = () => {
      delay = minDelay;
      setState('open');
      for (const data of waiting.splice(0)) s.send(data);
    };
    s.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      let msg: WsServerMessage;
      try {
        msg = JSON.parse(ev.data) as WsServerMessage;
      } catch {
        return;
      }
      if (msg && typeof msg === 'object' && (msg.kind === 'result' || msg.kind === 'event')) dispatch(msg);
    };
    s.onerror = () => {};
    s.onclose = () => {
      if (socket !== s) return;
      socket = null;
      // Calls in flight on a dead socket will never be answered.
      for (const [id, p] of pending) {
        clearTimer(p.timer);
        p.reject(new Error('Lost the connection to MacTella. Try again in a moment.'));
        pending.delete(id);
      }
      if (closed) return setState('closed');
      setState('closed');
      setTimer(open, delay);
      delay = Math.min(maxDelay, delay * 2);
    };
  };

  const api: WsApi = {
    invoke(op, args) {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const msg: WsClientMessage = { kind: 'invoke', id, op, args };
        const data = JSON.stringify(msg);
        const timer = setTimer(() => {
          if (!pending.delete(id)) return;
          const i = waiting.indexOf(data);
          if (i >= 0) waiting.splice(i, 1);
          reject(new Error('MacTella did not answer in time.'));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        if (socket && socket.readyState === OPEN) socket.send(data);
        else if (waiting.length < MAX_WAITING) waiting.push(data);
        else {
          pending.delete(id);
          clearTimer(timer);
          reject(new Error('Not connected to MacTella.'));
        }
      });
    },
    on: (event, listener) => listeners.add(event, listener),
    onConnectionChange(listener) {
      stateListeners.add(listener);
      listener(state);
      return () => {
        stateListeners.delete(listener);
      };
    },
    close() {
      closed = true;
      socket?.close();
    },
  };
  open();
  return api;
}
