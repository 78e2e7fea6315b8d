/**
 * The desktop app's main process: a thin shell around the peer. It starts the
 * peer with the settings in the user-data folder, opens one locked-down
 * window, wires the IPC registry, serves the renderer and media previews over
 * custom protocols, and follows the seed's QUIT when the user quits.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, type MenuItemConstructorOptions } from 'electron';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_SCHEME, MEDIA_SCHEME } from '../shared/desktop.js';
import { percent } from '../shared/format.js';
import { appProtocolHandler, mediaProtocolHandler } from './app-protocol.js';
import { IpcRegistry, trustedUrlCheck } from './ipc.js';
import { consoleLogger } from './peer/logger.js';
import { mediaTypeOf } from './peer/media-types.js';
import { createOperations, type OperationHandlers } from './peer/operations.js';
import { parsePeerArgs, type PeerOptions } from './peer/options.js';
import { Peer } from './peer/peer.js';
import { REACH_DESKTOP, REACH_OFF } from './peer/reach/reach-options.js';
import { loadPeerOptions, settingsFile } from './peer/settings-store.js';

const APP_ORIGIN = `${APP_SCHEME}://app`;
const DEV_URL = app.isPackaged ? undefined : process.env.ELECTRON_RENDERER_URL;
const here = path.dirname(fileURLToPath(import.meta.url));
const log = consoleLogger('[mactella] ');

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, stream: true } },
]);
app.enableSandbox();

let peer: Peer | undefined;
let operations: OperationHandlers | undefined;
let registry: IpcRegistry | undefined;
let win: BrowserWindow | undefined;
let quitState: 'running' | 'waiting' | 'done' = 'running';

/**
 * Peer options: defaults, then the saved settings, then command-line options
 * given after `--` (used by tests: `electron . -- --port 0 --share DIR`).
 * A first run shares ~/MacTella/Shared and downloads to Downloads/MacTella.
 */
async function peerOptions(): Promise<PeerOptions> {
  const sep = process.argv.indexOf('--');
  const cli = parsePeerArgs(sep >= 0 ? process.argv.slice(sep + 1) : [], {}).options;
  const dataDir = cli.dataDir && sep >= 0 && process.argv.slice(sep + 1).includes('--data') ? cli.dataDir : app.getPath('userData');
  const firstRun = !fs.existsSync(settingsFile(dataDir));
  const desktopDefaults: Partial<PeerOptions> = firstRun
    ? { sharedDir: path.join(app.getPath('home'), 'MacTella', 'Shared'), downloadDir: path.join(app.getPath('downloads'), 'MacTella') }
    : {};
  // The desktop app finds peers on its own: LAN, port mapping and DHT on unless the settings turn them off.
  // Started with options after `--` (tests, scripts) it is like the CLI: only the switches given, so a test
  // never sends mDNS, SSDP or DHT traffic on a real network.
  const opts = await loadPeerOptions({ ...desktopDefaults, ...cli, dataDir }, sep >= 0 ? REACH_OFF : REACH_DESKTOP);
  await fs.promises.mkdir(opts.sharedDir, { recursive: true });
  return opts;
}

async function startPeer(): Promise<Peer> {
  const opts = await peerOptions();
  try {
    return await Peer.start(opts, { logger: log });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    log.warn(`port ${opts.port} is in use; listening on a free port instead`);
    return Peer.start({ ...opts, port: 0 }, { logger: log });
  }
}

/** Lock down every web contents: no navigation away, no new windows, no webviews, no permissions. */
function lockDown(): void {
  const isTrusted = trustedUrlCheck(APP_ORIGIN, DEV_URL);
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isTrusted(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isTrusted(url)) event.preventDefault();
    });
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  // No remote content: the renderer talks to the peer over IPC only.
  session.defaultSession.webRequest.onBeforeRequest(
    { urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*', 'file://*/*'] },
    (details, callback) => {
      const allowed =
        DEV_URL !== undefined &&
        (details.url.startsWith(new URL(DEV_URL).origin) || details.url.startsWith(new URL(DEV_URL).origin.replace(/^http/, 'ws')));
      callback({ cancel: !allowed });
    },
  );
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1180,
    height: 760,
    minWidth: 720,
    minHeight: 480,
    title: 'MacTella',
    show: false,
    backgroundColor: '#f6f7f9',
    icon: path.join(here, '../../build/icon.png'),
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      // Middle-click would otherwise open links in new windows.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  w.once('ready-to-show', () => w.show());
  // Closing the window quits the app, through the same QUIT dialog; cancelling it keeps the window.
  w.on('close', (event) => {
    if (quitState === 'done') return;
    event.preventDefault();
    app.quit();
  });
  w.webContents.on('did-start-loading', () => registry?.markNotReady());
  void w.loadURL(DEV_URL ?? `${APP_ORIGIN}/index.html`);
  return w;
}

/** The file of a finished download; throws while it is not finished. */
async function finishedPath(transferId: string): Promise<string> {
  const t = (await operations!['transfer:list']({})).find((x) => x.id === transferId);
  if (!t?.path || t.state !== 'done') throw new Error('that download has not finished');
  return t.path;
}

async function showInFolder(transferId: string): Promise<void> {
  shell.showItemInFolder(await finishedPath(transferId));
}

/** A finished download of a media type, opened with the system's default player (only media: never a program). */
async function openFile(transferId: string): Promise<void> {
  const file = await finishedPath(transferId);
  if (!mediaTypeOf(file)) throw new Error('only video, music and pictures are opened');
  const err = await shell.openPath(file);
  if (err) throw new Error(err);
}

async function openFolder(which: 'sharedDir' | 'downloadDir'): Promise<void> {
  const dir = peer!.settings()[which];
  await fs.promises.mkdir(dir, { recursive: true });
  const err = await shell.openPath(dir);
  if (err) void dialog.showMessageBox({ type: 'error', message: `Could not open ${dir}`, detail: err });
}

async function addFiles(): Promise<void> {
  const r = await dialog.showOpenDialog(win!, {
    title: 'Share files',
    properties: ['openFile', 'multiSelections'],
    filters: [
      {
        name: 'Media',
        extensions: [
          'mov',
          'mp4',
          'mkv',
          'webm',
          'm4v',
          'avi',
          'mp3',
          'flac',
          'wav',
          'ogg',
          'm4a',
          'aac',
          'opus',
          'jpg',
          'jpeg',
          'png',
          'gif',
          'webp',
          'heic',
        ],
      },
    ],
  });
  if (!r.canceled && r.filePaths.length > 0) await operations!['library:import']({ paths: r.filePaths });
}

function buildMenu(): void {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Add Files…', accelerator: 'CmdOrCtrl+O', click: () => void addFiles() },
        { type: 'separator' },
        { label: 'Open Shared Folder', click: () => void openFolder('sharedDir') },
        { label: 'Open Downloads', click: () => void openFolder('downloadDir') },
        { type: 'separator' },
        { label: 'Quit', accelerator: 'CmdOrCtrl+Q', click: () => app.quit() },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

/**
 * The seed's QUIT: with transfers running, ask whether to wait for them
 * (showing which), stop now (FORCEQUIT, partial downloads are kept), or stay.
 */
async function quitFlow(): Promise<void> {
  if (!peer) {
    quitState = 'done';
    return app.quit();
  }
  const running = peer.activeTransfers();
  let force = false;
  if (running.length > 0) {
    const lines = running
      .slice(0, 8)
      .map((t) => `• ${t.name} (${t.direction === 'down' ? 'download' : 'upload'}, ${percent(t.bytes, t.total)}%)`);
    if (running.length > 8) lines.push(`• and ${running.length - 8} more`);
    const options = {
      type: 'question' as const,
      buttons: ['Wait for Transfers', 'Quit Now', 'Cancel'],
      defaultId: 0,
      cancelId: 2,
      message: `${running.length} ${running.length === 1 ? 'transfer is' : 'transfers are'} still running`,
      detail: `${lines.join('\n')}\n\nQuit Now stops them; unfinished downloads keep their data and resume next time.`,
    };
    const { response } = await (win && !win.isDestroyed() ? dialog.showMessageBox(win, options) : dialog.showMessageBox(options));
    if (response === 2) return;
    force = response === 1;
    if (!force && win && !win.isDestroyed())
      win.setTitle(`MacTella — waiting for ${running.length} ${running.length === 1 ? 'transfer' : 'transfers'} to finish`);
  }
  quitState = 'waiting';
  try {
    await peer.quit({ force });
  } finally {
    registry?.dispose();
    quitState = 'done';
    app.quit();
  }
}

app.on('before-quit', (event) => {
  if (quitState === 'done') return;
  event.preventDefault();
  if (quitState === 'running') void quitFlow();
});

app.on('window-all-closed', () => app.quit());

app.whenReady().then(async () => {
  lockDown();
  try {
    peer = await startPeer();
  } catch (e) {
    dialog.showErrorBox('MacTella could not start', (e as Error).message);
    quitState = 'done';
    return app.quit();
  }
  operations = createOperations(peer);
  protocol.handle(APP_SCHEME, appProtocolHandler(path.join(here, '../renderer')));
  const p = peer;
  protocol.handle(
    MEDIA_SCHEME,
    mediaProtocolHandler(
      (name) => p.mediaPath(name),
      () => p.settings().sharedDir,
      (id) => p.streams.source(id),
    ),
  );
  registry = new IpcRegistry({
    ipcMain,
    operations,
    events: peer.events,
    target: () => (win && !win.isDestroyed() ? win.webContents : undefined),
    isTrustedUrl: trustedUrlCheck(APP_ORIGIN, DEV_URL),
    showInFolder,
    openFile,
    log,
  });
  registry.register();
  buildMenu();
  win = createWindow();
  const { host, port } = peer.address();
  log.info(`listening on ${host}:${port}`);
  log.info(`peer id: ${peer.id}`);
  void peer.tlsSelfCheck().then(
    (r) => log.info(`TLS self-check: ${r.protocol} ${r.cipher}`),
    (e: Error) => log.warn(`TLS self-check failed: ${e.message}`),
  );
});
