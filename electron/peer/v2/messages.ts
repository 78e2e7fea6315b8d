/**
 * MacTella v2 messages. Every frame is JSON validated against these schemas;
 * anything else is a V2ProtocolError and never reaches the peer's logic.
 */
import { z } from 'zod';
import { isSafeNetworkName, MEDIA_TYPES } from '../../../shared/types.js';
import { isLiteralPeerHost } from '../address.js';
import { isPeerId } from '../identity/peer-id.js';

export class V2ProtocolError extends Error {
  override name = 'V2ProtocolError';
}

export const PROTOCOL_VERSION = 2;
/** Sent first on every v2 connection, by both sides. A seed peer never answers it. */
export const MAGIC = Buffer.from('MTELLA2\n', 'latin1');

/** True while `buf` may still be (or already begins with) MAGIC: its bytes so far match. */
export function couldBeMagic(buf: Buffer): boolean {
  const n = Math.min(buf.length, MAGIC.length);
  return buf.subarray(0, n).equals(MAGIC.subarray(0, n));
}
export const TTL_CAP = 7;
/** hops + ttl beyond this is a forged or broken message. */
export const HOPS_TTL_LIMIT = 8;

const messageId = z.string().regex(/^[0-9a-f]{32}$/);
/** A peer ID in canonical form, check characters included (see identity/peer-id.ts). */
const peerId = z.string().max(64).refine(isPeerId, 'not a peer ID');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const count = z
  .number()
  .int()
  .min(0)
  .max(2 ** 53);
/** Hosts in hits and pongs are literal addresses, as in v1: never a name to resolve. */
const hostField = z.string().min(1).max(64).refine(isLiteralPeerHost, 'not a literal IP address');
const portField = z.number().int().min(1).max(65535);
const fileName = z.string().min(1).max(1024).refine(isSafeNetworkName, 'control characters or commas in the file name');
const mediaType = z.enum(MEDIA_TYPES);
const ttl = z.number().int().min(0).max(255);
const hops = z.number().int().min(0).max(255);

/** `fw`: the responder is firewalled (neighbours could not dial it back): a download from it needs it to dial out. */
const peerRef = z.object({ host: hostField, port: portField, peerId, fw: z.boolean().optional() }).strict();
const fileRef = z.object({ name: fileName, size: count, type: mediaType, sha256 }).strict();

const hello = z
  .object({
    t: z.literal('hello'),
    v: z.number().int().min(1).max(1000),
    peerId,
    port: z.number().int().min(0).max(65535),
    /** `push`: a firewalled source dialled out to serve a download it was asked to push (reach/push.ts). */
    role: z.enum(['neighbour', 'transfer', 'query', 'push', 'relay']),
    agent: z.string().max(64).optional(),
  })
  .strict();

const v2MessageSchema = z.discriminatedUnion('t', [
  hello,
  z.object({ t: z.literal('ka') }).strict(),
  z.object({ t: z.literal('bye'), reason: z.string().max(256) }).strict(),
  z.object({ t: z.literal('query'), id: messageId, ttl, hops, q: z.string().min(1).max(256), type: mediaType.optional() }).strict(),
  z.object({ t: z.literal('hit'), id: messageId, hops, peer: peerRef, files: z.array(fileRef).min(1).max(64) }).strict(),
  z.object({ t: z.literal('ping'), id: messageId, ttl, hops }).strict(),
  z.object({ t: z.literal('pong'), id: messageId, hops, peer: peerRef, files: count, bytes: count }).strict(),
  z.object({ t: z.literal('list') }).strict(),
  z.object({ t: z.literal('list-result'), files: z.array(fileRef).max(256), more: z.boolean() }).strict(),
  z
    .object({
      t: z.literal('get'),
      sha256: sha256.optional(),
      name: fileName.optional(),
      offset: count,
      length: count.optional(),
      /** Keep the transfer connection open for further requests after this range. */
      more: z.boolean().optional(),
    })
    .strict(),
  z.object({ t: z.literal('get-ok'), name: fileName, size: count, sha256, offset: count, length: count }).strict(),
  z.object({ t: z.literal('queued'), position: count }).strict(),
  z.object({ t: z.literal('pieces'), sha256 }).strict(),
  z
    .object({ t: z.literal('pieces-ok'), sha256, size: count, pieceSize: z.number().int().min(1024), hashes: z.array(sha256).max(4096) })
    .strict(),
  z.object({ t: z.literal('error'), code: z.string().max(32), message: z.string().max(512) }).strict(),
  /** Reachability check (reach/dial-back.ts): dial me back at the address this link comes from, at this port. */
  z.object({ t: z.literal('dial-me'), port: portField }).strict(),
  z.object({ t: z.literal('dialed'), host: hostField, port: portField, ok: z.boolean() }).strict(),
  /** PUSH: routed back along the path the target's hits came; the target dials `to` and serves the download there. */
  z.object({ t: z.literal('push'), id: messageId, ttl, hops, target: peerId, to: peerRef }).strict(),
  /** Relay (reach/relay.ts): a downloader asks a relay for a peer; the relay calls it; it answers; both are joined. */
  z.object({ t: z.literal('relay'), target: peerId }).strict(),
  z.object({ t: z.literal('relay-call'), token: messageId, from: peerId }).strict(),
  z.object({ t: z.literal('relay-answer'), token: messageId }).strict(),
  z.object({ t: z.literal('relay-ok') }).strict(),
]);

export type V2Message = z.infer<typeof v2MessageSchema>;
type V2MessageType = V2Message['t'];
export type V2Of<T extends V2MessageType> = Extract<V2Message, { t: T }>;
export type FileRef = z.infer<typeof fileRef>;

/** Validate a decoded JSON value as a v2 message. */
export function toV2Message(value: unknown): V2Message {
  const r = v2MessageSchema.safeParse(value);
  if (!r.success) {
    const t = typeof value === 'object' && value && 't' in value ? String((value as { t: unknown }).t).slice(0, 32) : '?';
    throw new V2ProtocolError(`invalid ${t} message: ${r.error.issues[0]?.path.join('.')} ${r.error.issues[0]?.message}`);
  }
  return r.data;
}
