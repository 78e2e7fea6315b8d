import path from 'node:path';
import { parseOperationArgs } from '../../shared/contract.js';
import type { OperationHandlers } from '../peer/operations.js';

/** The folders that decide what the peer exposes and where it writes. */
const FOLDERS = { sharedDir: '--share', downloadDir: '--downloads' } as const;

/**
 * The operations for `mactella serve`'s browser, with the shared and download
 * folders fixed to what the command line set, unless the user started serve
 * with `--allow-folder-changes`. Without that flag a token holder could
 * otherwise share any folder, or download into an autostart folder.
 * `library:import` (copy files by local path) is refused for the same reason;
 * the browser shares files by uploading them instead.
 */
export function lockFolders(ops: OperationHandlers, opts: { allowFolderChanges: boolean }): OperationHandlers {
  if (opts.allowFolderChanges) return ops;
  const hint = 'restart `mactella serve` with --allow-folder-changes to allow it from the browser';
  return {
    ...ops,
    'settings:set': async (args) => {
      const patch = parseOperationArgs('settings:set', args);
      const current = await ops['settings:get']({});
      for (const [key, flag] of Object.entries(FOLDERS) as [keyof typeof FOLDERS, string][]) {
        const wanted = patch[key];
        // The settings form sends every field; the same folder again is no change.
        if (wanted !== undefined && path.resolve(wanted) !== path.resolve(current[key]))
          throw new Error(`The ${key === 'sharedDir' ? 'shared' : 'download'} folder is set on the command line (${flag}); ${hint}.`);
      }
      return ops['settings:set'](patch);
    },
    'library:import': async () => {
      throw new Error(`Sharing files by their path on this computer is off (drop them on the page to upload them); ${hint}.`);
    },
  };
}
