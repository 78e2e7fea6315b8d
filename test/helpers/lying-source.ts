import fs from 'node:fs';
import type net from 'node:net';
import { computePieces } from '../../electron/peer/transfers/pieces.js';
import { SocketReader } from '../../electron/peer/transfers/socket-reader.js';
import { encodeFrame, FrameDecoder } from '../../electron/peer/v2/frame.js';
import { MAGIC } from '../../electron/peer/v2/messages.js';
import { serveV2ByHand, testIdentity } from './v2-wire.js';

/** A v2 source that speaks the real protocol but corrupts every piece it sends; close `server` when done. */
export interface LyingSource {
  port: number;
  /** Pieces it sent corrupted, in order. */
  lies: number[];
  server: net.Server;
}

/** Serve `file` as `name`, flipping one byte in every piece it sends, or (`'first-piece'`) only in the first one ever. */
export async function lyingSource(file: string, name: string, lie: 'every-piece' | 'first-piece' = 'every-piece'): Promise<LyingSource> {
  const list = await computePieces(file);
  const data = await fs.promises.readFile(file);
  const lies: number[] = [];
  // v2 runs inside TLS: the liar has an identity of its own (it proves it; it lies only about the bytes).
  const identity = await testIdentity('lying-source');
  const { server, port } = await serveV2ByHand(identity, (socket, rest) => {
    socket.on('error', () => {});
    void (async () => {
      const decoder = new FrameDecoder(1 << 20);
      const reader = new SocketReader(socket, rest);
      if ((await reader.frame(decoder))?.t !== 'hello') return socket.destroy();
      socket.write(Buffer.concat([MAGIC, encodeFrame({ t: 'hello', v: 2, peerId: identity.id, port: 0, role: 'transfer' })]));
      for (let m = await reader.frame(decoder).catch(() => undefined); m; m = await reader.frame(decoder).catch(() => undefined)) {
        if (m.t === 'pieces') {
          socket.write(
            encodeFrame({ t: 'pieces-ok', sha256: list.sha256, size: list.size, pieceSize: list.pieceSize, hashes: list.hashes }),
          );
        } else if (m.t === 'get') {
          const length = m.length ?? list.size - m.offset;
          socket.write(encodeFrame({ t: 'get-ok', name, size: list.size, sha256: list.sha256, offset: m.offset, length }));
          const body = Buffer.from(data.subarray(m.offset, m.offset + length));
          for (let at = 0; at < body.length && (lie === 'every-piece' || lies.length === 0); at += list.pieceSize) {
            body[at] = body[at]! ^ 0xff;
            lies.push(Math.floor((m.offset + at) / list.pieceSize));
          }
          socket.write(body);
        }
      }
    })();
  });
  return { port, lies, server };
}
