import fs from 'node:fs';
import type { Logger } from '../logger.js';
import { uniquePath } from '../safe-path.js';
import { doneBytes, localName, type Download } from './download.js';
import { commitPart, fileSize, hashPrefix, syncFile } from './part-file.js';
import type { TransferEvent } from './progress-publisher.js';
import { TransferError } from './source-conn.js';

/** What finishing a download needs from the orchestrator. */
export interface FinishContext {
  downloadDir: () => string;
  reservedPaths: Set<string>;
  log: Logger;
  saveState: (d: Download) => Promise<void>;
  /** The `.part` is now the final file: its resume state goes. */
  forgetState: (d: Download) => Promise<void>;
  publish: (d: Download, event: TransferEvent) => void;
}

/** The whole-file digest (kept on the way in, or read back), and the bad pieces when it does not match. */
async function checkWhole(d: Download, size: number): Promise<{ digest: string; bad: number[] }> {
  const whole = d.whole;
  d.whole = undefined;
  try {
    // Only what the hash has not seen is read back, while the data goes to disk.
    const [digest] = await Promise.all([
      whole ? whole.digest() : hashPrefix(d.partPath!, size).then((h) => h.digest('hex')),
      syncFile(d.partPath!),
    ]);
    const bad = d.info.sha256 && digest !== d.info.sha256 && d.pieces && whole?.badPieces ? await whole.badPieces() : [];
    return { digest, bad };
  } finally {
    await whole?.close();
  }
}

/**
 * Check the whole file, then move it into place. When it does not match but
 * a piece list says which pieces are bad, those are marked missing and their
 * senders dropped: with `repair` this returns false so they are fetched again.
 */
export async function finishDownload(ctx: FinishContext, d: Download, repair = false): Promise<boolean> {
  const size = await fileSize(d.partPath!);
  if (size !== d.info.total) throw new TransferError(`incomplete: ${size} of ${d.info.total} bytes`);
  const { digest, bad } = await checkWhole(d, size);
  if (d.info.sha256 && digest !== d.info.sha256 && bad.length > 0) {
    dropBadPieces(ctx.log, d, bad);
    await ctx.saveState(d);
    if (repair) return false;
    throw new TransferError(`${bad.length} pieces failed verification and no source was left to fetch them again`);
  }
  if (d.info.sha256 && digest !== d.info.sha256) {
    // Every piece matched its hash but the whole did not: the piece list itself was wrong. Start over.
    d.pieces = undefined;
    await fs.promises.truncate(d.partPath!, 0);
    d.info.bytes = 0;
    await ctx.saveState(d);
    throw new TransferError('SHA-256 mismatch: the data was corrupt, partial file discarded');
  }
  d.info.sha256 = digest;
  const finalPath = await commitPart(d.partPath!, d.finalPath!, () =>
    uniquePath(ctx.downloadDir(), localName(d.info.name), ctx.reservedPaths),
  );
  await ctx.forgetState(d);
  ctx.reservedPaths.delete(d.finalPath!);
  Object.assign(d.info, { path: finalPath, state: 'done', verified: true, bytes: size, queuePosition: undefined, speed: 0, eta: 0 });
  ctx.log.info(`downloaded ${d.info.name} (${size} bytes, sha256 ${digest.slice(0, 12)}…) to ${finalPath}`);
  ctx.publish(d, 'transfer:done');
  return true;
}

/** Bad pieces become missing again; whoever sent them this run is named and dropped from the download. */
function dropBadPieces(log: Logger, d: Download, bad: number[]): void {
  // By sender; undefined: received by an earlier run, sender unknown.
  const bySource = new Map<string | undefined, number[]>();
  for (const i of bad) {
    d.pieces!.have.set(i, false);
    const from = d.pieceFrom.get(i);
    bySource.set(from, [...(bySource.get(from) ?? []), i]);
  }
  for (const [who, pieces] of bySource) {
    const what = `${pieces.length === 1 ? 'piece' : 'pieces'} ${pieces.join(', ')} failed verification (bad data)`;
    if (who === undefined) log.warn(`download ${d.info.name}: ${what}, received by an earlier run; fetching them again`);
    else {
      d.dropped.add(who);
      log.warn(`download ${d.info.name}: dropping source ${who}: ${what}`);
    }
  }
  d.info.bytes = doneBytes(d);
}
