import { expect, type Page } from '@playwright/test';
import fs from 'node:fs';
import path from 'node:path';
import { SCREENSHOTS } from './paths.js';

/** The same steps drive the browser UI and the Electron window: the renderer is the same. */

export const nav = (page: Page, view: 'Library' | 'Peers' | 'Search' | 'Transfers' | 'Settings') =>
  page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: view, exact: true });

export async function openView(page: Page, view: 'Library' | 'Peers' | 'Search' | 'Transfers' | 'Settings'): Promise<void> {
  await nav(page, view).click();
  await expect(page.getByRole('heading', { level: 1, name: view })).toBeVisible();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  // Let transitions (progress bars, fades) settle for a sharp picture.
  await page.waitForTimeout(350);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

export async function expectLibraryShows(page: Page, names: string[]): Promise<void> {
  await openView(page, 'Library');
  const list = page.getByRole('list', { name: 'Shared files' });
  for (const n of names) await expect(list.getByText(n, { exact: true })).toBeVisible();
}

/** Discover with a TTL; the peer at `address` must join the known-peer list. */
export async function discoverFinds(page: Page, ttl: number, address: string): Promise<void> {
  await openView(page, 'Peers');
  const peers = page.getByRole('list', { name: 'Known peers' });
  await expect(peers.getByRole('listitem', { name: `Peer ${address}` })).toHaveCount(0);
  await page.getByLabel('TTL').fill(String(ttl));
  await page.getByRole('button', { name: 'Discover' }).click();
  const found = peers.getByRole('listitem', { name: `Peer ${address}` });
  await expect(found).toBeVisible({ timeout: 20_000 });
  await expect(found.getByText('Discovered')).toBeVisible();
  await expect(found.getByText(/MacTella v\d/)).toBeVisible();
}

/** Run a search; returns the results list. */
export async function runSearch(page: Page, query: string, ttl: number) {
  await openView(page, 'Search');
  await page.getByRole('searchbox', { name: 'Search' }).fill(query);
  await page.getByLabel('TTL').fill(String(ttl));
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
  return page.getByRole('list', { name: 'Search results' });
}

/**
 * Click Download on a result, then watch its progress bar in Transfers until
 * it is done. With `pauseResume`, pause it part-way (the bar must hold still),
 * then resume it. Returns every `aria-valuenow` seen, in order.
 */
export async function downloadAndWatch(
  page: Page,
  name: string,
  opts: { onRunning?: () => Promise<void>; pauseResume?: boolean } = {},
): Promise<number[]> {
  const results = page.getByRole('list', { name: 'Search results' });
  await results.getByRole('button', { name: `Download ${name}` }).click();
  await expect(results.getByRole('button', { name: `Downloading ${name}` })).toBeVisible();
  await openView(page, 'Transfers');
  const card = page.getByRole('listitem', { name: `Download ${name}` });
  const bar = card.getByRole('progressbar', { name });
  await expect(bar).toBeVisible();
  const seen: number[] = [];
  let shot = !opts.onRunning;
  let paused = !opts.pauseResume;
  const deadline = Date.now() + 60_000;
  const record = async () => {
    const v = Number(await bar.getAttribute('aria-valuenow'));
    if (seen.at(-1) !== v) seen.push(v);
    return v;
  };
  while (Date.now() < deadline) {
    const v = await record();
    if (!shot && v > 15 && v < 85) {
      shot = true;
      await opts.onRunning!();
    }
    if (!paused && v > 20 && v < 70) {
      paused = true;
      await card.getByRole('button', { name: `Pause ${name}` }).click();
      await expect(card.getByText('Paused', { exact: true })).toBeVisible();
      const held = await bar.getAttribute('aria-valuenow');
      await page.waitForTimeout(1200);
      expect(await bar.getAttribute('aria-valuenow'), 'a paused download does not move').toBe(held);
      await card.getByRole('button', { name: `Resume ${name}` }).click();
    }
    if (await card.getByText('Done', { exact: true }).isVisible()) {
      // It may have finished between the read above and this check: record what the bar shows now.
      await record();
      break;
    }
    await page.waitForTimeout(100);
  }
  await expect(card.getByText('Done', { exact: true })).toBeVisible();
  await expect(card.getByText(/verified by SHA-256/)).toBeVisible();
  expect(paused, 'the download was paused and resumed part-way').toBe(true);
  return seen;
}

/** The few browser globals the drag simulation needs (this project's Node config has no DOM types). */
interface DragGlobals {
  DataTransfer: new () => { items: { add(f: unknown): void } };
  File: new (parts: unknown[], name: string, opts: { type: string }) => unknown;
  DragEvent: new (type: string, init: { dataTransfer: unknown; bubbles: boolean; cancelable: boolean }) => unknown;
  Uint8Array: typeof Uint8Array;
  dispatchEvent(e: unknown): boolean;
}

/**
 * Drag a file over the window and (optionally) drop it, the way the browser
 * reports a file dragged from the desktop: DragEvents carrying a DataTransfer.
 */
export async function dragFile(
  page: Page,
  file: { name: string; size: number; type: string },
  phases: ('dragenter' | 'dragover' | 'drop')[],
): Promise<void> {
  await page.evaluate(
    ({ file, phases }) => {
      const g = globalThis as unknown as DragGlobals;
      const dt = new g.DataTransfer();
      const bytes = new g.Uint8Array(file.size).map((_, i) => (i * 31) % 251);
      dt.items.add(new g.File([bytes], file.name, { type: file.type }));
      for (const type of phases) g.dispatchEvent(new g.DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { file, phases },
  );
}
