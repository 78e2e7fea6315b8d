/**
 * Identities in the Peers view (issue 10), in Chromium against real peers on
 * loopback:
 *
 *   serve ── A         (serve was told A is C's ID: a wrong pin, refused)
 *   serve ── seed      (a seed-style v1 peer, plain text)
 *
 * The view shows our own ID whole with Copy, the refusal naming both IDs,
 * the seed peer marked unencrypted; Remove clears the wrong pin, and adding
 * A again pins the ID A proves, shown on the known peer and the neighbour.
 */
import { expect, test, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeedPeer } from '../test/helpers/seed-peer.js';
import { openView, screenshot } from './support/flows.js';
import { randomMedia } from './support/media.js';
import { removeTempFolders, startProcess, type PeerProcess } from './support/processes.js';

test.describe.configure({ mode: 'serial' });

let a: PeerProcess;
let serve: PeerProcess;
let seed: SeedPeer;
let seedDir: string;
let page: Page;
let aId: string;
let cId: string;
let serveId: string;

const idOf = async (p: PeerProcess) => (await p.waitForOutput(/^peer id: (\S+)$/m))[1]!;

test.beforeAll(async ({ browser }) => {
  test.setTimeout(120_000);
  seedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mactella-e2e-seed-'));
  fs.writeFileSync(path.join(seedDir, 'old-tune.mp3'), randomMedia(2000));
  seed = new SeedPeer(seedDir);
  await seed.start();
  // C only lends its ID: the wrong one to expect at A's address.
  const c = await startProcess({ name: 'c' });
  cId = await idOf(c);
  await c.stop();
  a = await startProcess({ name: 'a' });
  aId = await idOf(a);
  serve = await startProcess({ name: 'serve', serve: true, peers: [`${cId}@${a.address}`, `127.0.0.1:${seed.PORT}`] });
  serveId = await idOf(serve);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(serve.uiUrl!).origin });
  page = await context.newPage();
  await page.goto(serve.uiUrl!);
});

test.afterAll(async () => {
  await page?.context().close();
  await Promise.all([serve, a].filter(Boolean).map((p) => p.stop()));
  await seed?.close();
  removeTempFolders();
  if (seedDir) fs.rmSync(seedDir, { recursive: true, force: true });
});

const knownPeer = (address: string) => page.getByRole('list', { name: 'Known peers' }).getByRole('listitem', { name: `Peer ${address}` });

test('the Peers view shows our own ID whole, and Copy copies it', async () => {
  await openView(page, 'Peers');
  const self = page.getByRole('region', { name: 'Your peer ID' });
  await expect(self.getByTestId('self-id')).toHaveText(serveId);
  await self.getByRole('button', { name: `Copy the ID ${serveId}` }).click();
  await expect(self.getByRole('button', { name: `Copy the ID ${serveId}` })).toHaveText('Copied');
  // Runs in the page (this file is type-checked without the DOM library).
  const clipboard = () =>
    (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText();
  expect(await page.evaluate(clipboard)).toBe(serveId);
});

test('a seed (v1) peer is marked "Unencrypted (seed peer)" and has no ID', async () => {
  const row = knownPeer(`127.0.0.1:${seed.PORT}`);
  // The neighbour dial finds out it is a seed peer: it never answers the TLS handshake.
  await expect(row.getByText('Unencrypted (seed peer)')).toBeVisible({ timeout: 30_000 });
  await expect(row.getByTestId('peer-id')).toHaveCount(0);
});

test('a wrong pin is refused naming both IDs; Remove clears it, and adding the address again pins the ID A proves', async () => {
  const row = knownPeer(a.address);
  await expect(row.getByRole('status')).toContainText(`expected peer ${cId} at ${a.address}, but it presented ${aId}`, {
    timeout: 30_000,
  });
  await expect(row.getByTestId('peer-id')).toHaveAttribute('title', cId);
  await expect(row.getByRole('button', { name: `Remove ${a.address}` })).toBeVisible();
  await expect(page.getByRole('list', { name: 'Neighbours' })).toHaveCount(0);
  await screenshot(page, 'peers-refused');

  await row.getByRole('button', { name: `Remove ${a.address}` }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByText(`Removed ${a.address}`)).toBeVisible();

  await page.getByLabel('Peer address').fill(a.address);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(row.getByText(/^Connected · /)).toBeVisible({ timeout: 30_000 });
  await expect(row.getByTestId('peer-id')).toHaveAttribute('title', aId);
  await expect(row.getByRole('status')).toHaveCount(0);
  await expect(row.getByText('MacTella v2 · TLS')).toBeVisible();
  // The neighbour list shows the ID A proved in the TLS handshake.
  const neighbour = page.getByRole('list', { name: 'Neighbours' }).getByRole('listitem', { name: `Neighbour ${a.address}` });
  await expect(neighbour.getByTestId('peer-id')).toHaveAttribute('title', aId);
  await expect(neighbour.getByText('We dialled it')).toBeVisible();
  await screenshot(page, 'peers-ids');
});
