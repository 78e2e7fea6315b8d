import type { ImportProgress, LocalFile } from '../../../shared/types.js';
import { humanError } from '../lib/errors.js';
import type { SliceFactory } from './types.js';

export interface LibrarySlice {
  files: LocalFile[];
  libraryLoaded: boolean;
  /** Files being copied or uploaded into the shared folder, by name. */
  imports: ImportProgress[];
  refreshLibrary(): Promise<void>;
  /** Share files the user dropped or picked. */
  importFiles(files: readonly File[]): Promise<void>;
  applyLibrary(files: LocalFile[]): void;
  applyImportProgress(p: ImportProgress): void;
  clearFinishedImports(): void;
  /** A URL that previews a shared file (thumbnail, player). */
  mediaUrl(name: string): string;
}

const byName = (a: LocalFile, b: LocalFile) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base', numeric: true });

export const createLibrarySlice: SliceFactory<LibrarySlice> = (host) => (set, get) => ({
  files: [],
  libraryLoaded: false,
  imports: [],
  async refreshLibrary() {
    try {
      get().applyLibrary(await host.api.invoke('library:list', {}));
    } catch (err) {
      get().notify('error', humanError(err, 'load your library'));
    }
  },
  async importFiles(files) {
    if (files.length === 0) return;
    try {
      const names = await host.importFiles(files, (p) => get().applyImportProgress(p));
      get().notify('info', names.length === 1 ? `Shared ${names[0]}.` : `Shared ${names.length} files.`);
      // The watcher will report the change too; asking now makes the new files show at once.
      await get().refreshLibrary();
    } catch (err) {
      get().notify('error', humanError(err, 'share these files'));
    }
  },
  applyLibrary: (files) => set({ files: [...files].sort(byName), libraryLoaded: true }),
  applyImportProgress: (p) =>
    set((s) => {
      const i = s.imports.findIndex((x) => x.name === p.name);
      const imports = [...s.imports];
      if (i >= 0) imports[i] = p;
      else imports.push(p);
      return { imports: imports.slice(-50) };
    }),
  clearFinishedImports: () => set((s) => ({ imports: s.imports.filter((p) => !p.done) })),
  mediaUrl: (name) => host.mediaUrl(name),
});
