/**
 * Audit finding 10: an upload deleted another file's .part (its temp name was
 * NAME.part, and a failure removed whatever stood there), and two uploads of
 * one name at once made one fail. Imports now write a unique temp file, remove
 * only their own, never replace a file that appeared meanwhile, and skip names
 * that running downloads have reserved. Also the suspected finding: Windows
 * reserved names and bidi-override names were accepted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { randomBytes, tempDir, waitFor } from './helpers/harness.js';
import { cleanupAfterEach } from './helpers/cleanup.js';

const { start } = cleanupAfterEach();

describe('audit #10: imports into the share', () => {
  it("leaves another file's NAME.part alone", async () => {
    const a = await start();
    fs.writeFileSync(path.join(a.share, 'song.mp3.part'), 'someone else');
    const saved = await a.peer.importStream('song.mp3', Readable.from([Buffer.from('new song')]), 8);
    expect(fs.readFileSync(path.join(a.share, 'song.mp3.part'), 'utf8')).toBe('someone else');
    expect(fs.readFileSync(path.join(a.share, saved), 'utf8')).toBe('new song');
  });

  it('two imports of one name at once both succeed, under different names, neither overwritten', async () => {
    const a = await start();
    const s1 = new PassThrough();
    const s2 = new PassThrough();
    const p1 = a.peer.importStream('dup.mp3', s1, 6);
    const p2 = a.peer.importStream('dup.mp3', s2, 6);
    s1.write('first-');
    s2.write('second');
    s2.end();
    await new Promise((r) => setTimeout(r, 50));
    s1.end();
    const [n1, n2] = await Promise.all([p1, p2]);
    expect(n1).not.toBe(n2);
    expect(fs.readFileSync(path.join(a.share, n1), 'utf8')).toBe('first-');
    expect(fs.readFileSync(path.join(a.share, n2), 'utf8')).toBe('second');
    expect(fs.readdirSync(a.share).sort()).toEqual([n1, n2].sort());
  });

  it('a failed import removes only its own temp file', async () => {
    const a = await start({ files: { 'keep.mp3': 'keep', 'x.mp3.part': 'other part' } });
    const body = new PassThrough();
    const p = a.peer.importStream('x.mp3', body, 100);
    body.write('partial');
    body.destroy(new Error('browser went away'));
    await expect(p).rejects.toThrow();
    expect(fs.readdirSync(a.share).sort()).toEqual(['keep.mp3', 'x.mp3.part']);
  });

  it('does not take a name a running download has reserved', async () => {
    const src = await start({ files: { 'movie.mov': randomBytes(3 * 1024 * 1024) }, options: { maxUploadRate: 256 * 1024 } });
    const dir = tempDir();
    const share = path.join(dir, 'share');
    // Downloads land in the shared folder, as many users set it up.
    const a = await start({ dir, options: { sharedDir: share, downloadDir: share } });
    const t = a.peer.download({ name: 'movie.mov', sources: [src.addr] });
    await waitFor('the download to run', () => (a.peer.transfersList().find((x) => x.id === t.id)?.bytes ?? 0) > 0);
    const saved = await a.peer.importStream('movie.mov', Readable.from([Buffer.from('x')]), 1);
    expect(saved).not.toBe('movie.mov');
    a.peer.cancelTransfer(t.id);
  });

  for (const name of ['CON.jpg', 'con.mp3', 'Lpt1.mov', 'nul.jpeg', 'evil\u202egpj.mp3', 'a\u2066b.mp3']) {
    it(`refuses the name ${JSON.stringify(name)}`, async () => {
      const a = await start();
      await expect(a.peer.importStream(name, Readable.from([Buffer.from('x')]), 1)).rejects.toThrow(/name/);
      expect(fs.readdirSync(a.share)).toEqual([]);
    });
  }
});
