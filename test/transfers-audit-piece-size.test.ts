import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PIECE_SIZE, TRANSFER_MAX_FRAME } from '../electron/peer/transfers/pieces.js';
import { SocketReader } from '../electron/peer/transfers/socket-reader.js';
import { fetchPieceHashes } from '../electron/peer/transfers/v2-source.js';
import { encodeFrame, FrameDecoder } from '../electron/peer/v2/frame.js';
import type { V2Message } from '../electron/peer/v2/messages.js';

const sockets: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A source on loopback that answers a `pieces` request with `answer`. */
async function sourceAnswering(answer: V2Message) {
  const server = net.createServer((s) => {
    sockets.push(s);
    s.once('data', () => s.write(encodeFrame(answer)));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const socket = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
  sockets.push(socket);
  await new Promise((r) => socket.once('connect', r));
  const decoder = new FrameDecoder(TRANSFER_MAX_FRAME);
  return { source: { host: '127.0.0.1', port: 1 }, socket, decoder, reader: new SocketReader(socket) };
}

const sha = 'a'.repeat(64);

describe('suspected: the piece size a source announces has a maximum', () => {
  it('refuses a piece list with pieces larger than MAX_PIECE_SIZE (an endgame copy is held in memory)', async () => {
    const size = 4 * 2 ** 30;
    const c = await sourceAnswering({ t: 'pieces-ok', sha256: sha, size, pieceSize: size, hashes: ['b'.repeat(64)] });
    await expect(fetchPieceHashes(c, { name: 'x', size, sha256: sha })).rejects.toThrow(/piece size/);
  });

  it('accepts a piece list within the limit', async () => {
    const size = 2 * MAX_PIECE_SIZE;
    const c = await sourceAnswering({
      t: 'pieces-ok',
      sha256: sha,
      size,
      pieceSize: MAX_PIECE_SIZE,
      hashes: ['b'.repeat(64), 'c'.repeat(64)],
    });
    await expect(fetchPieceHashes(c, { name: 'x', size, sha256: sha })).resolves.toEqual({
      pieceSize: MAX_PIECE_SIZE,
      hashes: ['b'.repeat(64), 'c'.repeat(64)],
    });
  });
});
