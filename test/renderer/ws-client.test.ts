import { describe, expect, it } from 'vitest';
import type { WsClientMessage } from '../../shared/contract.js';
import { createWsApi, type SocketLike } from '../../renderer/src/host/ws-client.js';

/** A WebSocket stand-in the test drives: open, answer, close. */
class FakeSocket {
  readyState = 0;
  sent: WsClientMessage[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data) as WsClientMessage);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  drop() {
    this.readyState = 3;
    this.onclose?.({});
  }
  receive(msg: unknown) {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
}

function setup(timeoutMs = 1000) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const api = createWsApi({
    connect: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s as unknown as SocketLike;
    },
    timeoutMs,
    minDelayMs: 100,
    maxDelayMs: 400,
    setTimer: (fn, ms) => {
      const t = { fn, ms };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => {
      const i = timers.indexOf(t as (typeof timers)[number]);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  return { api, sockets, timers };
}

describe('WebSocket client', () => {
  it('sends invokes with ids and resolves or rejects them by id', async () => {
    const { api, sockets } = setup();
    const s = sockets[0]!;
    s.open();
    const a = api.invoke('library:list', {});
    const b = api.invoke('peers:add', { host: 'x', port: 1 });
    expect(s.sent.map((m) => [m.op, m.id])).toEqual([
      ['library:list', 1],
      ['peers:add', 2],
    ]);
    s.receive({ kind: 'result', id: 2, ok: false, error: 'bad address' });
    s.receive({ kind: 'result', id: 1, ok: true, result: [] });
    await expect(a).resolves.toEqual([]);
    await expect(b).rejects.toThrow('bad address');
  });

  it('delivers events to subscribers until they unsubscribe, and skips garbage', () => {
    const { api, sockets } = setup();
    const s = sockets[0]!;
    s.open();
    const got: unknown[] = [];
    const off = api.on('library:changed', (files) => got.push(files));
    s.receive({ kind: 'event', event: 'library:changed', payload: [1] });
    s.receive('not json');
    s.receive({ kind: 'event', event: 'stats', payload: {} });
    off();
    s.receive({ kind: 'event', event: 'library:changed', payload: [2] });
    expect(got).toEqual([[1]]);
  });

  it('holds calls made while connecting and sends them once open', async () => {
    const { api, sockets } = setup();
    const p = api.invoke('stats:get', {});
    expect(sockets[0]!.sent).toEqual([]);
    sockets[0]!.open();
    expect(sockets[0]!.sent.map((m) => m.op)).toEqual(['stats:get']);
    sockets[0]!.receive({ kind: 'result', id: 1, ok: true, result: 'ok' });
    await expect(p).resolves.toBe('ok');
  });

  it('fails calls in flight when the socket drops, reports the state, and reconnects with back-off', async () => {
    const { api, sockets, timers } = setup();
    const states: string[] = [];
    api.onConnectionChange((s) => states.push(s));
    sockets[0]!.open();
    const p = api.invoke('library:list', {});
    sockets[0]!.drop();
    await expect(p).rejects.toThrow(/Lost the connection/);
    const reconnect = timers.find((t) => t.ms === 100)!;
    reconnect.fn();
    expect(sockets).toHaveLength(2);
    sockets[1]!.drop();
    expect(timers.some((t) => t.ms === 200)).toBe(true);
    expect(states).toEqual(['connecting', 'open', 'closed', 'connecting', 'closed']);
  });

  it('times out a call nobody answers', async () => {
    const { api, sockets, timers } = setup(5000);
    sockets[0]!.open();
    const p = api.invoke('library:list', {});
    timers.find((t) => t.ms === 5000)!.fn();
    await expect(p).rejects.toThrow(/did not answer/);
  });
});
