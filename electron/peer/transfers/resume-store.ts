import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { PEER_ID_PATTERN } from '../../../shared/types.js';
import { writeFileAtomic } from '../fs-util.js';
import type { Logger } from '../logger.js';
import { doneBytes, addSources, type Download } from './download.js';
import { partPathFor } from './part-file.js';
import { Bitfield, MAX_PIECE_SIZE, pieceCount } from './pieces.js';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/** What a download needs to resume after a crash or restart, as stored in the data folder. */
const partStateSchema = z
  .object({
    version: z.literal(2),
    name: z.string().min(1).max(1024),
    sha256: hex64.optional(),
    size: z.number().int().min(0).optional(),
    sources: z
      .array(
        z.object({
          host: z.string().min(1).max(255),
          port: z.number().int().min(1).max(65535),
          id: z.string().regex(PEER_ID_PATTERN).optional(),
        }),
      )
      .max(1024),
    /** The final path this download will be renamed to; its data is in `partPathFor(finalPath)`. */
    finalPath: z.string().min(1),
    createdAt: z.number(),
    /** Piece size and hashes from a v2 source, once known. */
    pieceSize: z.number().int().min(1024).max(MAX_PIECE_SIZE).optional(),
    pieces: z
      .array(hex64)
      .max(1 << 16)
      .optional(),
    /** Base64 bitmap of the pieces verified and written to the `.part`. */
    done: z
      .string()
      .max(1 << 14)
      .optional(),
  })
  .strict();

type PartState = z.infer<typeof partStateSchema>;

/** A resumable download found on disk. */
export interface StoredPart {
  partPath: string;
  state: PartState;
}

/**
 * Where downloads keep what they need to resume: one JSON file per download
 * in the data folder (never beside the `.part`, where a downloaded file could
 * pose as one), schema-checked when read. A damaged state is removed with its
 * `.part`, so that one download starts over and nothing else is held up.
 * Writes are atomic and coalesced while pieces arrive.
 */
export class ResumeStore {
  constructor(
    private readonly stateDir: () => string,
    private readonly downloadDir: () => string,
    private readonly log: Logger,
  ) {}

  /** Every resumable download left by an earlier run, for the current downloads folder. */
  async list(): Promise<StoredPart[]> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.stateDir());
    } catch {
      return [];
    }
    const out: StoredPart[] = [];
    for (const n of names) {
      if (!/^[0-9a-f]{32}\.json$/.test(n)) continue;
      const stored = await this.read(path.join(this.stateDir(), n));
      if (stored) out.push(stored);
    }
    return out;
  }

  /** One state file: valid and for this downloads folder, or undefined (a damaged one is removed, with its `.part`). */
  private async read(file: string): Promise<StoredPart | undefined> {
    let raw: unknown;
    try {
      raw = JSON.parse(await fs.promises.readFile(file, 'utf8'));
    } catch (e) {
      return this.discard(file, undefined, (e as Error).message);
    }
    const parsed = partStateSchema.safeParse(raw);
    if (!parsed.success) return this.discard(file, raw, parsed.error.issues[0]?.message ?? 'bad state');
    const state = parsed.data;
    const dir = path.resolve(this.downloadDir());
    // A state for another downloads folder (the setting changed) stays for when it is back.
    if (path.dirname(path.resolve(state.finalPath)) !== dir) return undefined;
    const partPath = partPathFor(path.resolve(state.finalPath));
    if (this.fileFor(partPath) !== file) return this.discard(file, raw, 'state file name does not match its download');
    if (!(await fs.promises.stat(partPath).catch(() => undefined))?.isFile()) return this.discard(file, raw, 'its .part is gone');
    if (state.pieces && (state.size === undefined || !state.pieceSize || state.pieces.length !== pieceCount(state.size, state.pieceSize)))
      return this.discard(file, raw, 'inconsistent piece list');
    return { partPath, state };
  }

  private async discard(file: string, raw: unknown, why: string): Promise<undefined> {
    this.log.warn(`resume state ${path.basename(file)} is damaged (${why}): that download starts over`);
    await fs.promises.rm(file, { force: true });
    const finalPath = (raw as { finalPath?: unknown } | undefined)?.finalPath;
    if (typeof finalPath === 'string' && path.dirname(path.resolve(finalPath)) === path.resolve(this.downloadDir()))
      await fs.promises.rm(partPathFor(path.resolve(finalPath)), { force: true });
    return undefined;
  }

  /** The state file of a `.part`: named by a hash of its path, so no file name from the network reaches it. */
  private fileFor(partPath: string): string {
    const key = crypto.createHash('sha256').update(path.resolve(partPath)).digest('hex').slice(0, 32);
    return path.join(this.stateDir(), `${key}.json`);
  }

  async save(d: Download): Promise<void> {
    const s: PartState = {
      version: 2,
      name: d.info.name,
      sha256: d.info.sha256,
      size: d.info.total || undefined,
      sources: d.info.sources.map(({ host, port, id }) => ({ host, port, ...(id ? { id } : {}) })),
      finalPath: d.finalPath!,
      createdAt: Date.now(),
      ...(d.pieces ? { pieceSize: d.pieces.pieceSize, pieces: d.pieces.hashes, done: d.pieces.have.toBase64() } : {}),
    };
    await writeFileAtomic(this.fileFor(d.partPath!), JSON.stringify(s));
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
    await this.stopSaving(d);
    await this.save(d);
  }

  /** Remove a download's `.part` and its state (cancelled, or replaced by an earlier run's). */
  async remove(d: Download): Promise<void> {
    await this.stopSaving(d);
    await fs.promises.rm(d.partPath!, { force: true });
    await fs.promises.rm(this.fileFor(d.partPath!), { force: true });
  }

  /** The download is done and renamed: its state goes. */
  async forget(d: Download): Promise<void> {
    await this.stopSaving(d);
    await fs.promises.rm(this.fileFor(d.partPath!), { force: true });
  }

  private async stopSaving(d: Download): Promise<void> {
    clearTimeout(d.saveTimer);
    d.saveTimer = undefined;
    await d.saving;
  }
}

/** Take over a stored state: paths, hash, size, piece list and done pieces, sources. */
export function applyState(d: Download, { partPath, state }: StoredPart): void {
  d.partPath = partPath;
  d.finalPath = path.resolve(state.finalPath);
  if (state.sha256) d.info.sha256 = state.sha256;
  if (state.size !== undefined) d.info.total = state.size;
  if (state.pieceSize && state.pieces && state.size !== undefined) {
    d.pieces = { pieceSize: state.pieceSize, hashes: state.pieces, have: new Bitfield(state.pieces.length, state.done) };
    d.info.bytes = doneBytes(d);
  }
  addSources(d, state.sources);
}
