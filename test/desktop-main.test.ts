/**
 * The desktop main process, started on CI. The built bundle (out/main) runs in
 * Node with `electron` replaced by a recording stand-in through a module
 * resolution hook (test/electron-stand-in/). Everything else is real: the
 * peer listens on loopback, shares a temp folder, and quits.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APP_SCHEME, DESKTOP_CHANNELS, MEDIA_SCHEME } from '../shared/desktop.js';
import { buildDesktop, StandInApp } from './electron-stand-in/desktop.js';
import { localPeerArgs, spawnCli } from './helpers/cli.js';
import { waitFor } from './helpers/harness.js';

const ROOT = path.resolve(__dirname, '..');
const OUR_PAGE = `${APP_SCHEME}://app/index.html`;
const EVIL_PAGE = 'https://evil.example/';

let outDir: string;
let buildRoot: string;
const temps: string[] = [];
const apps: StandInApp[] = [];

// Built inside the repo so the bundle's bare imports (chokidar, zod...) resolve from node_modules.
beforeAll(async () => {
  const cache = path.join(ROOT, 'node_modules', '.cache');
  fs.mkdirSync(cache, { recursive: true });
  buildRoot = fs.mkdtempSync(path.join(cache, 'desktop-main-'));
  outDir = path.join(buildRoot, 'out');
  await buildDesktop(outDir);
}, 120_000);

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.kill()));
});

afterAll(() => {
  for (const d of [...temps, buildRoot]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh home with a shared folder holding one file; peer options for loopback. */
function folders(port = 0) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-desktop-'));
  temps.push(home);
  const share = path.join(home, 'share');
  fs.mkdirSync(share);
  fs.writeFileSync(path.join(share, 'holiday.mp4'), Buffer.alloc(4096, 7));
  const args = localPeerArgs(home, { port, downloads: 'dl' });
  return { home, share, args };
}

function boot(port = 0, extra: string[] = []): StandInApp {
  const { home, args } = folders(port);
  const app = StandInApp.boot(outDir, [...args, ...extra], home);
  apps.push(app);
  return app;
}

interface WindowOptions {
  webPreferences: Record<string, unknown>;
}

/** Connect to a loopback port: true when something accepts. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** `library:list` as our page calls it, once the shared file is indexed (bounded). */
async function indexed(app: StandInApp): Promise<{ name: string }[]> {
  const list = () =>
    app.call<{ name: string }[]>('invoke', { channel: DESKTOP_CHANNELS.invoke, url: OUR_PAGE, args: ['library:list', {}] });
  let files = await list();
  for (const deadline = Date.now() + 10_000; !files.some((f) => f.name === 'holiday.mp4') && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    files = await list();
  }
  return files;
}

describe('desktop main process (built bundle, stand-in Electron)', () => {
  it('boots: privileged schemes, sandbox, one locked-down window, both protocols served', async () => {
    const app = boot();
    const created = await app.event('window-created');
    const { port } = await app.listening();
    expect(await accepts(port)).toBe(true);

    const state = await app.call<{
      schemes: { scheme: string; privileges: Record<string, boolean> }[];
      sandbox: boolean;
      handledSchemes: string[];
      windows: { url: string }[];
      menu: string[];
    }>('state');
    expect(state.sandbox).toBe(true);
    expect(state.schemes.map((s) => s.scheme).sort()).toEqual([APP_SCHEME, MEDIA_SCHEME].sort());
    expect(state.schemes.find((s) => s.scheme === APP_SCHEME)?.privileges).toMatchObject({ standard: true, secure: true });
    expect(state.handledSchemes.sort()).toEqual([APP_SCHEME, MEDIA_SCHEME].sort());
    expect(state.windows).toHaveLength(1);
    expect(state.windows[0]?.url).toBe(OUR_PAGE);
    expect(state.menu).toContain('File');

    const prefs = (created.options as WindowOptions).webPreferences;
    expect(prefs).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    // The preload named in the window is the one the build produced (sandboxed preloads are CommonJS).
    expect(fs.realpathSync(prefs.preload as string)).toBe(fs.realpathSync(path.join(outDir, 'preload', 'index.cjs')));

    const index = await app.call<{ status: number; type: string; body: string }>('fetch', { url: OUR_PAGE });
    expect(index.status).toBe(200);
    expect(index.type).toMatch(/text\/html/);
    expect(index.body).toMatch(/<div id="root">/);
    const outside = await app.call<{ status: number }>('fetch', { url: `${APP_SCHEME}://app/..%2f..%2fmain%2findex.js` });
    expect(outside.status).not.toBe(200);

    await indexed(app);
    const media = await app.call<{ status: number; type: string }>('fetch', { url: `${MEDIA_SCHEME}://local/holiday.mp4` });
    expect(media).toMatchObject({ status: 200, type: 'video/mp4' });
    const unshared = await app.call<{ status: number }>('fetch', { url: `${MEDIA_SCHEME}://local/..%2fdata%2fsettings.json` });
    expect(unshared.status).toBe(404);
  });

  it('answers our page over IPC and refuses a foreign page, a subframe and another webContents', async () => {
    const app = boot();
    const created = await app.event('window-created');
    const contentsId = created.contentsId as number;
    await app.listening();

    expect((await indexed(app)).map((f) => f.name)).toContain('holiday.mp4');

    const refused = /refused/;
    await expect(app.call('invoke', { channel: DESKTOP_CHANNELS.invoke, url: EVIL_PAGE, args: ['library:list', {}] })).rejects.toThrow(
      refused,
    );
    await expect(
      app.call('invoke', { channel: DESKTOP_CHANNELS.invoke, url: OUR_PAGE, subFrame: true, args: ['library:list', {}] }),
    ).rejects.toThrow(refused);
    await expect(
      app.call('invoke', { channel: DESKTOP_CHANNELS.invoke, url: OUR_PAGE, contentsId: contentsId + 100, args: ['library:list', {}] }),
    ).rejects.toThrow(refused);
    await expect(app.call('invoke', { channel: DESKTOP_CHANNELS.showInFolder, url: EVIL_PAGE, args: [{ id: 'x' }] })).rejects.toThrow(
      refused,
    );
    await expect(app.call('invoke', { channel: DESKTOP_CHANNELS.invoke, url: OUR_PAGE, args: ['no:such-op', {}] })).rejects.toThrow(
      /unknown operation/,
    );
    expect(app.stderr).toMatch(/ipc: refused mactella:invoke .*evil\.example/);

    // Lock-down: no navigation away, no new windows, no webviews, no permissions, no remote requests.
    expect(await app.call('navigate', { url: EVIL_PAGE })).toEqual({ prevented: true });
    expect(await app.call('navigate', { url: EVIL_PAGE, event: 'will-redirect' })).toEqual({ prevented: true });
    expect(await app.call('navigate', { url: `${APP_SCHEME}://app/index.html#/search` })).toEqual({ prevented: false });
    expect(await app.call('openWindow', { url: EVIL_PAGE })).toEqual({ action: 'deny' });
    expect(await app.call('webview')).toEqual({ prevented: true });
    expect(await app.call('permission', { permission: 'media' })).toEqual({ granted: false, checked: false });
    expect(await app.call('request', { url: 'https://evil.example/x.js' })).toEqual({ filtered: true, cancel: true });
  });

  it('falls back to a free port when the configured one is busy', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve, reject) => blocker.once('error', reject).listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as net.AddressInfo).port;
    try {
      const app = boot(busy);
      const { host, port } = await app.listening();
      expect(app.stderr).toContain(`port ${busy} is in use; listening on a free port instead`);
      expect(host).toBe('127.0.0.1');
      expect(port).not.toBe(busy);
      expect(await accepts(port)).toBe(true);
      expect(app.events.some((e) => e.what === 'error-box')).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('a failed start shows one error box and quits, leaving nothing open', async () => {
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: listening there fails with EADDRNOTAVAIL; nothing is sent.
    const app = boot(0, ['--host', '192.0.2.1']);
    const box = await app.event('error-box');
    expect(box.title).toBe('MacTella could not start');
    expect(String(box.content)).toMatch(/EADDRNOTAVAIL|192\.0\.2\.1/);
    const quit = await app.event('quit');
    expect(app.events.filter((e) => e.what === 'window-created')).toEqual([]);
    expect((quit.resources as string[]).filter((r) => /TCP|UDP|FSEvent|StatWatcher/.test(r))).toEqual([]);
    expect(await app.exited).toBe(0);
  });

  it('quits through the quit flow: the peer stops, IPC is unregistered, nothing is left open', async () => {
    const app = boot();
    await app.event('window-created');
    const { port } = await app.listening();
    await app.call('quit');
    const quit = await app.event('quit');
    expect(app.events.find((e) => e.what === 'before-quit')).toMatchObject({ prevented: true });
    expect(quit.ipcChannels).toEqual([]);
    // Neither the peer's listener nor a socket survives the quit (timers and the IPC pipe may).
    expect((quit.resources as string[]).filter((r) => /TCP|UDP|FSEvent|StatWatcher/.test(r))).toEqual([]);
    expect(await app.exited).toBe(0);
    expect(await accepts(port)).toBe(false);
  });

  it('quitting during a download asks first: Cancel keeps the app running, Quit Now stops at once', async () => {
    // A terminal peer as the source, its uploads limited to 32 KiB/s, so the 4 MiB download is still running when we quit.
    const src = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-desktop-src-'));
    temps.push(src);
    fs.mkdirSync(path.join(src, 'share'));
    fs.writeFileSync(path.join(src, 'share', 'long.mp4'), Buffer.alloc(4 * 1024 * 1024, 1));
    const source = spawnCli(localPeerArgs(src, { extra: ['--max-up', '32k'] }));
    try {
      const sourcePort = Number((await source.waitFor(/listening on 127\.0\.0\.1:(\d+)/, 30_000))[1]);

      const app = boot();
      await app.event('window-created');
      await app.listening();
      const invoke = <T>(op: string, args: object) =>
        app.call<T>('invoke', { channel: DESKTOP_CHANNELS.invoke, url: OUR_PAGE, args: [op, args] });
      await invoke('transfer:start', { name: 'long.mp4', size: 4 * 1024 * 1024, sources: [{ host: '127.0.0.1', port: sourcePort }] });
      let running: { state: string; bytes: number }[] = [];
      await waitFor(
        'the download to run',
        async () => {
          running = (await invoke<{ direction: string; state: string; bytes: number }[]>('transfer:list', {})).filter(
            (t) => t.direction === 'down',
          );
          return running.some((t) => t.state === 'running');
        },
        15_000,
        100,
      ).catch(() => {}); // the expect below says what was seen
      expect(
        running.some((t) => t.state === 'running' && t.bytes < 4 * 1024 * 1024),
        `${JSON.stringify(running)}\n${app.stderr}`,
      ).toBe(true);

      await app.call('messageBoxResponse', { response: 2 }); // Cancel
      await app.call('quit');
      const asked = await app.event('message-box');
      expect(asked.message).toBe('1 transfer is still running');
      expect(asked.buttons).toEqual(['Wait for Transfers', 'Quit Now', 'Cancel']);
      // Still running: IPC answers, the download goes on.
      expect(await invoke<unknown[]>('library:list', {})).toBeInstanceOf(Array);
      expect(app.events.some((e) => e.what === 'quit')).toBe(false);

      await app.call('messageBoxResponse', { response: 1 }); // Quit Now
      await app.call('quit');
      const quit = await app.event('quit');
      expect(app.events.filter((e) => e.what === 'message-box')).toHaveLength(2);
      expect(quit.ipcChannels).toEqual([]);
      expect((quit.resources as string[]).filter((r) => /TCP|UDP|FSEvent|StatWatcher/.test(r))).toEqual([]);
      expect(await app.exited).toBe(0);
    } finally {
      source.proc.kill('SIGKILL');
    }
  });

  it('closing the window runs the same quit flow', async () => {
    const app = boot();
    await app.event('window-created');
    await app.listening();
    expect(await app.call('closeWindow')).toEqual({ prevented: true });
    const quit = await app.event('quit');
    expect(quit.ipcChannels).toEqual([]);
    expect(await app.exited).toBe(0);
  });
});
