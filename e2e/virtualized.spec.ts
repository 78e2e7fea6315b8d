/**
 * 10,000 search hits in the real renderer (the built dist-web), served by a
 * stand-in web host whose WebSocket the test drives: the list stays
 * virtualized, the counts keep up, and the window still answers clicks.
 */
import { expect, test } from '@playwright/test';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { openView } from './support/flows.js';
import { ROOT } from './support/paths.js';
import { emptyStats } from '../shared/types.js';

const HITS = 10_000;
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };

const settings = {
  sharedDir: '/s',
  downloadDir: '/d',
  port: 1,
  host: '127.0.0.1',
  bootstrap: [],
  neighbourCap: 8,
  uploadSlots: 4,
  maxUploadRate: 0,
  maxDownloadRate: 0,
};
const stats = emptyStats();

/** Canned answers for every operation the views make at start and in this test. */
function answer(op: string, args: Record<string, unknown>): unknown {
  switch (op) {
    case 'library:list':
    case 'transfer:list':
      return [];
    case 'peers:list':
      return { known: [], neighbours: [] };
    case 'settings:get':
      return settings;
    case 'stats:get':
      return stats;
    case 'search:start':
      return { searchId: 'S' };
    case 'transfer:start':
      return {
        id: 't1',
        direction: 'down',
        name: args.name,
        state: 'queued',
        bytes: 0,
        total: 1,
        speed: 0,
        eta: null,
        sources: args.sources,
      };
    default:
      throw new Error(`unexpected operation ${op}`);
  }
}

test('10,000 hits stay virtualized and responsive', async ({ page }) => {
  test.setTimeout(90_000);
  const dist = path.join(ROOT, 'dist-web');
  const server = http.createServer((req, res) => {
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    const file = path.join(dist, p === '/' ? 'index.html' : p);
    if (!file.startsWith(dist + path.sep) || !fs.existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(fs.readFileSync(file));
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  let socket: WebSocket | undefined;
  const started: unknown[] = [];
  wss.on('connection', (ws) => {
    socket = ws;
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { id: number; op: string; args: Record<string, unknown> };
      if (m.op === 'transfer:start') started.push(m.args);
      try {
        ws.send(JSON.stringify({ kind: 'result', id: m.id, ok: true, result: answer(m.op, m.args) }));
      } catch (e) {
        ws.send(JSON.stringify({ kind: 'result', id: m.id, ok: false, error: (e as Error).message }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/?token=t#search`);
    await expect(page.getByRole('heading', { level: 1, name: 'Search' })).toBeVisible();
    // Record main-thread stalls while the hits stream in.
    await page.evaluate(() => {
      const g = globalThis as unknown as {
        __longest: number;
        PerformanceObserver: new (cb: (l: { getEntries(): { duration: number }[] }) => void) => { observe(o: object): void };
      };
      g.__longest = 0;
      new g.PerformanceObserver((list) => {
        for (const e of list.getEntries()) g.__longest = Math.max(g.__longest, e.duration);
      }).observe({ type: 'longtask' });
    });
    await page.getByRole('searchbox', { name: 'Search' }).fill('track');
    await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await expect(page.getByText('Asking the network…')).toBeVisible();

    // Hits arrive as separate events, the way peers answer.
    const t0 = Date.now();
    for (let i = 0; i < HITS; i++) {
      const hit = {
        searchId: 'S',
        peer: { host: '10.0.0.' + ((i % 200) + 1), port: 10000 },
        protocol: 'v2',
        name: `track ${String(i).padStart(5, '0')}.mp3`,
        size: 1_000_000 + i,
        type: 'music',
        sha256: i.toString(16).padStart(64, '0'),
      };
      socket!.send(JSON.stringify({ kind: 'event', event: 'search:hit', payload: hit }));
    }
    await expect(page.getByText(`10,000 files from 10,000 hits for “track”`)).toBeVisible({ timeout: 30_000 });
    const settled = Date.now() - t0;
    const longest = await page.evaluate(() => (globalThis as unknown as { __longest: number }).__longest);
    console.log(`10,000 hits shown ${settled} ms after the first was sent; longest main-thread task ${Math.round(longest)} ms`);
    expect(settled, 'time for 10,000 hits to be shown').toBeLessThan(10_000);
    expect(longest, 'longest main-thread stall').toBeLessThan(1000);

    // Only the rows in view exist in the page.
    const rows = page.getByTestId('search-result');
    expect(await rows.count()).toBeLessThan(60);
    await expect(page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Search' })).toContainText('10,000');

    // Scroll to the end: the last hit is reachable and its Download works.
    await page.getByRole('list', { name: 'Search results' }).evaluate((el) => {
      const scroller = el.parentElement as unknown as { scrollTop: number; scrollHeight: number };
      scroller.scrollTop = scroller.scrollHeight;
    });
    const last = page.getByRole('button', { name: 'Download track 09999.mp3' });
    await expect(last).toBeVisible();
    await last.click();
    await expect.poll(() => started.length).toBe(1);
    expect(started[0]).toMatchObject({ name: 'track 09999.mp3', sha256: (9999).toString(16).padStart(64, '0') });

    // The window still answers at once.
    const t1 = Date.now();
    await openView(page, 'Library');
    expect(Date.now() - t1).toBeLessThan(3000);
  } finally {
    wss.close();
    server.closeAllConnections();
    server.close();
  }
});
