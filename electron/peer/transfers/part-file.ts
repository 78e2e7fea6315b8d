import crypto from 'node:crypto';
import fs from 'node:fs';

/** Where a download's data goes until it is verified: beside its final name. */
export function partPathFor(finalPath: string): string {
  return `${finalPath}.part`;
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
          return target;
        }
      }
      throw e;
    }
  }
  throw new Error('no free name for the finished download');
}
