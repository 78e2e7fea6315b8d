/**
 * The one IPC registry of the desktop app. It registers every handler, lets
 * only our own window's main frame (loaded from our own origin) call them,
 * runs each call through the contract's operation table (which validates the
 * arguments with the contract's schemas), and queues peer events until the
 * renderer says it has subscribed.
 *
 * It takes `ipcMain`-like objects instead of importing Electron, so its
 * checks are unit-tested in plain Node.
 */
import { z } from 'zod';
import { EVENT_NAMES, isOperationName, type EventName, type EventPayloads } from '../shared/contract.js';
import { DESKTOP_CHANNELS } from '../shared/desktop.js';
import type { Logger } from './peer/logger.js';
import type { OperationHandlers } from './peer/operations.js';
import type { TypedEmitter } from './peer/typed-emitter.js';

/** What a handler learns about its caller (a subset of Electron's IpcMainInvokeEvent / IpcMainEvent). */
export interface IpcEventLike {
  sender: { id: number };
  /** The frame that sent the message; null once it navigated away or was destroyed. */
  senderFrame: { url: string; parent: unknown } | null;
}

/** The subset of Electron's `ipcMain` the registry uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
  on(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: IpcEventLike, ...args: unknown[]) => void): unknown;
}

/** The subset of our window's `webContents` the registry uses. */
export interface WebContentsLike {
  readonly id: number;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

interface IpcRegistryOptions {
  ipcMain: IpcMainLike;
  operations: OperationHandlers;
  events: Pick<TypedEmitter<EventPayloads>, 'onAny'>;
  /** Our window's webContents (undefined while there is no window). */
  target: () => WebContentsLike | undefined;
  /** True for URLs of our own renderer (the app protocol, or the dev server in development). */
  isTrustedUrl: (url: string) => boolean;
  /** Reveal a finished download; the desktop shell supplies it. */
  showInFolder: (transferId: string) => Promise<void>;
  /** Open a finished media download with the system's player; the desktop shell supplies it. */
  openFile?: (transferId: string) => Promise<void>;
  log?: Logger;
  /** Events kept while the renderer is not ready; the oldest go first. */
  maxQueue?: number;
}

class IpcRefused extends Error {}

const transferIdArgs = z.object({ id: z.string().min(1).max(128) }).strict();

type QueuedEvent = { [E in EventName]: [E, EventPayloads[E]] }[EventName];

export class IpcRegistry {
  private ready = false;
  private queue: QueuedEvent[] = [];
  private offEvents?: () => void;
  private readonly maxQueue: number;
  private readonly onReady = (event: IpcEventLike) => {
    if (!this.isTrustedSender(event)) return this.refuse(event, DESKTOP_CHANNELS.ready);
    this.ready = true;
    const t = this.opts.target();
    const pending = this.queue;
    this.queue = [];
    if (t && !t.isDestroyed()) for (const [name, payload] of pending) t.send(DESKTOP_CHANNELS.event, name, payload);
  };

  constructor(private readonly opts: IpcRegistryOptions) {
    this.maxQueue = opts.maxQueue ?? 2000;
  }

  /** Register every handler and start forwarding events. */
  register(): void {
    const { ipcMain } = this.opts;
    ipcMain.handle(DESKTOP_CHANNELS.invoke, (event, op, args) => this.invoke(event, op, args));
    ipcMain.handle(DESKTOP_CHANNELS.showInFolder, (event, args) => {
      this.assertTrusted(event, DESKTOP_CHANNELS.showInFolder);
      const parsed = transferIdArgs.safeParse(args);
      if (!parsed.success) throw new Error('invalid arguments for show-in-folder');
      return this.opts.showInFolder(parsed.data.id);
    });
    ipcMain.handle(DESKTOP_CHANNELS.openFile, (event, args) => {
      this.assertTrusted(event, DESKTOP_CHANNELS.openFile);
      const parsed = transferIdArgs.safeParse(args);
      if (!parsed.success || !this.opts.openFile) throw new Error('invalid arguments for open-file');
      return this.opts.openFile(parsed.data.id);
    });
    ipcMain.on(DESKTOP_CHANNELS.ready, this.onReady);
    this.offEvents = this.opts.events.onAny(EVENT_NAMES, (name, payload) => this.forward([name, payload] as QueuedEvent));
  }

  /** Unregister everything (at quit, or in tests). */
  dispose(): void {
    const { ipcMain } = this.opts;
    ipcMain.removeHandler(DESKTOP_CHANNELS.invoke);
    ipcMain.removeHandler(DESKTOP_CHANNELS.showInFolder);
    ipcMain.removeHandler(DESKTOP_CHANNELS.openFile);
    ipcMain.removeListener(DESKTOP_CHANNELS.ready, this.onReady);
    this.offEvents?.();
    this.queue = [];
  }

  /** The renderer is (re)loading: hold events until it subscribes again. */
  markNotReady(): void {
    this.ready = false;
  }

  /** Events waiting for the renderer. */
  get queued(): number {
    return this.queue.length;
  }

  /** The handler behind `window.mactella.invoke`: trusted sender, known operation, validated arguments. */
  async invoke(event: IpcEventLike, op: unknown, args: unknown): Promise<unknown> {
    this.assertTrusted(event, DESKTOP_CHANNELS.invoke);
    if (!isOperationName(op)) throw new Error(`unknown operation: ${typeof op === 'string' ? op.slice(0, 64) : typeof op}`);
    return this.opts.operations[op](args);
  }

  /** Our window, its main frame, and a page from our own origin. */
  isTrustedSender(event: IpcEventLike): boolean {
    const t = this.opts.target();
    if (!t || t.isDestroyed() || event.sender.id !== t.id) return false;
    const frame = event.senderFrame;
    if (!frame || frame.parent !== null) return false;
    return this.opts.isTrustedUrl(frame.url);
  }

  private assertTrusted(event: IpcEventLike, channel: string): void {
    if (!this.isTrustedSender(event)) {
      this.refuse(event, channel);
      throw new IpcRefused('refused: this window may not call MacTella');
    }
  }

  private refuse(event: IpcEventLike, channel: string): void {
    this.opts.log?.warn(`ipc: refused ${channel} from webContents ${event.sender.id} (${event.senderFrame?.url ?? 'no frame'})`);
  }

  private forward(ev: QueuedEvent): void {
    const t = this.opts.target();
    if (this.ready && t && !t.isDestroyed()) return t.send(DESKTOP_CHANNELS.event, ev[0], ev[1]);
    this.queue.push(ev);
    if (this.queue.length > this.maxQueue) this.queue.splice(0, this.queue.length - this.maxQueue);
  }
}

/**
 * Trusted renderer URLs: the app protocol's pages, or (in development only)
 * the electron-vite dev server's origin.
 */
export function trustedUrlCheck(appOrigin: string, devServerUrl?: string): (url: string) => boolean {
  const devOrigin = devServerUrl ? new URL(devServerUrl).origin : undefined;
  return (url) => {
    let origin: string;
    try {
      const u = new URL(url);
      // Custom standard schemes report origin "null" in Node's URL; compare scheme and host instead.
      origin = `${u.protocol}//${u.host}`;
    } catch {
      return false;
    }
    return origin === appOrigin || (devOrigin !== undefined && origin === devOrigin);
  };
}
