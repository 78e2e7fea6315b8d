import type net from 'node:net';
import type { RemoteFile } from '../../../shared/types.js';
import { readUntil } from '../net/read-until.js';
import { connectTcp } from '../v2/connection.js';
import { parseV1Listing, V1ProtocolError } from './codec.js';

const MAX_LISTING = 8 * 1024 * 1024;

/** Read a socket to its end (bounded). The socket is destroyed on a timeout or a reply over `limit`. */
export async function readAll(socket: net.Socket, limit: number, timeoutMs: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  const take = (c: Buffer): undefined => {
    n += c.length;
    if (n > limit) throw new V1ProtocolError('reply too large');
    parts.push(c);
  };
  const closed = (error?: Error): Buffer => {
    if (error) throw error;
    return Buffer.concat(parts);
  };
  try {
    return await readUntil(socket, take, timeoutMs, 'the reply', { closed });
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** LISTR toward a v1 peer: send "LISTR", read until the peer closes. */
export async function listV1(host: string, port: number, timeoutMs = 5000): Promise<RemoteFile[]> {
  const socket = await connectTcp(host, port, timeoutMs);
  socket.write('LISTR');
  const data = await readAll(socket, MAX_LISTING, timeoutMs);
  return parseV1Listing(data.toString('utf8'));
}

/**
 * Splits the v1 GET reply into the size header and file data. The seed sends
 * the decimal size and then the bytes with no delimiter, so both can arrive in
 * one read. A non-digit after the digits ends the size. When the data itself
 * starts with digits, `expectedSize` (from a LISTR of that peer, or a search
 * hit) decides where the size ends.
 */
export class V1GetHeaderParser {
  private head = Buffer.alloc(0);
  size?: number;
  error?: string;

  constructor(private readonly expectedSize?: number) {}

  /** Feed chunks until `size` or `error` is set. Returns the file data that followed the header. */
  push(chunk: Buffer): Buffer | undefined {
    this.head = Buffer.concat([this.head, chunk]);
    const text = this.head.toString('latin1');
    if (text.startsWith('ERROR:')) {
      this.error = text.trim().slice(0, 300);
      return undefined;
    }
    if ('ERROR:'.startsWith(text)) return undefined;
    const digits = /^\d*/.exec(text)![0];
    if (digits.length === 0) {
      this.error = `unexpected reply "${text.slice(0, 40)}"`;
      return undefined;
    }
    const expected = this.expectedSize === undefined ? undefined : String(this.expectedSize);
    if (expected !== undefined && digits.startsWith(expected)) {
      this.size = this.expectedSize;
      return this.head.subarray(expected.length);
    }
    if (digits.length > 20) {
      this.error = 'size header is ambiguous (data starts with digits and the size is unknown)';
      return undefined;
    }
    // Digits then a non-digit, or digits alone (the size in its own segment, as the seed sends it).
    this.size = Number(digits);
    return this.head.subarray(digits.length);
  }
}
