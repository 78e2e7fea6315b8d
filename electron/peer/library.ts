import fs from 'node:fs';
import path from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';
import type { LocalFile } from '../../shared/types.js';
import type { Logger } from './logger.js';
import { mediaTypeOf } from './media-types.js';
import { checkRelativeName, isRealPathInside } from './safe-path.js';
import { KeywordQuery } from './search-match.js';
import { readJson, writeFileAtomic } from './fs-util.js';
import { computePieces, pieceCount, pieceSizeFor, type PieceList } from './transfers/pieces.js';

interface CacheEntry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface IndexedFile extends LocalFile {
  absPath: string;
}

const MAX_FILES = 200_000;

/**
 * The shared folder: a recursive index of media files with their SHA-256.
 * Hashes are cached by path, size and mtime so a restart does not rehash.
 * Symlinks are never followed, and only indexed files are ever served.
 */
export class Library {
  private readonly files = new Map<string, IndexedFile>();
  private readonly byHash = new Map<string, IndexedFile>();
  private cache = new Map<string, CacheEntry>();
  private cacheDirty = false;
  private watcher?: FSWatcher;
  private changeTimer?: NodeJS.Timeout;
  private readonly pending = new Map<string, Promise<void>>();
  readonly root: string;
  /** Piece-hash lists by content, beside the hash cache, so an upload never waits to compute one. */
  private readonly piecesDir: string;

  constructor(
    root: string,
    private readonly cacheFile: string,
    private readonly log: Logger,
    private readonly onChange: (files: LocalFile[]) => void,
  ) {
    this.root = path.resolve(root);
    this.piecesDir = path.join(path.dirname(cacheFile), 'pieces');
  }

  async start(watch: boolean): Promise<void> {
    await fs.promises.mkdir(this.root, { recursive: true });
    await this.loadCache();
    await this.rescan();
    if (watch) this.startWatching();
  }

  async close(): Promise<void> {
    clearTimeout(this.changeTimer);
    await this.watcher?.close();
    await this.saveCache();
  }

  list(): LocalFile[] {
    return [...this.files.values()].map(publicFile).sort((a, b) => a.name.localeCompare(b.name));
  }

  get size(): number {
    return this.files.size;
  }

  totalBytes(): number {
    let n = 0;
    for (const f of this.files.values()) n += f.size;
    return n;
  }

  getByName(name: string): IndexedFile | undefined {
    return this.files.get(name);
  }

  getByHash(sha256: string): IndexedFile | undefined {
    return this.byHash.get(sha256);
  }

  search(query: KeywordQuery, limit = 100): IndexedFile[] {
    const out: IndexedFile[] = [];
    for (const f of this.files.values()) {
      if (query.matches(f.name, f.type)) {
        out.push(f);
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /** Exact-name match as the seed does it (v1 SEARCH), also accepting the base name of a file in a subfolder. */
  findExact(name: string): IndexedFile | undefined {
    const direct = this.files.get(name);
    if (direct) return direct;
    for (const f of this.files.values()) if (path.posix.basename(f.name) === name) return f;
    return undefined;
  }

  /** Full rescan of the folder (start-up, and after imports when not watching). */
  async rescan(): Promise<void> {
    const seen = new Set<string>();
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries: fs.Dirent[];
      try {
        entries = await fs.promises.readdir(dir, { withFileTypes: true });
      } catch (e) {
        this.log.warn(`cannot read ${dir}: ${(e as Error).message}`);
        return;
      }
      for (const ent of entries) {
        if (seen.size >= MAX_FILES) return;
        const relName = rel ? `${rel}/${ent.name}` : ent.name;
        const abs = path.join(dir, ent.name);
        if (ent.isSymbolicLink()) continue; // never followed
        if (ent.isDirectory()) {
          if (!ent.name.startsWith('.')) await walk(abs, relName);
        } else if (ent.isFile() && mediaTypeOf(ent.name) && !ent.name.startsWith('.')) {
          seen.add(relName);
          await this.indexFile(relName, abs);
        }
      }
    };
    await walk(this.root, '');
    for (const name of [...this.files.keys()]) if (!seen.has(name)) this.remove(name);
    await this.prunePieces();
    await this.saveCache();
    this.scheduleChange();
  }

  /** Index or re-index one file by absolute path (watch events, imports). */
  async update(abs: string): Promise<void> {
    const rel = path.relative(this.root, abs).split(path.sep).join('/');
    try {
      checkRelativeName(rel);
    } catch {
      return;
    }
    if (!mediaTypeOf(rel) || path.posix.basename(rel).startsWith('.')) return;
    const prev = this.pending.get(rel) ?? Promise.resolve();
    const next = prev.then(async () => {
      await this.indexFile(rel, abs);
      this.scheduleChange();
      this.cacheDirty = true;
    });
    this.pending.set(rel, next);
    try {
      await next;
    } finally {
      if (this.pending.get(rel) === next) this.pending.delete(rel);
    }
  }

  private async indexFile(rel: string, abs: string): Promise<void> {
    let st: fs.Stats;
    try {
      st = await fs.promises.lstat(abs);
    } catch {
      this.remove(rel);
      return;
    }
    if (!st.isFile() || !(await isRealPathInside(this.root, abs))) {
      this.remove(rel);
      return;
    }
    const type = mediaTypeOf(rel)!;
    const cached = this.cache.get(rel);
    let sha256: string;
    if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) {
      sha256 = cached.sha256;
    } else {
      try {
        // One read gives the SHA-256 and the piece hashes a transfer will ask for.
        const list = await computePieces(abs);
        sha256 = list.sha256;
        await this.savePieces(list);
      } catch (e) {
        this.log.warn(`cannot hash ${rel}: ${(e as Error).message}`);
        this.remove(rel);
        return;
      }
      this.cache.set(rel, { size: st.size, mtimeMs: st.mtimeMs, sha256 });
      this.cacheDirty = true;
    }
    this.remove(rel, false);
    const entry: IndexedFile = { name: rel, size: st.size, type, sha256, mtimeMs: st.mtimeMs, absPath: abs };
    this.files.set(rel, entry);
    this.byHash.set(sha256, entry);
  }

  /**
   * The piece-hash list of an indexed file: from the cache beside the hash
   * cache, or computed (and cached) if an older index had none.
   */
  async pieces(file: IndexedFile): Promise<PieceList> {
    const cached = await readJson<PieceList>(path.join(this.piecesDir, `${file.sha256}.json`));
    if (
      cached &&
      cached.sha256 === file.sha256 &&
      cached.size === file.size &&
      cached.pieceSize === pieceSizeFor(file.size) &&
      Array.isArray(cached.hashes) &&
      cached.hashes.length === pieceCount(file.size, cached.pieceSize)
    )
      return cached;
    const list = await computePieces(file.absPath);
    if (list.sha256 !== file.sha256) throw new Error('file changed since it was indexed');
    await this.savePieces(list);
    return list;
  }

  private async savePieces(list: PieceList): Promise<void> {
    try {
      await writeFileAtomic(path.join(this.piecesDir, `${list.sha256}.json`), JSON.stringify(list));
    } catch (e) {
      this.log.warn(`cannot save piece hashes: ${(e as Error).message}`);
    }
  }

  /** Drop cached piece lists of content no longer shared, so the cache stays bounded by the index. */
  private async prunePieces(): Promise<void> {
    let names: string[];
    try {
      names = await fs.promises.readdir(this.piecesDir);
    } catch {
      return;
    }
    for (const n of names) {
      const m = /^([0-9a-f]{64})\.json$/.exec(n);
      if (!m || this.byHash.has(m[1]!)) continue;
      await fs.promises.rm(path.join(this.piecesDir, n), { force: true }).catch(() => {});
    }
  }

  private remove(rel: string, notify = true): void {
    const old = this.files.get(rel);
    if (!old) return;
    this.files.delete(rel);
    if (this.byHash.get(old.sha256) === old) {
      this.byHash.delete(old.sha256);
      for (const f of this.files.values()) if (f.sha256 === old.sha256) this.byHash.set(f.sha256, f);
    }
    if (notify) this.scheduleChange();
  }

  private startWatching(): void {
    this.watcher = chokidar.watch(this.root, {
      ignoreInitial: true,
      followSymlinks: false,
      awaitWriteFinish: { stabilityThreshold: 150, pollInterval: 50 },
      ignored: (p: string) => /\.part(\.json)?$/.test(p) || path.basename(p).startsWith('.'),
    });
    const upd = (p: string) => void this.update(p).catch((e: Error) => this.log.warn(`index ${p}: ${e.message}`));
    this.watcher.on('add', upd).on('change', upd);
    this.watcher.on('unlink', (p) => {
      this.remove(path.relative(this.root, p).split(path.sep).join('/'));
    });
    this.watcher.on('unlinkDir', () => void this.rescan());
    this.watcher.on('error', (e) => this.log.warn(`watch: ${(e as Error).message}`));
  }

  private scheduleChange(): void {
    clearTimeout(this.changeTimer);
    this.changeTimer = setTimeout(() => {
      this.onChange(this.list());
      if (this.cacheDirty) void this.saveCache();
    }, 50);
  }

  private async loadCache(): Promise<void> {
    try {
      const raw = JSON.parse(await fs.promises.readFile(this.cacheFile, 'utf8')) as { root?: string; files?: Record<string, CacheEntry> };
      if (raw.root === this.root && raw.files) this.cache = new Map(Object.entries(raw.files));
    } catch {
      /* no cache yet, or unreadable: rehash */
    }
  }

  private async saveCache(): Promise<void> {
    if (!this.cacheDirty) return;
    this.cacheDirty = false;
    const files: Record<string, CacheEntry> = {};
    for (const f of this.files.values()) files[f.name] = { size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256 };
    try {
      await writeFileAtomic(this.cacheFile, JSON.stringify({ root: this.root, files }));
    } catch (e) {
      this.log.warn(`cannot save hash cache: ${(e as Error).message}`);
    }
  }
}

function publicFile(f: IndexedFile): LocalFile {
  return { name: f.name, size: f.size, type: f.type, sha256: f.sha256, mtimeMs: f.mtimeMs };
}
