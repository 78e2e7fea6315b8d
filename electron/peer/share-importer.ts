import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { PeerComponents } from './components.js';
import { mediaTypeOf } from './media-types.js';
import { checkRelativeName, uniquePath } from './safe-path.js';

type Components = Pick<PeerComponents, 'library' | 'clock' | 'log' | 'events'>;

/**
 * Imports into the shared folder (drag-and-drop in the app, uploads through
 * the web host): media files only, under a safe unique name, written beside
 * it and renamed into place only when complete.
 */
export class ShareImporter {
  constructor(private readonly c: Components) {}

  /** Copy files into the shared folder. Non-media files are refused (and reported as `import:progress` errors). */
  async importFiles(paths: string[]): Promise<{ imported: string[] }> {
    const imported: string[] = [];
    for (const p of paths) {
      const name = path.basename(p);
      try {
        const st = await fs.promises.stat(p);
        if (!st.isFile()) throw new Error('not a file');
        if (!mediaTypeOf(name)) throw new Error('not a media file this app shares');
        imported.push(await this.importStream(name, fs.createReadStream(p), st.size));
      } catch (e) {
        this.c.events.emit('import:progress', { name, bytes: 0, total: 0, done: true, error: (e as Error).message });
        this.c.log.warn(`import ${name}: ${(e as Error).message}`);
      }
    }
    return { imported };
  }

  /** Write a stream into the shared folder under a safe, unique name (via `.part`, renamed when complete). */
  async importStream(name: string, body: Readable, size?: number): Promise<string> {
    const library = this.c.library();
    const safe = path.basename(checkRelativeName(name.replace(/\\/g, '/').split('/').pop() ?? ''));
    if (!mediaTypeOf(safe)) throw new Error(`${safe}: not a media file this app shares`);
    const dest = await uniquePath(library.root, safe);
    const part = `${dest}.part`;
    let bytes = 0;
    let last = 0;
    body.on('data', (c: Buffer) => {
      bytes += c.length;
      if (this.c.clock.now() - last > 250) {
        last = this.c.clock.now();
        this.c.events.emit('import:progress', { name: safe, bytes, total: size ?? 0, done: false });
      }
    });
    try {
      await pipeline(body, fs.createWriteStream(part, { flags: 'wx' }));
      if (size !== undefined && bytes !== size) throw new Error(`incomplete: ${bytes} of ${size} bytes`);
      const rel = path.relative(library.root, dest);
      await fs.promises.rename(part, dest);
      await library.update(dest);
      this.c.events.emit('import:progress', { name: safe, bytes, total: bytes, done: true });
      return rel.split(path.sep).join('/');
    } catch (e) {
      await fs.promises.rm(part, { force: true });
      throw e;
    }
  }
}
