import { describe, expect, it, vi } from 'vitest';
import type { EventPayloads } from '../shared/contract.js';
import { DESKTOP_CHANNELS } from '../shared/desktop.js';
import { IpcRegistry, trustedUrlCheck, type IpcEventLike, type IpcMainLike, type WebContentsLike } from '../electron/ipc.js';
import { createOperations } from '../electron/peer/operations.js';
import type { Peer } from '../electron/peer/peer.js';
import { TypedEmitter } from '../electron/peer/typed-emitter.js';
import { emptyStats } from '../shared/types.js';

type Listener = (event: IpcEventLike, ...args: unknown[]) => unknown;

/** An ipcMain stand-in: records handlers so tests can call them as Electron would. */
class FakeIpcMain implements IpcMainLike {
  handlers = new Map<string, Listener>();
  listeners = new Map<string, Set<Listener>>();
  handle(channel: string, listener: Listener) {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string) {
    this.handlers.delete(channel);
  }
  on(channel: string, listener: Listener) {
    if (!this.listeners.has(channel)) this.listeners.set(channel, new Set());
    this.listeners.get(channel)!.add(listener);
  }
  removeListener(channel: string, listener: Listener) {
    this.listeners.get(channel)?.delete(listener);
  }
  async invoke(channel: string, event: IpcEventLike, ...args: unknown[]) {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`no handler for ${channel}`);
    return h(event, ...args);
  }
  send(channel: string, event: IpcEventLike, ...args: unknown[]) {
    this.listeners.get(channel)?.forEach((l) => l(event, ...args));
  }
}

class FakeWebContents implements WebContentsLike {
  sent: unknown[][] = [];
  destroyed = false;
  constructor(readonly id: number) {}
  send(channel: string, ...args: unknown[]) {
    this.sent.push([channel, ...args]);
  }
  isDestroyed() {
    return this.destroyed;
  }
}

const APP_URL = 'mactella-app://app/index.html';

function setup() {
  const ipcMain = new FakeIpcMain();
  const events = new TypedEmitter<EventPayloads>();
  const win = new FakeWebContents(7);
  const peer = {
    search: vi.fn(() => ({ searchId: 's1' })),
    listLocal: vi.fn(() => []),
    addPeer: vi.fn((a: { host: string; port: number }) => ({ ...a, protocol: 'unknown', source: 'user', connected: false })),
  };
  const showInFolder = vi.fn(async () => {});
  const openFile = vi.fn(async () => {});
  const warn = vi.fn();
  const registry = new IpcRegistry({
    ipcMain,
    operations: createOperations(peer as unknown as Peer),
    events,
    target: () => win,
    isTrustedUrl: trustedUrlCheck('mactella-app://app'),
    showInFolder,
    openFile,
    log: { info() {}, warn, error() {} },
    maxQueue: 5,
  });
  registry.register();
  const ours: IpcEventLike = { sender: { id: 7 }, senderFrame: { url: APP_URL, parent: null } };
  return { ipcMain, events, win, peer, registry, ours, showInFolder, openFile, warn };
}

describe('IPC registry: senders', () => {
  it('runs an operation for our own window and returns its result', async () => {
    const { ipcMain, ours, peer } = setup();
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ours, 'search:start', { query: 'beach', ttl: 3 })).resolves.toEqual({
      searchId: 's1',
    });
    expect(peer.search).toHaveBeenCalledWith('beach', 3, undefined);
  });

  it('refuses another webContents, a subframe, a foreign origin and a file:// page', async () => {
    const { ipcMain, peer, warn } = setup();
    const cases: IpcEventLike[] = [
      { sender: { id: 8 }, senderFrame: { url: APP_URL, parent: null } },
      { sender: { id: 7 }, senderFrame: { url: APP_URL, parent: {} } },
      { sender: { id: 7 }, senderFrame: { url: 'https://evil.example/', parent: null } },
      { sender: { id: 7 }, senderFrame: { url: 'file:///tmp/index.html', parent: null } },
      { sender: { id: 7 }, senderFrame: { url: 'mactella-app://other/index.html', parent: null } },
      { sender: { id: 7 }, senderFrame: null },
    ];
    for (const ev of cases) {
      await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ev, 'library:list', {})).rejects.toThrow(/refused/);
    }
    expect(peer.listLocal).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledTimes(cases.length);
  });

  it('refuses everything once our window is destroyed', async () => {
    const { ipcMain, ours, win } = setup();
    win.destroyed = true;
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ours, 'library:list', {})).rejects.toThrow(/refused/);
  });

  it('accepts the dev server origin only when one is configured', () => {
    const prod = trustedUrlCheck('mactella-app://app');
    const dev = trustedUrlCheck('mactella-app://app', 'http://localhost:5173/');
    expect(prod('http://localhost:5173/')).toBe(false);
    expect(dev('http://localhost:5173/#search')).toBe(true);
    expect(dev('http://localhost:5174/')).toBe(false);
    expect(prod('not a url')).toBe(false);
  });
});

describe('IPC registry: arguments', () => {
  it('rejects unknown operations and non-string names', async () => {
    const { ipcMain, ours } = setup();
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ours, 'fs:readFile', { path: '/etc/passwd' })).rejects.toThrow(
      /unknown operation/,
    );
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ours, { op: 'library:list' }, {})).rejects.toThrow(/unknown operation/);
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ours, '__proto__', {})).rejects.toThrow(/unknown operation/);
  });

  it('validates arguments with the contract schema before the peer sees them', async () => {
    const { ipcMain, ours, peer } = setup();
    const bad: unknown[] = [
      { query: 'x', ttl: 99 },
      { query: '', ttl: 2 },
      { query: 'x', ttl: 2, type: 'document' },
      { query: 'x', ttl: 2, extra: true },
      'search everything',
    ];
    for (const args of bad) {
      await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ours, 'search:start', args)).rejects.toThrow(
        /invalid arguments for search:start/,
      );
    }
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.invoke, ours, 'peers:add', { host: 'a', port: 70000 })).rejects.toThrow(
      /invalid arguments/,
    );
    expect(peer.search).not.toHaveBeenCalled();
    expect(peer.addPeer).not.toHaveBeenCalled();
  });

  it('checks show-in-folder arguments and sender', async () => {
    const { ipcMain, ours, showInFolder } = setup();
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.showInFolder, ours, { id: '' })).rejects.toThrow(/invalid arguments/);
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.showInFolder, ours, { path: '/etc' })).rejects.toThrow(/invalid arguments/);
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.showInFolder, { ...ours, sender: { id: 1 } }, { id: 't1' })).rejects.toThrow(/refused/);
    expect(showInFolder).not.toHaveBeenCalled();
    await ipcMain.invoke(DESKTOP_CHANNELS.showInFolder, ours, { id: 't1' });
    expect(showInFolder).toHaveBeenCalledWith('t1');
  });

  it('checks open-file (the system player for a codec Chromium cannot play) arguments and sender', async () => {
    const { ipcMain, ours, openFile } = setup();
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.openFile, ours, { path: '/usr/bin/xterm' })).rejects.toThrow(/invalid arguments/);
    await expect(ipcMain.invoke(DESKTOP_CHANNELS.openFile, { ...ours, sender: { id: 1 } }, { id: 't1' })).rejects.toThrow(/refused/);
    expect(openFile).not.toHaveBeenCalled();
    await ipcMain.invoke(DESKTOP_CHANNELS.openFile, ours, { id: 't1' });
    expect(openFile).toHaveBeenCalledWith('t1');
  });
});

describe('IPC registry: events', () => {
  const stats = (n: number) => ({ ...emptyStats(), duplicatesDropped: n });

  it('queues events until the renderer is ready, then delivers them in order', () => {
    const { ipcMain, events, win, ours, registry } = setup();
    events.emit('stats', stats(1));
    events.emit('library:changed', []);
    expect(win.sent).toEqual([]);
    expect(registry.queued).toBe(2);
    ipcMain.send(DESKTOP_CHANNELS.ready, ours);
    expect(win.sent).toEqual([
      [DESKTOP_CHANNELS.event, 'stats', stats(1)],
      [DESKTOP_CHANNELS.event, 'library:changed', []],
    ]);
    events.emit('stats', stats(2));
    expect(win.sent).toHaveLength(3);
  });

  it('ignores "ready" from a stranger and bounds the queue', () => {
    const { ipcMain, events, win, registry } = setup();
    ipcMain.send(DESKTOP_CHANNELS.ready, { sender: { id: 99 }, senderFrame: { url: APP_URL, parent: null } });
    for (let i = 0; i < 8; i++) events.emit('stats', stats(i));
    expect(win.sent).toEqual([]);
    expect(registry.queued).toBe(5);
  });

  /** Our renderer said ready, then `stop` ran on the registry: an event must no longer reach the window. */
  function stoppedAfterReady(stop: (registry: IpcRegistry) => void) {
    const s = setup();
    s.ipcMain.send(DESKTOP_CHANNELS.ready, s.ours);
    stop(s.registry);
    s.events.emit('stats', stats(1));
    expect(s.win.sent).toEqual([]);
    return s;
  }

  it('queues again while the renderer reloads', () => {
    const { ipcMain, win, ours } = stoppedAfterReady((r) => r.markNotReady());
    ipcMain.send(DESKTOP_CHANNELS.ready, ours);
    expect(win.sent).toHaveLength(1);
  });

  it('unregisters every handler and stops forwarding on dispose', () => {
    const { ipcMain } = stoppedAfterReady((r) => r.dispose());
    expect(ipcMain.handlers.size).toBe(0);
    expect(ipcMain.listeners.get(DESKTOP_CHANNELS.ready)?.size ?? 0).toBe(0);
  });
});
