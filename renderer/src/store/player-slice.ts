import type { OperationArgs } from '../../../shared/contract.js';
import type { LocalFile, MediaType, StreamInfo } from '../../../shared/types.js';
import { humanError } from '../lib/errors.js';
import type { SliceFactory } from './types.js';

/** A half-open byte interval `[start, end)` of the playing file. */
export interface ByteSpan {
  start: number;
  end: number;
}

/** What the player panel shows. */
interface PlayerItem {
  name: string;
  type: MediaType;
  /** Where the media element reads from (a Range-capable URL). */
  url: string;
  size: number;
  /** The open stream it reads, closed with the panel; absent for a shared file. */
  streamId?: string;
  /** The download it plays from while the file arrives. */
  transferId?: string;
}

export interface PlayerSlice {
  /** The item in the player panel, or null when the panel is closed. */
  player: PlayerItem | null;
  /** Bytes of the playing item that passed their hash check (drawn on the seek bar). */
  playerVerified: ByteSpan[];
  /** Every byte of the playing item is here and verified. */
  playerComplete: boolean;
  openPlayer(item: PlayerItem, verified?: ByteSpan[]): void;
  closePlayer(): void;
  setPlayerVerified(verified: ByteSpan[]): void;
  /** Play a shared file of our own. */
  playFile(file: LocalFile): void;
  /** Play a search hit (starting its download) or a download (`transferId`), while it arrives. */
  play(request: OperationArgs<'stream:open'>): Promise<void>;
  applyStream(info: StreamInfo): void;
  /** Hand a finished download to the system's player (the desktop app only). */
  openInSystemPlayer?: (transferId: string) => Promise<void>;
}

const spans = (verified: [number, number][]): ByteSpan[] => verified.map(([start, end]) => ({ start, end }));
const whole = (size: number): ByteSpan[] => [{ start: 0, end: size }];

/** The one player panel's state: which item plays, and how much of it is verified. */
export const createPlayerSlice: SliceFactory<PlayerSlice> = (host) => (set, get) => {
  const closeStream = (item: PlayerItem | null) => {
    if (item?.streamId) void host.api.invoke('stream:close', { id: item.streamId }).catch(() => {});
  };
  return {
    player: null,
    playerVerified: [],
    playerComplete: false,
    openPlayer: (item, verified) => {
      const previous = get().player;
      if (previous?.streamId !== item.streamId) closeStream(previous);
      const v = verified ?? (item.streamId ? [] : whole(item.size));
      const complete = v.length === 1 && v[0]!.start === 0 && v[0]!.end >= item.size;
      set({ player: item, playerVerified: v, playerComplete: complete });
    },
    closePlayer: () => {
      closeStream(get().player);
      set({ player: null, playerVerified: [], playerComplete: false });
    },
    setPlayerVerified: (playerVerified) => set({ playerVerified }),
    playFile: (file) => get().openPlayer({ name: file.name, type: file.type, url: host.mediaUrl(file.name), size: file.size }),
    async play(request) {
      try {
        const info = await host.api.invoke('stream:open', request);
        get().openPlayer(
          {
            name: info.name,
            type: info.type,
            url: host.streamUrl(info.id),
            size: info.size,
            streamId: info.id,
            transferId: info.transferId,
          },
          spans(info.verified),
        );
        if (info.transferId) void get().refreshTransfers();
      } catch (err) {
        const name = 'transferId' in request ? (get().transfers[request.transferId]?.name ?? 'this file') : request.name;
        get().notify('error', humanError(err, `play ${name}`));
      }
    },
    openInSystemPlayer: host.openFile
      ? async (id) => {
          try {
            await host.openFile!(id);
          } catch (err) {
            get().notify('error', humanError(err, 'open it with the system player'));
          }
        }
      : undefined,
    applyStream: (info) => {
      if (get().player?.streamId !== info.id) return;
      set({ playerVerified: info.complete ? whole(info.size) : spans(info.verified), playerComplete: info.complete });
    },
  };
};
