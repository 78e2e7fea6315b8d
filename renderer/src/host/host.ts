import type { MacTellaApi } from '../../../shared/contract.js';
import type { ImportProgress } from '../../../shared/types.js';

export type ConnectionState = 'connecting' | 'open' | 'closed';

/**
 * What the store needs from wherever the peer lives: the contract API plus the
 * few things that differ between the Electron shell and the web host. The
 * store is the only user; components never see which host they run on.
 */
export interface Host {
  readonly api: MacTellaApi;
  /** A URL an `<img>`, `<audio>` or `<video>` can load a shared file from. */
  mediaUrl(name: string): string;
  /** A URL the player reads an open stream from (`stream:open`), with Range and only verified bytes. */
  streamUrl(streamId: string): string;
  /** Share files the user dropped or picked. Returns the names they got in the shared folder. */
  importFiles(files: readonly File[], onProgress: (p: ImportProgress) => void): Promise<string[]>;
  /** Reveal a finished download in the file manager; absent where there is none (the browser). */
  readonly showInFolder?: (transferId: string) => Promise<void>;
  /** Open a finished download with the system's player; absent where there is none (the browser). */
  readonly openFile?: (transferId: string) => Promise<void>;
  /** The store has subscribed to every event. */
  ready(): void;
  /** Connection to the peer: always open in Electron, a WebSocket in the browser. */
  onConnectionChange(listener: (state: ConnectionState) => void): () => void;
}
