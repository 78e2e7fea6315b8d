import type net from 'node:net';
import { parseV1, V1_MAX_MESSAGE, V1ProtocolError, type V1Message } from './codec.js';

/**
 * Collect one v1 message from an inbound connection. The seed sends each
 * message with one sendall() and no terminator, so a message is complete when
 * it parses and no more bytes come for a short quiet period, or when the
 * sender closes (SEARCH, DISCOVER and the results are sent-and-close).
 */
export function readV1Message(
  socket: net.Socket,
  first: Buffer,
  ended: boolean,
  quietMs = 25,
  timeoutMs = 5000,
  incompleteQuietMs = 250,
): Promise<V1Message> {
  return new Promise((resolve, reject) => {
    let buf = first;
    let quiet: NodeJS.Timeout | undefined;
    const overall = setTimeout(() => finish(), timeoutMs);
    const cleanup = () => {
      clearTimeout(quiet);
      clearTimeout(overall);
      socket.off('data', onData);
      socket.off('end', finish);
    };
    function finish(): void {
      cleanup();
      try {
        resolve(parseV1(buf.toString('utf8')));
      } catch (e) {
        reject(e);
      }
    }
    const check = () => {
      if (buf.length > V1_MAX_MESSAGE) {
        cleanup();
        reject(new V1ProtocolError('message too long'));
        return;
      }
      clearTimeout(quiet);
      let complete = true;
      try {
        parseV1(buf.toString('utf8'));
      } catch {
        complete = false;
      }
      // A parseable message is answered after a short quiet period; an unparseable one
      // after a longer one (more bytes may still come), then rejected with its error.
      quiet = setTimeout(finish, complete ? quietMs : incompleteQuietMs);
    };
    const onData = (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      check();
    };
    if (ended) return finish();
    socket.on('data', onData);
    socket.once('end', finish);
    socket.resume();
    check();
  });
}
