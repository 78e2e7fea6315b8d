import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PeerAddress } from '../../../shared/types.js';
import { readJson, writeFileAtomic } from '../fs-util.js';

/** What sits beside a `.part` file so a download can resume after a crash or restart. */
export interface PartState {
  version: 1;
  name: string;
  sha256?: string;
  size?: number;
  sources: PeerAddress[];
  /** The final path this download will be renamed to. */
  finalPath: string;
  createdAt: number;
  /** Piece size and hashes from a v2 source, once known. */
  pieceSize?: number;
  pieces?: string[];
  /** Base64 bitmap of the pieces verified and written to the `.part`. */
  done?: string;
}

export function partPathFor(finalPath: string): string {
  return `${finalPath}.part`;
}
export function statePathFor(partPath: string): string {
  return `${partPath}.json`;
}

export async function writePartState(partPath: string, s: PartState): Promise<void> {
  await writeFileAtomic(statePathFor(partPath), JSON.stringify(s));
}

export async function readPartState(partPath: string): Promise<PartState | undefined> {
  const s = await readJson<PartState>(statePathFor(partPath));
  return s && s.version === 1 && typeof s.finalPath === 'string' ? s : undefined;
}

/** Every resumable download in a folder: `.part.json` files with their part. */
export async function listPartStates(dir: string): Promise<{ partPath: string; state: PartState }[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return [];
  }
  const out: { partPath: string; state: PartState }[] = [];
  for (const n of names) {
    if (!n.endsWith('.part.json')) continue;
    const partPath = path.join(dir, n.slice(0, -'.json'.length));
    const state = await readPartState(partPath);
    if (state && path.dirname(state.finalPath) === path.resolve(dir)) out.push({ partPath, state });
  }
  return out;
}

export async function fileSize(p: string): Promise<number> {
  try {
    return (await fs.promises.stat(p)).size;
  } catch {
    return 0;
  }
}

/** SHA-256 of the first `length` bytes of a file (to continue hashing after a resume). */
export async function hashPrefix(p: string, length: number): Promise<crypto.Hash> {
  const h = crypto.createHash('sha256');
  if (length > 0)
    for await (const c of fs.createReadStream(p, { start: 0, end: length - 1, highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h;
}

/** fsync a file: its data is on disk when this resolves. */
export async function syncFile(p: string): Promise<void> {
  const fh = await fs.promises.open(p, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Move a verified `.part` into place without ever overwriting: fsync, then a
 * hard link (fails if the name exists) and unlink; if the name was taken in the
 * meantime, the next free name is used. Returns the final path.
 */
export async function commitPart(partPath: string, finalPath: string, nextFree: () => Promise<string>): Promise<string> {
  await syncFile(partPath);
  let target = finalPath;
  for (let i = 0; i < 100; i++) {
    try {
      await fs.promises.link(partPath, target);
      await fs.promises.unlink(partPath);
      await fs.promises.rm(statePathFor(partPath), { force: true });
      return target;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        target = await nextFree();
        continue;
      }
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV') {
        // File systems without hard links: check, then rename.
        try {
          await fs.promises.access(target);
          target = await nextFree();
          continue;
        } catch {
          await fs.promises.rename(partPath, target);
          await fs.promises.rm(statePathFor(partPath), { force: true });
          return target;
        }
      }
      throw e;
    }
  }
  throw new Error('no free name for the finished download');
}
