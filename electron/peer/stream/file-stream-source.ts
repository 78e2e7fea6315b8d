import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mimeTypeOf } from '../media-types.js';
import { isRealPathInside } from '../safe-path.js';
import type { ByteRange } from './byte-range.js';
import { abortError, readFully, type StreamSource } from './stream-source.js';

/** Refused to open: not a regular file, a symlink, or outside the allowed folder. */
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
   * Open `absPath` for streaming. With `root`, the file must be inside the
   * real path of `root` (the same check as v1/v2 uploads), checked after
   * opening against the opened file's identity, so a path swapped between the
   * check and the open cannot slip through.
   */
  static async open(absPath: string, opts: { root?: string; mime?: string } = {}): Promise<FileStreamSource> {
    let fh: FileHandle;
    try {
      fh = await fs.promises.open(absPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new StreamFileError(code === 'ELOOP' ? 'file is a symbolic link' : `cannot open file (${code ?? 'error'})`);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new StreamFileError('not a regular file');
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

/** The path resolves inside `root` and still names the file we opened. */
async function checkInside(root: string, absPath: string, opened: fs.Stats): Promise<void> {
  const now = await fs.promises.stat(absPath).catch(() => undefined);
  const same = now !== undefined && now.dev === opened.dev && now.ino === opened.ino;
  if (!same || !(await isRealPathInside(root, absPath))) throw new StreamFileError('file is outside the shared folder');
}
