/**
 * Audit finding 1, second half: in `mactella serve` the shared and download
 * folders come from the command line; the browser may change them only when
 * the user started serve with --allow-folder-changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperations } from '../electron/peer/operations.js';
import { SERVE_HELP } from '../electron/serve.js';
import { lockFolders } from '../electron/web-host/folder-lock.js';
import { cleanupTemp, startPeer, tempDir, type TestPeer } from './helpers/harness.js';

let p: TestPeer;
beforeAll(async () => {
  p = await startPeer({ files: { 'a.mp3': 'a' } });
});
afterAll(async () => {
  await p?.peer.quit({ force: true });
  cleanupTemp();
});

describe('serve: folders set on the command line', () => {
  it('refuses a new shared or download folder from the browser, with a clear error', async () => {
    const ops = lockFolders(createOperations(p.peer), { allowFolderChanges: false });
    const outside = tempDir();
    await expect(ops['settings:set']({ sharedDir: outside })).rejects.toThrow(/--allow-folder-changes/);
    await expect(ops['settings:set']({ downloadDir: path.join(outside, 'autostart') })).rejects.toThrow(/--allow-folder-changes/);
    await expect(ops['library:import']({ paths: [path.join(outside, 'x.mp3')] })).rejects.toThrow(/--allow-folder-changes/);
    expect(p.peer.settings().sharedDir).toBe(p.share);
    expect(p.peer.settings().downloadDir).toBe(p.downloads);
  });

  it('still saves other settings, and the folders unchanged (the settings form sends them every time)', async () => {
    const ops = lockFolders(createOperations(p.peer), { allowFolderChanges: false });
    const s = await ops['settings:set']({ sharedDir: p.share, downloadDir: `${p.downloads}/`, maxUploadRate: 1234 });
    expect(s.maxUploadRate).toBe(1234);
    expect(s.sharedDir).toBe(p.share);
  });

  it('lets the browser change them with --allow-folder-changes', async () => {
    const ops = lockFolders(createOperations(p.peer), { allowFolderChanges: true });
    const other = tempDir();
    fs.mkdirSync(path.join(other, 'dl'));
    const s = await ops['settings:set']({ downloadDir: path.join(other, 'dl') });
    expect(s.downloadDir).toBe(path.join(other, 'dl'));
  });

  it('documents the flag in serve --help', () => {
    expect(SERVE_HELP).toMatch(/--allow-folder-changes/);
  });
});
