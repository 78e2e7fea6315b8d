import fs from 'node:fs';
import { formatBytes } from '../../../shared/format.js';
import { DiskError } from './source-conn.js';

/** Bytes free for us in the file system holding `dir`; undefined where that cannot be learnt. */
async function freeBytes(dir: string): Promise<number | undefined> {
  try {
    const s = await fs.promises.statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** The error for a download that does not fit; the partial data stays. */
function noSpaceError(dir: string, need: number, free: number): DiskError {
  return new DiskError(
    `not enough free space in ${dir}: ${formatBytes(need)} more needed, ${formatBytes(free)} free; partial data kept, resume when there is space`,
  );
}

/** Throws when `need` more bytes do not fit in `dir`. */
export async function ensureSpace(dir: string, need: number): Promise<void> {
  const free = await freeBytes(dir);
  if (free !== undefined && need > free) throw noSpaceError(dir, need, free);
}

/**
 * Free space watched while a download runs: `check` is cheap and synchronous
 * (for the receive loop), and refreshes the figure in the background at most
 * every `everyMs`.
 */
export class SpaceWatch {
  private error?: DiskError;
  private last = 0;
  private busy = false;

  constructor(
    private readonly dir: string,
    /** Bytes the download still has to write. */
    private readonly remaining: () => number,
    private readonly everyMs = 250,
  ) {}

  /** The error to stop with, once the space left is known to be too small. */
  check(): DiskError | undefined {
    const now = Date.now();
    if (!this.busy && now - this.last >= this.everyMs) {
      this.busy = true;
      this.last = now;
      void freeBytes(this.dir).then((free) => {
        this.busy = false;
        const need = this.remaining();
        if (free !== undefined && need > free) this.error ??= noSpaceError(this.dir, need, free);
      });
    }
    return this.error;
  }
}
