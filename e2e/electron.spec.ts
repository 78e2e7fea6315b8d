/**
 * The desktop app itself (`_electron.launch`), on the same core path as the
 * web UI: library, Discover, a search answered by two peers, and a download
 * whose progress bar moves and whose file arrives byte-identical. Also checks
 * the window's security settings from inside the renderer.
 *
 * Runs where Electron's binary is installed; elsewhere (npm install with
 * ELECTRON_SKIP_BINARY_DOWNLOAD=1, as on CI here) it reports itself skipped.
 */
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { discoverFinds, downloadAndWatch, expectLibraryShows, runSearch } from './support/flows.js';
import { randomMedia, sha256 } from './support/media.js';
import { electronBinary, isStale, RENDERER_INPUTS, ROOT } from './support/paths.js';
import { removeTempFolders, startVideoSources, tempFolders, type VideoSources } from './support/processes.js';

const bin = electronBinary();
test.skip(!bin, 'Electron binary not installed (ELECTRON_SKIP_BINARY_DOWNLOAD)');
test.describe.configure({ mode: 'serial' });

let src: VideoSources;
let app: ElectronApplication;
let win: Page;
let dirs: { share: string; downloads: string; data: string };

test.beforeAll(async () => {
  test.setTimeout(240_000);
  if (isStale(path.join(ROOT, 'out', 'main', 'index.js'), [...RENDERER_INPUTS, 'electron', 'electron.vite.config.ts'])) {
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
      cwd: ROOT,
      stdio: 'inherit',
      timeout: 180_000,
    });
  }
  src = await startVideoSources('e');
  dirs = tempFolders('electron');
  fs.writeFileSync(path.join(dirs.share, 'road-trip.mov'), randomMedia(500_000));
  fs.writeFileSync(path.join(dirs.share, 'morning-jazz.mp3'), randomMedia(200_000));

  const chromiumSwitches = [
    // Chromium refuses to run as root with its OS sandbox; the renderer's JS sandbox and isolation stay on.
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    // No display (CI): Chromium's headless Ozone backend.
    ...(process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY ? ['--ozone-platform=headless'] : []),
  ];
  app = await electron.launch({
    executablePath: bin!,
    args: [
      ...chromiumSwitches,
      path.join(ROOT, 'out', 'main', 'index.js'),
      '--',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--share',
      dirs.share,
      '--downloads',
      dirs.downloads,
      '--data',
      dirs.data,
      '--peer',
      src.a.address,
    ],
    timeout: 60_000,
  });
  win = await app.firstWindow();
  await win.setViewportSize({ width: 1280, height: 800 }).catch(() => {});
});

test.afterAll(async () => {
  // FORCEQUIT path: no transfer is running by now, so quitting asks nothing.
  await app?.close().catch(() => {});
  await src?.stop();
  removeTempFolders();
});

test('the window is locked down: no Node, a narrow bridge, a CSP', async () => {
  const facts = await win.evaluate(() => {
    const g = globalThis as unknown as {
      require?: unknown;
      process?: unknown;
      mactella?: Record<string, unknown>;
      location: { href: string };
      document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
    };
    return {
      require: typeof g.require,
      process: typeof g.process,
      bridge: Object.keys(g.mactella ?? {}).sort(),
      url: g.location.href,
      csp: g.document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '',
    };
  });
  expect(facts.require).toBe('undefined');
  expect(facts.process).toBe('undefined');
  expect(facts.bridge).toEqual(['invoke', 'on', 'pathForFile', 'ready', 'showInFolder']);
  expect(facts.url).toMatch(/^mactella-app:\/\/app\//);
  expect(facts.csp).toContain("default-src 'none'");
});

test('the library shows the shared files', async () => {
  await expectLibraryShows(win, ['road-trip.mov', 'morning-jazz.mp3']);
});

test('Discover finds the peers', async () => {
  await discoverFinds(win, 2, src.b.address);
});

test('a search streams hits from two peers', async () => {
  const results = await runSearch(win, 'beach', 3);
  await expect(results.getByRole('listitem').filter({ hasText: 'holiday-beach.mp4' }).getByText('2 sources')).toBeVisible({
    timeout: 20_000,
  });
  await expect(results.getByText('beach-song.mp3')).toBeVisible();
});

test('clicking Download shows a moving progress bar and the file arrives byte-identical', async () => {
  test.setTimeout(90_000);
  const seen = await downloadAndWatch(win, 'holiday-beach.mp4', { pauseResume: true });
  expect(seen.filter((v) => v > 0 && v < 100).length, `progress values seen: ${seen.join(', ')}`).toBeGreaterThanOrEqual(2);
  const got = fs.readFileSync(path.join(dirs.downloads, 'holiday-beach.mp4'));
  expect(sha256(got)).toBe(sha256(src.video));
  await expect(win.getByRole('button', { name: 'Show in folder' })).toBeVisible();
});
