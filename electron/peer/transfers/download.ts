import crypto from 'node:crypto';
import type { PeerAddress, TransferInfo } from '../../../shared/types.js';
import { TokenBucket } from '../token-bucket.js';
import type { SpaceWatch } from './free-space.js';
import type { PickStrategy } from './piece-picker.js';
import { pieceLength, type Bitfield } from './pieces.js';
import { SpeedMeter } from './progress.js';

/** What `TransferManager.download` is asked for. */
export interface DownloadRequest {
  name: string;
  sha256?: string;
  size?: number;
  sources: PeerAddress[];
}

/** The whole-file hash of a download, kept on the way in. */
interface WholeHash {
  /** The SHA-256 of the whole `.part`. */
  digest(): Promise<string>;
  /** With a piece list: every piece checked on its own, the bad ones' indexes. */
  badPieces?(): Promise<number[]>;
  close(): void | Promise<void>;
}

/** One download's state in memory. */
export interface Download {
  info: TransferInfo;
  abort?: AbortController;
  partPath?: string;
  finalPath?: string;
  run?: Promise<void>;
  meter: SpeedMeter;
  pieces?: { pieceSize: number; hashes: string[]; have: Bitfield };
  /** Per-transfer limit. */
  limit: TokenBucket;
  /** A state write in flight, one waiting to start, and when the last one started. */
  saving?: Promise<void>;
  saveTimer?: NodeJS.Timeout;
  savedAt?: number;
  /** The whole-file hash kept on the way in, so the end reads back only what it has not seen. */
  whole?: WholeHash;
  /** Which source sent each piece this run (by address), to name the one that sent a bad piece. */
  pieceFrom: Map<number, string>;
  /** Sources that sent bad data: out of this download. */
  dropped: Set<string>;
  /** The size the search hit announced: a source claiming another is refused. */
  expectedSize?: number;
  /** Free space watched during a run (see SpaceWatch). */
  space?: SpaceWatch;
  /** Set while someone plays it (see StreamService): how its pieces are picked, and who hears of each stored piece. */
  stream?: { strategy: PickStrategy; stored(index: number): void };
}

export function newTransferInfo(
  direction: TransferInfo['direction'],
  name: string,
  sha256: string | undefined,
  state: TransferInfo['state'],
  total: number,
  sources: PeerAddress[] = [],
): TransferInfo {
  return { id: crypto.randomUUID(), direction, name, sha256, state, bytes: 0, total, speed: 0, eta: null, sources };
}

export function newDownload(info: TransferInfo): Download {
  return { info, meter: new SpeedMeter(), limit: new TokenBucket(), pieceFrom: new Map(), dropped: new Set() };
}

/** Bytes of the pieces a download has done. */
export function doneBytes(d: Download): number {
  if (!d.pieces) return 0;
  let n = 0;
  for (let i = 0; i < d.pieces.hashes.length; i++) if (d.pieces.have.has(i)) n += pieceLength(i, d.info.total, d.pieces.pieceSize);
  return n;
}

/** Same host and port. */
export function sameAddress(a: PeerAddress, b: PeerAddress): boolean {
  return a.host === b.host && a.port === b.port;
}

/** Add the sources a download does not have yet. */
export function addSources(d: Download, sources: readonly PeerAddress[]): void {
  for (const s of sources) if (!d.info.sources.some((x) => sameAddress(x, s))) d.info.sources.push(s);
}

/**
 * The name a download is saved under: the remote name, except that it never
 * ends in `.part` or `.part.json` (names this folder uses for partial data).
 */
export function localName(name: string): string {
  return name.replace(/\.part(\.json)?$/i, (m) => m.replace(/^\.part/i, '_part'));
}
