/**
 * The Electron preload's bridge (`window.mactella`): the shared contract's
 * `MacTellaApi` plus the few things only a desktop shell can do. Derived from
 * the contract, never restated; the web host exposes the contract alone.
 */
import type { MacTellaApi } from './contract.js';

/** IPC channel names used between preload and main. */
export const DESKTOP_CHANNELS = {
  invoke: 'mactella:invoke',
  event: 'mactella:event',
  ready: 'mactella:ready',
  showInFolder: 'mactella:show-in-folder',
  openFile: 'mactella:open-file',
} as const;

/**
 * `window.mactella` in the Electron renderer. `FileT` is the DOM `File`
 * (left generic so this module type-checks in Node too).
 */
export type DesktopBridge<FileT = unknown> = MacTellaApi & {
  /** Absolute path of a dropped or picked file, via `webUtils.getPathForFile`; '' when it has none. */
  pathForFile(file: FileT): string;
  /** Reveal a finished download in the system file manager. */
  showInFolder(transferId: string): Promise<void>;
  /** Open a finished media download with the system's player (for codecs Chromium cannot play). */
  openFile(transferId: string): Promise<void>;
  /** The renderer has subscribed to its events: main flushes the events it queued. */
  ready(): void;
};

/** Scheme of the custom protocol that serves indexed shared files for previews. */
export const MEDIA_SCHEME = 'mactella-media';
/** Scheme of the custom protocol that serves the built renderer in the packaged app. */
export const APP_SCHEME = 'mactella-app';
