import { toV2Message, V2ProtocolError, type V2Message } from './messages.js';

/** Default hard limit on one frame's payload. */
export const MAX_FRAME = 64 * 1024;

/** A frame: 4-byte big-endian payload length, then the payload (UTF-8 JSON). */
export function encodeFrame(msg: V2Message): Buffer {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  if (body.length > MAX_FRAME * 4) throw new V2ProtocolError('frame too large to send');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Incremental frame decoder. Feed it any split of the byte stream; it yields
 * the same messages. Throws only V2ProtocolError. After a frame that switches
 * the connection to raw data (`get-ok`), `takeRest()` hands over what is left.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly maxFrame = MAX_FRAME) {}

  push(chunk: Buffer): V2Message[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: V2Message[] = [];
    for (;;) {
      const m = this.next();
      if (!m) break;
      out.push(m);
    }
    return out;
  }

  /** Decode at most one message (for callers that may switch to raw mode after it). */
  next(): V2Message | undefined {
    if (this.buf.length < 4) return undefined;
    const len = this.buf.readUInt32BE(0);
    if (len > this.maxFrame) throw new V2ProtocolError(`frame of ${len} bytes exceeds the ${this.maxFrame} byte limit`);
    if (this.buf.length < 4 + len) return undefined;
    const body = this.buf.subarray(4, 4 + len);
    this.buf = this.buf.subarray(4 + len);
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw new V2ProtocolError('frame is not valid JSON');
    }
    return toV2Message(value);
  }

  /** Feed bytes without decoding (used before switching to raw mode). */
  append(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  takeRest(): Buffer {
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  get buffered(): number {
    return this.buf.length;
  }
}
