import fs from 'node:fs';
import path from 'node:path';
import { staticContentType } from '../static-types.js';

interface StaticFile {
  body: Buffer;
  type: string;
}

/** Bounds for the built renderer: it is a few hundred KB; anything far larger is not ours. */
const MAX_FILES = 500;
const MAX_TOTAL_BYTES = 64 * 1024 * 1024;

/**
 * The built renderer, read into memory once at start. Requests are looked up
 * by exact URL path in this table, so no request path ever reaches the file
 * system: there is nothing to traverse.
 */
export async function loadStaticFiles(root: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  let total = 0;
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
      // Regular files only: symlinks and dot-files are never served.
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, `${prefix}${entry.name}/`);
      else if (entry.isFile()) {
        const type = staticContentType(entry.name);
        if (!type) continue;
        const body = await fs.promises.readFile(full);
        total += body.length;
        if (files.size >= MAX_FILES || total > MAX_TOTAL_BYTES) throw new Error(`${root} is too large to be the built web UI`);
        files.set(`${prefix}${entry.name}`, { body, type });
      }
    }
  };
  await walk(root, '/');
  if (!files.has('/index.html')) throw new Error(`${root} has no index.html`);
  return files;
}

/** The table key for a request path: `/` is the index page. */
export function staticKey(pathname: string): string {
  return pathname === '/' ? '/index.html' : pathname;
}
