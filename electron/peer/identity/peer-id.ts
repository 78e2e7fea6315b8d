import crypto from 'node:crypto';
import type { PeerAddress } from '../../../shared/types.js';
import { formatAddress, parseHostPort } from '../address.js';

/**
 * Peer IDs, as Syncthing makes its device IDs: the SHA-256 of the peer's
 * public key (its DER SubjectPublicKeyInfo, so a renewed certificate for the
 * same key keeps the ID), in base32, cut into four groups of 13 characters,
 * each followed by a Luhn mod 32 check character, shown in eight groups of
 * seven joined by dashes:
 *
 *     MFZWI3D-BONSGYC-YLTMRWG-C43ENR5-QXGZDMM-FZWI3DP-ONSGYCY-LTMRWGC
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BODY_CHARS = 52; // 256 bits in 5-bit characters, no padding
const GROUP = 13;
const ID_CHARS = BODY_CHARS + BODY_CHARS / GROUP; // 56

/** An example of the shape, for error messages. */
const SHAPE = 'eight groups of seven letters A-Z and digits 2-7, joined by dashes';

/** RFC 4648 base32, upper case, without padding. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The check character of a group: Syncthing's "Luhn mod 32" (the factor
 * alternates 1, 2 from the left), so IDs are checked the same way there.
 */
function luhn32(group: string): string {
  let factor = 1;
  let sum = 0;
  for (const ch of group) {
    const addend = factor * ALPHABET.indexOf(ch);
    factor = factor === 2 ? 1 : 2;
    sum += Math.floor(addend / 32) + (addend % 32);
  }
  return ALPHABET[(32 - (sum % 32)) % 32]!;
}

function withDashes(chars: string): string {
  return chars.match(/.{7}/g)!.join('-');
}

/** The peer ID of a public key given as DER SubjectPublicKeyInfo. */
export function peerIdFromSpki(spkiDer: Uint8Array): string {
  const body = base32(crypto.createHash('sha256').update(spkiDer).digest());
  let chars = '';
  for (let i = 0; i < BODY_CHARS; i += GROUP) {
    const group = body.slice(i, i + GROUP);
    chars += group + luhn32(group);
  }
  return withDashes(chars);
}

/** The peer ID of a public (or private) key. */
export function peerIdFromKey(key: crypto.KeyObject): string {
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  return peerIdFromSpki(pub.export({ type: 'spki', format: 'der' }));
}

/** The peer ID of the key a certificate names. */
export function peerIdFromCertificate(cert: crypto.X509Certificate): string {
  return peerIdFromKey(cert.publicKey);
}

/**
 * A peer ID typed by a person or read from a message, in its canonical form
 * (upper case, dashes every seven characters). Case, spaces and missing
 * dashes are forgiven; a wrong character or a typo is not: throws a message
 * a user can act on.
 */
export function parsePeerId(text: string): string {
  const chars = text.toUpperCase().replace(/[\s-]/g, '');
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  if (chars.length !== ID_CHARS || !/^[A-Z2-7]+$/.test(chars)) {
    throw new Error(`bad peer ID "${shown}": expected ${SHAPE}`);
  }
  for (let g = 0; g < ID_CHARS; g += GROUP + 1) {
    if (luhn32(chars.slice(g, g + GROUP)) !== chars[g + GROUP]) {
      throw new Error(`bad peer ID "${shown}": a check character does not match (a typo?)`);
    }
  }
  return withDashes(chars);
}

/** Whether `text` is a peer ID in canonical form. */
export function isPeerId(text: string): boolean {
  try {
    return parsePeerId(text) === text;
  } catch {
    return false;
  }
}

/** An address to dial, with the peer ID it must prove, if the user gave one. */
export interface PeerSpec extends PeerAddress {
  id?: string;
}

/**
 * Parse `ID@HOST:PORT` (the ID is pinned from the start) or plain `HOST:PORT`
 * (pinned on first contact). Throws a message a user can act on.
 */
export function parsePeerSpec(text: string): PeerSpec {
  const s = text.trim();
  const at = s.indexOf('@');
  if (at < 0) return parseHostPort(s);
  return { id: parsePeerId(s.slice(0, at)), ...parseHostPort(s.slice(at + 1)) };
}

/** `ID@HOST:PORT`, or `HOST:PORT` without an ID. */
export function formatPeerSpec(spec: PeerSpec): string {
  const addr = formatAddress(spec);
  return spec.id ? `${spec.id}@${addr}` : addr;
}
