import type net from 'node:net';
import type { PeerAddress, TransferRoute } from '../../../shared/types.js';
import type { FrameDecoder } from '../v2/frame.js';
import type { SocketReader } from './socket-reader.js';

/** An open, handshaken v2 transfer connection. */
export interface SourceConn {
  source: PeerAddress;
  socket: net.Socket;
  decoder: FrameDecoder;
  reader: SocketReader;
  /** How the link reached the source: dialled, pushed, or relayed. */
  route?: TransferRoute;
}

/** The source broke the protocol or went away: drop it from this download, keep going with others. */
export class SourceError extends Error {}
/** The source sent data that failed a piece hash. */
export class BadDataError extends SourceError {}
/** Writing the `.part` failed (disk full...): the whole download stops. */
export class DiskError extends Error {}
/** Why a download attempt ended without the file. */
export class TransferError extends Error {}

/** The error that stops a download when writing its `.part` failed. */
export function diskError(e: NodeJS.ErrnoException | Error): DiskError {
  return new DiskError(
    (e as NodeJS.ErrnoException).code === 'ENOSPC'
      ? 'disk full: partial data kept, resume when there is space'
      : `cannot write the .part file: ${e.message}`,
  );
}
