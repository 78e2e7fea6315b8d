import fs from 'node:fs';
import type { Logger } from '../logger.js';
import { doneBytes, type Download } from './download.js';
import { listPartStates, statePathFor, writePartState, type PartState } from './part-file.js';
import { Bitfield, pieceCount } from './pieces.js';

/** A resumable download found on disk. */
export interface StoredPart {
  partPath: string;
  state: PartState;
}

/**
 * Where downloads keep what they need to resume after a crash or restart:
 * the name, hash, size, sources, final path and which pieces are done. Writes
 * are atomic and coalesced while pieces arrive.
 */
export class ResumeStore {
  constructor(
    private readonly downloadDir: () => string,
    private readonly log: Logger,
  ) {}

  /** Every resumable download left by an earlier run. */
  list(): Promise<StoredPart[]> {
    return listPartStates(this.downloadDir());
  }

  async save(d: Download): Promise<void> {
    const s: PartState = {
      version: 1,
      name: d.info.name,
      sha256: d.info.sha256,
      size: d.info.total || undefined,
      sources: d.info.sources,
      finalPath: d.finalPath!,
      createdAt: Date.now(),
      ...(d.pieces ? { pieceSize: d.pieces.pieceSize, pieces: d.pieces.hashes, done: d.pieces.have.toBase64() } : {}),
    };
    await writePartState(d.partPath!, s);
  }

  /** Save soon, coalescing: at most one write in flight and one every 200 ms. */
  saveSoon(d: Download): void {
    if (d.saveTimer) return;
    const wait = Math.max(0, (d.savedAt ?? 0) + 200 - Date.now());
    d.saveTimer = setTimeout(() => {
      d.saveTimer = undefined;
      const run = async () => {
        await d.saving;
        d.savedAt = Date.now();
        await this.save(d).catch((e: Error) => this.log.warn(`cannot save the state of ${d.info.name}: ${e.message}`));
      };
      const p: Promise<void> = run().finally(() => {
        if (d.saving === p) d.saving = undefined;
      });
      d.saving = p;
    }, wait);
  }

  /** Stop coalesced saving, wait for a write in flight, then save now. */
  async saveNow(d: Download): Promise<void> {
    clearTimeout(d.saveTimer);
    d.saveTimer = undefined;
    await d.saving;
    await this.save(d);
  }

  /** Remove a download's `.part` and its state (cancelled, or replaced by an earlier run's). */
  async remove(partPath: string): Promise<void> {
    await fs.promises.rm(partPath, { force: true });
    await fs.promises.rm(statePathFor(partPath), { force: true });
  }

  /** The state is the download's once it is done and renamed. */
  async forget(partPath: string): Promise<void> {
    await fs.promises.rm(statePathFor(partPath), { force: true });
  }
}

/** Take over a stored state: paths, hash, size, piece list and done pieces, sources. */
export function applyState(d: Download, { partPath, state }: StoredPart): void {
  d.partPath = partPath;
  d.finalPath = state.finalPath;
  if (state.sha256) d.info.sha256 = state.sha256;
  if (state.size !== undefined) d.info.total = state.size;
  if (state.pieceSize && state.pieces && state.size !== undefined && state.pieces.length === pieceCount(state.size, state.pieceSize)) {
    d.pieces = { pieceSize: state.pieceSize, hashes: state.pieces, have: new Bitfield(state.pieces.length, state.done) };
    d.info.bytes = doneBytes(d);
  }
  for (const s of state.sources) if (!d.info.sources.some((x) => x.host === s.host && x.port === s.port)) d.info.sources.push(s);
}
