// A recording stand-in for the `electron` module, for booting the built main
// process in plain Node (the Electron binary cannot exist on CI). hooks.mjs
// resolves `electron` to this file. It records what main asks of Electron,
// reports it to the test over the fork() IPC channel, and lets the test act
// as Electron would: call IPC handlers as a given page, fetch through the
// registered protocols, navigate, close the window, quit.
import { EventEmitter } from 'node:events';
import path from 'node:path';

if (typeof process.send !== 'function') throw new Error('the electron stand-in must run in a child started with fork()');
// The test going away ends this process too, as closing Electron would.
process.on('disconnect', () => process.exit(3));

const home = process.env.MACTELLA_STAND_IN_HOME ?? process.cwd();
const state = {
  schemes: [],
  sandbox: false,
  handledSchemes: [],
  windows: [],
  menu: undefined,
  dialogs: [],
  shown: [],
};
const protocolHandlers = new Map();
const ipcHandlers = new Map();
let permissionRequest;
let permissionCheck;
let beforeRequest;
const messageBoxResponses = [];

function report(what, detail = {}) {
  process.send({ type: 'event', what, ...detail });
}

class Preventable {
  defaultPrevented = false;
  preventDefault() {
    this.defaultPrevented = true;
  }
}

let nextContentsId = 1;
class WebContents extends EventEmitter {
  id = nextContentsId++;
  destroyed = false;
  sent = [];
  windowOpenHandler;
  url = '';
  setWindowOpenHandler(fn) {
    this.windowOpenHandler = fn;
  }
  send(channel, ...args) {
    this.sent.push([channel, ...args]);
  }
  isDestroyed() {
    return this.destroyed;
  }
  getURL() {
    return this.url;
  }
}

const windows = [];
export class BrowserWindow extends EventEmitter {
  destroyed = false;
  title = '';
  constructor(options = {}) {
    super();
    this.options = options;
    this.webContents = new WebContents();
    this.title = options.title ?? '';
    windows.push(this);
    state.windows.push({ options, contentsId: this.webContents.id });
    app.emit('web-contents-created', new Preventable(), this.webContents);
    report('window-created', { options, contentsId: this.webContents.id });
  }
  static getAllWindows() {
    return windows.filter((w) => !w.destroyed);
  }
  async loadURL(url) {
    this.webContents.url = url;
    state.windows[windows.indexOf(this)].url = url;
    this.webContents.emit('did-start-loading');
    report('load-url', { url });
    setImmediate(() => this.emit('ready-to-show'));
  }
  show() {
    report('window-shown');
  }
  setTitle(title) {
    this.title = title;
  }
  isDestroyed() {
    return this.destroyed;
  }
  destroy() {
    this.destroyed = true;
    this.webContents.destroyed = true;
    this.emit('closed');
  }
}

class App extends EventEmitter {
  isPackaged = false;
  quitting = false;
  enableSandbox() {
    state.sandbox = true;
  }
  whenReady() {
    return new Promise((resolve) => setImmediate(resolve));
  }
  getPath(name) {
    const paths = { home, userData: path.join(home, 'userData'), downloads: path.join(home, 'Downloads'), temp: path.join(home, 'tmp') };
    if (!(name in paths)) throw new Error(`stand-in app.getPath: no path for ${name}`);
    return paths[name];
  }
  getVersion() {
    return '0.0.0-stand-in';
  }
  /** As Electron: before-quit (preventable), then each window's close (preventable), then will-quit and quit. */
  quit() {
    const before = new Preventable();
    this.emit('before-quit', before);
    report('before-quit', { prevented: before.defaultPrevented });
    if (before.defaultPrevented) return;
    for (const w of BrowserWindow.getAllWindows()) {
      const close = new Preventable();
      w.emit('close', close);
      if (close.defaultPrevented) return report('quit-cancelled-by-window');
      w.destroy();
    }
    this.emit('will-quit', new Preventable());
    this.emit('quit');
    // What is still open once main let the app quit: a clean quit leaves no server or socket.
    setImmediate(() => {
      const resources = process.getActiveResourcesInfo();
      process.send({ type: 'event', what: 'quit', resources, ipcChannels: [...ipcHandlers.keys()] }, () => process.exit(0));
    });
  }
}
export const app = new App();

export const protocol = {
  registerSchemesAsPrivileged(list) {
    state.schemes.push(...list);
  },
  handle(scheme, handler) {
    protocolHandlers.set(scheme, handler);
    state.handledSchemes.push(scheme);
  },
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler(fn) {
      permissionRequest = fn;
    },
    setPermissionCheckHandler(fn) {
      permissionCheck = fn;
    },
    webRequest: {
      onBeforeRequest(filter, fn) {
        beforeRequest = { filter, fn };
      },
    },
  },
};

class IpcMain extends EventEmitter {
  handle(channel, fn) {
    if (ipcHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    ipcHandlers.set(channel, fn);
  }
  removeHandler(channel) {
    ipcHandlers.delete(channel);
  }
}
export const ipcMain = new IpcMain();

export const dialog = {
  showErrorBox(title, content) {
    state.dialogs.push({ kind: 'error', title, content });
    report('error-box', { title, content });
  },
  async showMessageBox(...args) {
    const options = args.length > 1 ? args[1] : args[0];
    state.dialogs.push({ kind: 'message', message: options.message });
    report('message-box', { message: options.message, buttons: options.buttons });
    return { response: messageBoxResponses.shift() ?? options.cancelId ?? 0, checkboxChecked: false };
  },
  async showOpenDialog() {
    return { canceled: true, filePaths: [] };
  },
};

export const Menu = {
  buildFromTemplate(template) {
    return { items: template };
  },
  setApplicationMenu(menu) {
    state.menu = menu.items.map((i) => i.label ?? i.role);
  },
};

export const shell = {
  showItemInFolder(p) {
    state.shown.push(p);
  },
  async openPath(p) {
    state.shown.push(p);
    return '';
  },
};

export const contextBridge = {};
export const ipcRenderer = {};
export const webUtils = {};

export default { app, BrowserWindow, protocol, session, ipcMain, dialog, Menu, shell, contextBridge, ipcRenderer, webUtils };

function windowAt(index = 0) {
  const w = windows[index];
  if (!w) throw new Error(`no window ${index}`);
  return w;
}

/** A sender as Electron describes it: which webContents, which frame, from which URL. */
function ipcEvent({ url, contentsId, subFrame }) {
  const sender = { id: contentsId ?? windowAt().webContents.id };
  return { sender, senderFrame: { url, parent: subFrame ? {} : null }, reply() {} };
}

/** What the test can ask; each returns a JSON-safe value. */
const commands = {
  state: () => ({ ...state, ipcChannels: [...ipcHandlers.keys()], ipcListeners: ipcMain.eventNames() }),
  async invoke({ channel, args = [], ...sender }) {
    const handler = ipcHandlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler(ipcEvent(sender), ...args);
  },
  send({ channel, args = [], ...sender }) {
    ipcMain.emit(channel, ipcEvent(sender), ...args);
    return windowAt().webContents.sent.length;
  },
  sent: () => windowAt().webContents.sent.map(([channel, name]) => [channel, name]),
  async fetch({ url }) {
    const scheme = new URL(url).protocol.slice(0, -1);
    const handler = protocolHandlers.get(scheme);
    if (!handler) throw new Error(`no protocol handler for ${scheme}`);
    const res = await handler(new Request(url));
    const body = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), body: body.slice(0, 2000) };
  },
  navigate({ url, event = 'will-navigate' }) {
    const e = new Preventable();
    windowAt().webContents.emit(event, e, url);
    return { prevented: e.defaultPrevented };
  },
  openWindow: ({ url }) => windowAt().webContents.windowOpenHandler?.({ url }),
  webview() {
    const e = new Preventable();
    windowAt().webContents.emit('will-attach-webview', e, {}, {});
    return { prevented: e.defaultPrevented };
  },
  permission: ({ permission }) =>
    new Promise((resolve) =>
      permissionRequest(windowAt().webContents, permission, (granted) => resolve({ granted, checked: permissionCheck?.() })),
    ),
  request: ({ url }) =>
    new Promise((resolve) => {
      const patterns = beforeRequest.filter.urls.map((u) => u.split(':')[0]);
      if (!patterns.includes(new URL(url).protocol.slice(0, -1))) return resolve({ filtered: false });
      beforeRequest.fn({ url }, (r) => resolve({ filtered: true, cancel: Boolean(r.cancel) }));
    }),
  messageBoxResponse({ response }) {
    messageBoxResponses.push(response);
  },
  quit() {
    app.quit();
  },
  closeWindow() {
    const w = windowAt();
    const e = new Preventable();
    w.emit('close', e);
    if (!e.defaultPrevented) w.destroy();
    return { prevented: e.defaultPrevented };
  },
};

process.on('message', async (msg) => {
  if (!msg || typeof msg !== 'object' || typeof msg.cmd !== 'string') return;
  try {
    const fn = commands[msg.cmd];
    if (!fn) throw new Error(`unknown stand-in command ${msg.cmd}`);
    const value = await fn(msg);
    process.send({ type: 'reply', id: msg.id, ok: true, value: value ?? null });
  } catch (e) {
    process.send({ type: 'reply', id: msg.id, ok: false, error: String(e?.message ?? e) });
  }
});
