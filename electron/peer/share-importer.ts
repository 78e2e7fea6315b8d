import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isSafeNetworkName } from '../../shared/types.js';
import type { PeerComponents } from './components.js';
import { mediaTypeOf } from './media-types.js';
import { checkRelativeName, uniquePath } from './safe-path.js';

type Components = Pick<PeerComponents, 'library' | 'clock' | 'log' | 'events'> & {
  /** Final paths that running downloads have reserved (they may land in the shared folder). */
  reserved: () => ReadonlySet<string>;
};

/** Names Windows reserves whatever the extension (CON.jpg opens the console there). */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** The one file name an import may use, or an error a user can act on. */
function importName(name: string): string {
  const safe = path.basename(checkRelativeName(name.replace(/\\/g, '/').split('/').pop() ?? ''));
  if (!mediaTypeOf(safe)) throw new Error(`${safe}: not a media file this app shares`);
  if (WINDOWS_RESERVED.test(safe)) throw new Error(`${safe}: a file name Windows reserves`);
  if (!isSafeNetworkName(safe)) throw new Error(`${JSON.stringify(safe)}: control, bidi or comma characters in the file name`);
  return safe;
}

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

  /**
   * Write a stream into the shared folder under a safe, unique name. It goes to
   * a temp file of its own (never another's `.part`), and is linked into place
   * only when complete, under a name no file and no running download holds.
   */
  async importStream(name: string, body: Readable, size?: number): Promise<string> {
    const library = this.c.library();
    const safe = importName(name);
    // Hidden (the library skips dot files) and unique to this import.
    const temp = path.join(library.root, `.mactella-import-${crypto.randomBytes(8).toString('hex')}.tmp`);
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
      await pipeline(body, fs.createWriteStream(temp, { flags: 'wx' }));
      if (size !== undefined && bytes !== size) throw new Error(`incomplete: ${bytes} of ${size} bytes`);
      const dest = await this.place(temp, library.root, safe);
      await library.update(dest);
      this.c.events.emit('import:progress', { name: safe, bytes, total: bytes, done: true });
      return path.relative(library.root, dest).split(path.sep).join('/');
    } finally {
      // Only our own temp file: it is gone already if the import was placed.
      await fs.promises.rm(temp, { force: true });
    }
  }

  /** Link the finished temp file under a free name; a name taken meanwhile is skipped, never replaced. */
  private async place(temp: string, root: string, name: string): Promise<string> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const dest = await uniquePath(root, name, this.c.reserved());
      try {
        await fs.promises.link(temp, dest);
        return dest;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    throw new Error(`${name}: no free name in the shared folder`);
  }
}
