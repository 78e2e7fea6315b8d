import fs from 'node:fs';
import path from 'node:path';

class PathError extends Error {}

/**
 * Check a relative file name that came from the network or a user: no absolute
 * paths, no `..` segments, no backslashes, no NUL or control characters, no
 * empty segments, bounded length. Returns the name with `/` separators.
 */
export function checkRelativeName(name: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new PathError('empty file name');
  if (name.length > 1024) throw new PathError('file name too long');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new PathError('control characters in file name');
  if (name.includes('\\')) throw new PathError('backslash in file name');
  if (name.startsWith('/') || /^[a-zA-Z]:/.test(name)) throw new PathError('absolute path not allowed');
  const parts = name.split('/');
  for (const p of parts) {
    if (p === '' || p === '.' || p === '..') throw new PathError(`bad path segment in "${name}"`);
    if (Buffer.byteLength(p) > 255) throw new PathError('file name segment too long');
  }
  return parts.join('/');
}

/** A safe single file name (no folders) for something we will create, e.g. a download or an import. */
function safeBaseName(name: string): string {
  // eslint-disable-next-line no-control-regex
  let base = path.posix.basename(name.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '_');
  base = base.replace(/^\.+/, '').trim();
  if (base === '' || base === '.' || base === '..') base = 'download';
  // Keep the extension when trimming an over-long name.
  while (Buffer.byteLength(base) > 200) {
    const ext = path.extname(base).slice(0, 16);
    base = base.slice(0, Math.max(1, base.length - ext.length - 10)) + ext;
  }
  return base;
}

/** True if the real path (symlinks resolved) of `p` is inside the real path of `root`. */
export async function isRealPathInside(root: string, p: string): Promise<boolean> {
  try {
    const [rr, rp] = await Promise.all([fs.promises.realpath(root), fs.promises.realpath(p)]);
    return rp === rr || rp.startsWith(rr + path.sep);
  } catch {
    return false;
  }
}

/**
 * A free path in `dir` for `name`: `name`, then `name (1).ext`, ... Never an
 * existing file, and never one another pending download has reserved.
 */
export async function uniquePath(dir: string, name: string, reserved: ReadonlySet<string> = new Set()): Promise<string> {
  const base = safeBaseName(name);
  const ext = path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  for (let i = 0; i < 10_000; i++) {
    const candidate = path.join(dir, i === 0 ? base : `${stem} (${i})${ext}`);
    if (reserved.has(candidate)) continue;
    try {
      await fs.promises.lstat(candidate);
    } catch {
      return candidate;
    }
  }
  throw new PathError(`no free name for ${base}`);
}
