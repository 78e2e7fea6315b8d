import type { MediaType } from '../../../shared/types.js';
import type { SliceFactory } from './types.js';

/** A half-open byte interval `[start, end)` of the playing file. */
export interface ByteSpan {
  start: number;
  end: number;
}

/** What the player panel shows. */
export interface PlayerItem {
  name: string;
  type: MediaType;
  /** Where the media element reads from (a Range-capable stream URL). */
  url: string;
  size: number;
  /** The download it plays from while the file arrives; absent for a file that is complete. */
  transferId?: string;
}

export interface PlayerSlice {
  /** The item in the player panel, or null when the panel is closed. */
  player: PlayerItem | null;
  /** Bytes of the playing item that passed their hash check (drawn on the seek bar). */
  playerVerified: ByteSpan[];
  openPlayer(item: PlayerItem, verified?: ByteSpan[]): void;
  closePlayer(): void;
  setPlayerVerified(verified: ByteSpan[]): void;
}

/** The one player panel's state: which item plays, and how much of it is verified. */
export const createPlayerSlice: SliceFactory<PlayerSlice> = () => (set) => ({
  player: null,
  playerVerified: [],
  openPlayer: (item, verified) =>
    set({ player: item, playerVerified: verified ?? (item.transferId ? [] : [{ start: 0, end: item.size }]) }),
  closePlayer: () => set({ player: null, playerVerified: [] }),
  setPlayerVerified: (playerVerified) => set({ playerVerified }),
});
