import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mimeTypeOf } from '../media-types.js';
import { isRealPathInside } from '../safe-path.js';
import type { ByteRange } from './byte-range.js';
import { abortError, readFully, type StreamSource } from './stream-source.js';

// Not on Windows, where the lstat and real-path checks still apply.
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

/** Refused to open: gone, not a regular file, a symlink, or outside the allowed folder. */
export class StreamFileError extends Error {}

/**
 * A complete file on disk: every byte is verified (it is a shared file, or a
 * finished download that passed its checks). The file is opened once with
 * O_NOFOLLOW, so a symlink swapped in later is never followed; reads go to
 * that one descriptor. Close it when done.
 */
export class FileStreamSource implements StreamSource {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    readonly mime: string,
  ) {}

  /**
   * Open `absPath` for streaming, the check v1 and v2 make before each
   * upload: it must be a plain file (lstat, so not a symlink) and, with
   * `root`, inside the real path of `root`. O_NOFOLLOW and the identity
   * checks (the opened file is the one lstat saw, and the one the path still
   * names after the real-path check) close the window between check and
   * open, should a symlink be swapped in meanwhile.
   */
  static async open(absPath: string, opts: { root?: string; mime?: string } = {}): Promise<FileStreamSource> {
    const before = await fs.promises.lstat(absPath).catch((err: NodeJS.ErrnoException) => {
      throw new StreamFileError(`cannot open file (${err.code ?? 'error'})`);
    });
    if (before.isSymbolicLink()) throw new StreamFileError('file is a symbolic link');
    if (!before.isFile()) throw new StreamFileError('not a regular file');
    let fh: FileHandle;
    try {
      fh = await fs.promises.open(absPath, fs.constants.O_RDONLY | O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StreamFileError(code === 'ELOOP' ? 'file is a symbolic link' : `cannot open file (${code ?? 'error'})`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile() || !sameFile(st, before)) throw new StreamFileError('the file changed while being opened');
      if (opts.root !== undefined) await checkInside(opts.root, absPath, st);
      return new FileStreamSource(fh, st.size, opts.mime ?? mimeTypeOf(absPath));
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  verifiedRanges(): ByteRange[] {
    return this.size > 0 ? [{ start: 0, end: this.size }] : [];
  }

  async waitForVerified(_start: number, end: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw abortError(signal);
    if (end > this.size) throw new RangeError('range past the end of the file');
  }

  read(start: number, end: number): Promise<Buffer> {
    if (start < 0 || end > this.size || start > end) return Promise.reject(new RangeError('range outside the file'));
    return readFully(this.fh, start, end);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

function sameFile(a: fs.Stats, b: fs.Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The path resolves inside `root` and still names the file we opened. */
async function checkInside(root: string, absPath: string, opened: fs.Stats): Promise<void> {
  const inside = await isRealPathInside(root, absPath);
  const now = await fs.promises.stat(absPath).catch(() => undefined);
  if (!inside || !now || !sameFile(now, opened)) throw new StreamFileError('file is outside the shared folder');
}
